"""The event store's doors: each read method's arguments checked before any I/O.

Every backend calls these first (``prepare_append`` is the door of ``append_events``), so a
bad argument raises the same :class:`InvalidArgumentError` naming it on every backend and
reads nothing; the rules are those of :mod:`eventsource.arguments`. (Only ``append_events``
raises :class:`InvalidEventError`: its arguments are the events and their stream.)
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from .._exceptions import InvalidArgumentError
from ..arguments import check_moment, check_position, check_timeout, check_uuid
from ..values import check_identifier
from ._types import ReadOptions

__all__ = [
    "check_event_id",
    "check_get_events",
    "check_get_events_by_type",
    "check_read_options",
    "check_stream_key",
    "check_wait",
]

_E = InvalidArgumentError


def check_stream_key(aggregate_id: object, aggregate_type: object) -> None:
    """``get_stream_version``'s arguments: a UUID and an aggregate type (an identifier)."""
    check_uuid(aggregate_id, "aggregate_id", _E)
    check_identifier(aggregate_type, "aggregate_type", _E)


def check_get_events(
    aggregate_id: object,
    aggregate_type: object,
    from_version: object,
    from_timestamp: object,
    to_timestamp: object,
) -> None:
    """``get_events``' arguments: a UUID, an aggregate type or None, a stream position from
    0 (one past the stream's end reads nothing) and aware datetimes or None."""
    check_uuid(aggregate_id, "aggregate_id", _E)
    if aggregate_type is not None:
        check_identifier(aggregate_type, "aggregate_type", _E)
    check_position(from_version, "from_version", _E)
    _check_window(from_timestamp, to_timestamp)


def check_get_events_by_type(
    aggregate_type: object, tenant_id: object, from_timestamp: object
) -> None:
    """``get_events_by_type``'s arguments: an aggregate type, a UUID or None, an aware
    datetime or None."""
    check_identifier(aggregate_type, "aggregate_type", _E)
    if tenant_id is not None:
        check_uuid(tenant_id, "tenant_id", _E)
    _check_window(from_timestamp, None)


def check_read_options(options: object) -> ReadOptions:
    """``options`` of ``read_all`` / ``read_stream``: a :class:`ReadOptions` (which checks its
    own fields) or None for the defaults."""
    if options is None:
        return ReadOptions()
    if not isinstance(options, ReadOptions):
        raise _E(f"options must be a ReadOptions or None, got {type(options).__name__}")
    return options


def check_event_id(event_id: object) -> UUID:
    """``event_exists``' argument: a UUID."""
    return check_uuid(event_id, "event_id", _E)


def check_wait(after_position: object, timeout: object) -> float:
    """``wait_for_events``' arguments: a global position from 0 and a number of seconds
    (see :func:`~eventsource.arguments.check_timeout`); returns the timeout as a float."""
    check_position(after_position, "after_position", _E)
    return check_timeout(timeout, "timeout", _E)


def _check_window(start: object, end: object) -> tuple[datetime | None, datetime | None]:
    return (
        None if start is None else check_moment(start, "from_timestamp", _E),
        None if end is None else check_moment(end, "to_timestamp", _E),
    )
