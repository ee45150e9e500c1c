"""The snapshot store that belongs to an event store: its backend's, over its connection."""

from __future__ import annotations

import threading
import weakref

from ..snapshots._contract import SnapshotStore
from ..stores._contract import EventStore
from ._manager import BackendRegistry, get_registry

__all__ = ["remember_snapshot_store", "snapshot_store_for"]

_stores: weakref.WeakKeyDictionary[EventStore, SnapshotStore] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def remember_snapshot_store(event_store: EventStore, snapshots: SnapshotStore) -> None:
    """Make ``snapshots`` the one :func:`snapshot_store_for` gives for ``event_store``."""
    with _lock:
        _stores[event_store] = snapshots


def snapshot_store_for(
    event_store: EventStore, registry: BackendRegistry | None = None
) -> SnapshotStore | None:
    """The snapshot store of ``event_store``'s backend, sharing its connection or pool (one
    per event store), or None when its backend registers no snapshot store."""
    with _lock:
        found = _stores.get(event_store)
    if found is not None:
        return found
    backend = (registry or get_registry()).backend_of_store(event_store)
    if backend is None or backend.snapshots is None:
        return None
    made = backend.snapshots.factory(event_store)
    with _lock:
        return _stores.setdefault(event_store, made)
