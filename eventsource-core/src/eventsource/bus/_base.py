"""eventsource-py 0.5.0's bus interface: :class:`EventBus`, its handler types, and the
subscription table every bus here shares (dispatch on the exact event class, plus wildcard
handlers)."""

from __future__ import annotations

import asyncio
import inspect
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, runtime_checkable

from ..events import DomainEvent

__all__ = [
    "AsyncEventHandler",
    "EventBus",
    "EventHandlerFunc",
    "FlexibleEventSubscriber",
    "Handler",
]

log = logging.getLogger("eventsource.bus")

#: A plain handler function: ``handler(event)``, sync or async.
EventHandlerFunc = Callable[[DomainEvent], Awaitable[None] | None]


class AsyncEventHandler(ABC):
    """A handler object: ``await handle(event)`` for the ``event_types()`` it declares."""

    @abstractmethod
    async def handle(self, event: DomainEvent) -> None:
        """Handle one event."""

    def event_types(self) -> list[type[DomainEvent]]:
        """The event classes this handler wants (default: none declared)."""
        return []

    def can_handle(self, event: DomainEvent) -> bool:
        """Whether ``event`` is of a type in :meth:`event_types`."""
        return type(event) in self.event_types()


@runtime_checkable
class FlexibleEventSubscriber(Protocol):
    """An object naming the event classes it handles and handling them (sync or async)."""

    def subscribed_to(self) -> list[type[DomainEvent]]: ...

    def handle(self, event: DomainEvent) -> Any: ...


#: Anything a bus accepts as a handler: a function or an object with ``handle(event)``.
Handler = EventHandlerFunc | Any


async def call_handler(handler: Handler, event: DomainEvent) -> None:
    """Call ``handler`` (function or object with ``handle``) and await it if it is async."""
    target = handler.handle if hasattr(handler, "handle") else handler
    result = target(event)
    if inspect.isawaitable(result):
        await result


class EventBus(ABC):
    """Publishes events and dispatches them to subscribed handlers (0.5.0's interface).

    Handlers subscribe to an exact event class (a subclass does not match) or, through
    :meth:`subscribe_to_all_events`, to every event.
    """

    def __init__(self) -> None:
        self._handlers: dict[type[DomainEvent], list[Handler]] = {}
        self._wildcard: list[Handler] = []

    @abstractmethod
    async def publish(self, events: list[DomainEvent], background: bool = False) -> None:
        """Publish ``events`` (in order)."""

    def subscribe(self, event_type: type[DomainEvent], handler: Handler) -> None:
        """Call ``handler`` for each event whose class is exactly ``event_type``."""
        self._handlers.setdefault(event_type, []).append(handler)

    def unsubscribe(self, event_type: type[DomainEvent], handler: Handler) -> bool:
        """Remove a subscription; False if there was none."""
        handlers = self._handlers.get(event_type, [])
        if handler in handlers:
            handlers.remove(handler)
            return True
        return False

    def subscribe_all(self, subscriber: FlexibleEventSubscriber) -> None:
        """Subscribe ``subscriber`` to each class in its ``subscribed_to()``."""
        for event_type in subscriber.subscribed_to():
            self.subscribe(event_type, subscriber)

    def subscribe_to_all_events(self, handler: Handler) -> None:
        """Call ``handler`` for every event."""
        self._wildcard.append(handler)

    def unsubscribe_from_all_events(self, handler: Handler) -> bool:
        """Remove a wildcard subscription; False if there was none."""
        if handler in self._wildcard:
            self._wildcard.remove(handler)
            return True
        return False

    def handlers_for(self, event: DomainEvent) -> list[Handler]:
        """The handlers an event is dispatched to: its exact class's, then the wildcards."""
        return [*self._handlers.get(type(event), []), *self._wildcard]

    async def dispatch(self, event: DomainEvent) -> tuple[int, int]:
        """Run ``event``'s handlers concurrently; an error is logged, not raised. Returns
        (handlers invoked, handlers that raised)."""
        handlers = self.handlers_for(event)
        results = await asyncio.gather(
            *(call_handler(handler, event) for handler in handlers), return_exceptions=True
        )
        errors = 0
        for handler, result in zip(handlers, results, strict=True):
            if isinstance(result, Exception):
                errors += 1
                log.error(
                    "handler %r failed on %s %s: %s",
                    handler,
                    event.event_type,
                    event.event_id,
                    result,
                )
            elif isinstance(result, BaseException):
                raise result
        return len(handlers), errors
