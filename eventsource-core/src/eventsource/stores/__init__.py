"""The event store contract, its value types, and the in-memory store.

User API only: the helpers a backend author needs (``prepare_append``, the read doors,
``decode_stored_event``, ...) are in :mod:`eventsource.spi`. ``SQLiteEventStore`` and
``PostgreSQLEventStore`` resolve lazily (as from :mod:`eventsource`), naming the pip command
when their backend is not installed.
"""

from typing import TYPE_CHECKING

from ._contract import EventStore
from ._lifecycle import (
    LIFECYCLE_AGGREGATE_TYPE,
    RetentionPolicy,
    StreamDeleted,
    StreamRestored,
    StreamTruncated,
)
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

if TYPE_CHECKING:
    from eventsource_postgres import PostgreSQLEventStore as PostgreSQLEventStore
    from eventsource_sqlite import SQLiteEventStore as SQLiteEventStore

    from ..memory._store import MemoryEventStore as InMemoryEventStore
    from ..memory._store import MemoryEventStore as MemoryEventStore

__all__ = [
    "LIFECYCLE_AGGREGATE_TYPE",
    "AppendResult",
    "EventStore",
    "EventStream",
    "ExpectedVersion",
    "InMemoryEventStore",
    "MemoryEventStore",
    "ReadDirection",
    "ReadOptions",
    "RetentionPolicy",
    "StoredEvent",
    "StreamDeleted",
    "StreamRestored",
    "StreamTruncated",
    "parse_stream_id",
    "stream_id_for",
]

#: eventsource-py 0.5.0's names of this module, resolved from :mod:`eventsource.compat`.
_COMPAT = {
    "EventPublisher",
    "TypeConverter",
    "DefaultTypeConverter",
    "DEFAULT_UUID_FIELDS",
    "DEFAULT_STRING_ID_FIELDS",
}

#: Backend classes this module resolves on first use.
_LAZY_CLASSES = ("SQLiteEventStore", "PostgreSQLEventStore")

if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        # The memory store imports this package, so it is resolved on first use.
        if name in ("MemoryEventStore", "InMemoryEventStore"):
            from ..memory._store import MemoryEventStore

            return MemoryEventStore
        if name in _COMPAT:  # eventsource-py 0.5.0's names (eventsource.compat)
            from .. import compat

            return getattr(compat, name)
        from ..plugins._manager import resolve_lazy_class

        return resolve_lazy_class(__name__, name, _LAZY_CLASSES)
