"""eventsource-py 0.5.0's ``eventsource.stores.in_memory``."""

from ..memory._store import MemoryEventStore

#: 0.5.0's name of :class:`~eventsource.MemoryEventStore`.
InMemoryEventStore = MemoryEventStore

__all__ = ["InMemoryEventStore"]
