"""eventsource-py 0.5.0's ``eventsource.events.base``: ``DomainEvent``."""

from eventsource.events import DomainEvent

__all__ = ["DomainEvent"]
