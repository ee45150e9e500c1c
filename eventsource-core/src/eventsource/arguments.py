"""The argument rules: what every backend accepts at its door, checked in core.

Read and repository arguments meet one set of rules, checked before any I/O, so a hostile
argument gets the same typed error from every backend, with nothing changed, instead of
whatever its driver happens to raise (``OverflowError``, ``UnicodeEncodeError``, a
``StorageError``) or, worse, a different answer per backend:

- **Positions and ids** (``from_position``, ``from_version``, ``after_position``, checkpoint
  positions, DLQ ids) are ints, never bools, from 0 (ids and checkpoint positions: 1) to
  :data:`~eventsource.values.MAX_POSITION` (2**63 - 1, the int64 SQLite and PostgreSQL
  store). A position beyond the end of the log or of a stream is valid: reading forward
  from it yields nothing, reading backward yields everything.
- **Durations** (leases, retry delays, cleanup ages) are ``timedelta`` values from zero to
  :data:`MAX_DURATION`, so that now plus or minus one is a time every backend can store.
- **Moments** (``from_timestamp``, ``to_timestamp``) are timezone-aware ``datetime`` values
  that exist in UTC; a naive one is refused, as no backend can know which zone it meant.
- **Names** used in a query (aggregate and event types, projection names, outbox worker ids)
  follow the identifier rules of :mod:`eventsource.values` (non-empty, at most 255
  characters, no NUL, no lone surrogate): what can never be stored is never asked for.
- **Lists of names** (``event_types``) are iterables of names, never a single ``str`` (which
  would be read as its characters).
- **Ids** of events, aggregates, tenants and outbox entries are ``UUID`` objects, not strings.

Each check returns the value (normalised where noted) or raises ``error``, an
:class:`InvalidArgumentError` (or a subclass) naming the argument. Every door raises
:class:`InvalidArgumentError` itself; only ``append_events`` raises its subclass
:class:`~eventsource.InvalidEventError`, for the events and the stream they go to.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from uuid import UUID

from ._exceptions import InvalidArgumentError
from .values import MAX_POSITION, check_identifier

__all__ = [
    "MAX_DURATION",
    "MAX_POSITION",
    "check_duration",
    "check_moment",
    "check_names",
    "check_position",
    "check_timeout",
    "check_uuid",
]

#: The longest duration (lease, retry delay, cleanup age): 1000 years of 365.25 days.
MAX_DURATION = timedelta(days=365_250)

_Error = type[InvalidArgumentError]


def check_position(
    value: object, what: str, error: _Error = InvalidArgumentError, *, minimum: int = 0
) -> int:
    """``value`` if it is an int (not a bool) from ``minimum`` to :data:`MAX_POSITION`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise error(f"{what} must be an int, got {type(value).__name__} {value!r:.80}")
    if not minimum <= value <= MAX_POSITION:
        raise error(f"{what} must be from {minimum} to {MAX_POSITION} (2**63 - 1), got {value}")
    return value


def check_uuid(value: object, what: str, error: _Error = InvalidArgumentError) -> UUID:
    """``value`` if it is a :class:`~uuid.UUID` (its string is refused: backends that compare
    ids as text and those that compare UUIDs would answer differently)."""
    if not isinstance(value, UUID):
        raise error(f"{what} must be a UUID, got {type(value).__name__} {value!r:.80}")
    return value


def check_moment(value: object, what: str, error: _Error = InvalidArgumentError) -> datetime:
    """``value`` if it is a timezone-aware ``datetime`` that exists in UTC."""
    if not isinstance(value, datetime):
        raise error(f"{what} must be a datetime, got {type(value).__name__} {value!r:.80}")
    if value.utcoffset() is None:
        raise error(
            f"{what} must be timezone-aware (e.g. datetime.now(UTC)), got the naive {value!r}"
        )
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise error(f"{what} {value!r} is outside the datetime range in UTC") from None
    return value


def check_duration(value: object, what: str, error: _Error = InvalidArgumentError) -> timedelta:
    """``value`` if it is a ``timedelta`` from zero to :data:`MAX_DURATION`."""
    if not isinstance(value, timedelta):
        raise error(f"{what} must be a timedelta, got {type(value).__name__} {value!r:.80}")
    if not timedelta(0) <= value <= MAX_DURATION:
        raise error(f"{what} must be from 0 to {MAX_DURATION.days} days, got {value}")
    return value


def check_names(value: object, what: str, error: _Error = InvalidArgumentError) -> tuple[str, ...]:
    """``value`` (a list, tuple, set or other iterable of identifiers, not a ``str``) as a
    tuple; each name must be a valid identifier (:func:`~eventsource.values.check_identifier`).
    """
    if isinstance(value, str | bytes | bytearray) or not isinstance(value, Iterable):
        raise error(
            f"{what} must be a list or tuple of names, got {type(value).__name__} {value!r:.80}"
        )
    names = tuple(value)
    for name in names:
        check_identifier(name, f"a name in {what}", error)
    return names


def check_timeout(value: object, what: str, error: _Error = InvalidArgumentError) -> float:
    """``value`` if it is a number of seconds (an int or float, not a bool, not NaN); zero or
    less means no waiting, ``math.inf`` waiting until something happens."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise error(f"{what} must be a number of seconds, got {type(value).__name__}")
    if isinstance(value, float) and math.isnan(value):
        raise error(f"{what} must be a number of seconds, got NaN")
    if isinstance(value, int) and abs(value) > 2**53:
        return math.copysign(math.inf, value)  # float() of a huge int overflows
    return float(value)
