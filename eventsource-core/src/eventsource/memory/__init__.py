"""The in-memory backend: all five roles in process memory, for tests and demos."""

from ._repositories import MemoryCheckpointRepository, MemoryDLQRepository, MemoryOutboxRepository
from ._snapshots import MemorySnapshotStore
from ._store import MemoryEventStore, MemoryState

__all__ = [
    "MemoryCheckpointRepository",
    "MemoryDLQRepository",
    "MemoryEventStore",
    "MemoryOutboxRepository",
    "MemorySnapshotStore",
    "MemoryState",
]
