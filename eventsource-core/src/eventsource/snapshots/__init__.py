"""Snapshots: an aggregate's state at a version, so ``load`` replays only the events after it.

``AggregateRepository(store, Order, "Order", snapshot_every=100)`` keeps them in the event
store's own backend (``memory``, SQLite, PostgreSQL: a table beside the events); see
``docs/evolution.md``. Snapshots are a cache: a missing, stale, corrupted or other-schema
snapshot is ignored and the events are replayed, so no result depends on one.

The names of eventsource-py 0.5.0's ``eventsource.snapshots`` work here: :class:`Snapshot`,
:class:`SnapshotStore`, ``InMemorySnapshotStore``, the snapshot errors, and the lazily
resolved ``SQLiteSnapshotStore`` / ``PostgreSQLSnapshotStore`` (built here over a store, a
connection or a pool, like the other repositories).
"""

from typing import TYPE_CHECKING

from .._exceptions import (
    SnapshotDeserializationError,
    SnapshotError,
    SnapshotNotFoundError,
    SnapshotSchemaVersionError,
)
from ._contract import Snapshot, SnapshotStore
from ._strategy import EveryNEvents, SnapshotStrategy

if TYPE_CHECKING:
    from eventsource_postgres import PostgreSQLSnapshotStore as PostgreSQLSnapshotStore
    from eventsource_sqlite import SQLiteSnapshotStore as SQLiteSnapshotStore

    from ..memory._snapshots import MemorySnapshotStore as InMemorySnapshotStore
    from ..memory._snapshots import MemorySnapshotStore as MemorySnapshotStore

__all__ = [
    "EveryNEvents",
    "InMemorySnapshotStore",
    "MemorySnapshotStore",
    "Snapshot",
    "SnapshotDeserializationError",
    "SnapshotError",
    "SnapshotNotFoundError",
    "SnapshotSchemaVersionError",
    "SnapshotStore",
    "SnapshotStrategy",
]

#: Backend classes this module resolves on first use.
_LAZY_CLASSES = ("SQLiteSnapshotStore", "PostgreSQLSnapshotStore")

if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        if name in ("MemorySnapshotStore", "InMemorySnapshotStore"):  # memory imports us
            from ..memory._snapshots import MemorySnapshotStore

            return MemorySnapshotStore
        from ..plugins._manager import resolve_lazy_class

        return resolve_lazy_class(__name__, name, _LAZY_CLASSES)
