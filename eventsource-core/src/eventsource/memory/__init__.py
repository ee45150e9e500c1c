"""The in-memory backend: all four roles in process memory, for tests and demos."""

from ._repositories import MemoryCheckpointRepository, MemoryDLQRepository, MemoryOutboxRepository
from ._store import MemoryEventStore, MemoryState

__all__ = [
    "MemoryCheckpointRepository",
    "MemoryDLQRepository",
    "MemoryEventStore",
    "MemoryOutboxRepository",
    "MemoryState",
]
