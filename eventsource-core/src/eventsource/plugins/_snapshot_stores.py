"""The snapshot store that belongs to an event store: its backend's, over its connection."""

from __future__ import annotations

import threading
import weakref

from ..snapshots._contract import SnapshotStore
from ..stores._contract import EventStore
from ._manager import BackendRegistry, get_registry

__all__ = ["remember_snapshot_store", "snapshot_store_for"]

# Both sides weak: a snapshot store refers to its event store, so a strong value would keep
# every event store (and a memory database's state) alive for good.
_stores: weakref.WeakKeyDictionary[EventStore, weakref.ref[SnapshotStore]] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


def remember_snapshot_store(event_store: EventStore, snapshots: SnapshotStore) -> None:
    """Make ``snapshots`` the one :func:`snapshot_store_for` gives for ``event_store`` while
    it is alive (an open :class:`Backend` keeps its own)."""
    try:
        with _lock:
            _stores[event_store] = weakref.ref(snapshots)
    except TypeError:  # a store class without weak references: nothing is shared
        pass


def _remembered(event_store: EventStore) -> SnapshotStore | None:
    try:
        with _lock:
            found = _stores.get(event_store)
    except TypeError:
        return None
    return None if found is None else found()


def snapshot_store_for(
    event_store: EventStore, registry: BackendRegistry | None = None
) -> SnapshotStore | None:
    """The snapshot store of ``event_store``'s backend, sharing its connection or pool (the
    same one while it is in use), or None when its backend registers no snapshot store."""
    found = _remembered(event_store)
    if found is not None:
        return found
    backend = (registry or get_registry()).backend_of_store(event_store)
    if backend is None or backend.snapshots is None:
        return None
    made = backend.snapshots.factory(event_store)
    remember_snapshot_store(event_store, made)
    return _remembered(event_store) or made
