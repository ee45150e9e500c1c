"""The events the broker tests announce through the outbox."""

from __future__ import annotations

from eventsource import DomainEvent


class BrOrderPlaced(DomainEvent):
    """A small event, one per outbox entry."""

    aggregate_type: str = "Order"
    sku: str
    quantity: int
