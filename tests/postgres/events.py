"""Event classes for the PostgreSQL tests."""

from __future__ import annotations

from eventsource import DomainEvent


class PgItemAdded(DomainEvent):
    """A test event with a payload field."""

    name: str = ""
    quantity: int = 0


class PgItemRemoved(DomainEvent):
    """A second test event type."""

    name: str = ""
