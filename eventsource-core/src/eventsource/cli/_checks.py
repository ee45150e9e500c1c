"""Range checks for numeric options (Typer callbacks): a value out of range is a usage error
naming the option."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import typer

__all__ = ["CLEANUP_DAYS", "INT64_MAX", "RETENTION_DAYS", "at_least", "at_most_days", "more_than"]

#: The largest integer a store takes (positions, limits, ids are signed 64-bit).
INT64_MAX = 2**63 - 1
#: The longest cleanup age, in days (``eventsource.arguments.MAX_DURATION``; not imported,
#: to keep ``--help`` fast).
CLEANUP_DAYS = 365_250
#: The longest retention age, in days (``eventsource.stores._lifecycle.MAX_RETENTION_AGE``).
RETENTION_DAYS = 36_500_000

N = TypeVar("N", int, float, int | None, float | None)


def at_least(minimum: float) -> Callable[[N], N]:
    """A callback refusing values below ``minimum`` (and integers above ``INT64_MAX``)."""

    def check(value: N) -> N:
        if value is not None and value < minimum:
            raise typer.BadParameter(f"must be >= {minimum:g}, not {value:g}")
        if isinstance(value, int) and value > INT64_MAX:
            raise typer.BadParameter(f"must be <= {INT64_MAX} (2**63 - 1), not {value}")
        return value

    return check


def more_than(minimum: float) -> Callable[[N], N]:
    """A callback refusing values at or below ``minimum``."""

    def check(value: N) -> N:
        if value is not None and not value > minimum:
            raise typer.BadParameter(f"must be > {minimum:g}, not {value:g}")
        return value

    return check


def at_most_days(check: Callable[[N], N], limit: int) -> Callable[[N], N]:
    """``check``, then refusing more than ``limit`` days (or NaN), before any ``timedelta``."""

    def bounded(value: N) -> N:
        value = check(value)
        if value is not None and not value <= limit:
            raise typer.BadParameter(f"must be <= {limit} days, not {value:g}")
        return value

    return bounded
