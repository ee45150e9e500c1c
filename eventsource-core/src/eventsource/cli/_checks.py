"""Range checks for numeric options (Typer callbacks): a value out of range is a usage error
naming the option."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import typer

__all__ = ["at_least", "more_than"]

N = TypeVar("N", int, float, int | None, float | None)


def at_least(minimum: float) -> Callable[[N], N]:
    """A callback refusing values below ``minimum``."""

    def check(value: N) -> N:
        if value is not None and value < minimum:
            raise typer.BadParameter(f"must be >= {minimum:g}, not {value:g}")
        return value

    return check


def more_than(minimum: float) -> Callable[[N], N]:
    """A callback refusing values at or below ``minimum``."""

    def check(value: N) -> N:
        if value is not None and not value > minimum:
            raise typer.BadParameter(f"must be > {minimum:g}, not {value:g}")
        return value

    return check
