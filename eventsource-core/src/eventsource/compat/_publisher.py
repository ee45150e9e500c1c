"""eventsource-py 0.5.0's ``EventPublisher`` protocol, which the repository publishes to."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..events import DomainEvent

__all__ = ["EventPublisher"]


@runtime_checkable
class EventPublisher(Protocol):
    """Anything with ``async publish(events)``; :class:`~eventsource.AggregateRepository`
    calls it once per successful save with the events that save stored."""

    async def publish(self, events: list[DomainEvent]) -> None:
        """Publish ``events`` (already stored)."""
