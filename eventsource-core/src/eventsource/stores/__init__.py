"""The event store contract, its value types, and the in-memory store."""

from ._arguments import (
    check_event_id,
    check_get_events,
    check_get_events_by_type,
    check_read_options,
    check_stream_key,
    check_wait,
)
from ._contract import EventStore, PreparedEvent, check_stream_version, prepare_append, restamp
from ._decoding import decode_stored_event
from ._types import (
    AppendResult,
    EventStream,
    ExpectedVersion,
    ReadDirection,
    ReadOptions,
    StoredEvent,
    parse_stream_id,
    stream_id_for,
)

__all__ = [
    "AppendResult",
    "EventStore",
    "EventStream",
    "ExpectedVersion",
    "InMemoryEventStore",
    "MemoryEventStore",
    "PreparedEvent",
    "ReadDirection",
    "ReadOptions",
    "StoredEvent",
    "check_event_id",
    "check_get_events",
    "check_get_events_by_type",
    "check_read_options",
    "check_stream_key",
    "check_stream_version",
    "check_wait",
    "decode_stored_event",
    "parse_stream_id",
    "prepare_append",
    "restamp",
    "stream_id_for",
]


def __getattr__(name: str) -> object:
    # The memory store imports this package, so it is resolved on first use.
    if name in ("MemoryEventStore", "InMemoryEventStore"):
        from ..memory._store import MemoryEventStore

        return MemoryEventStore
    raise AttributeError(name)
