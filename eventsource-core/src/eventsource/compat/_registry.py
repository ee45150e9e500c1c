"""eventsource-py 0.5.0's module-level registry functions (``eventsource.events.registry``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, overload

from .._exceptions import InvalidArgumentError
from ..events import DomainEvent, EventRegistry, default_registry

__all__ = [
    "get_event_class",
    "get_event_class_or_none",
    "is_event_registered",
    "list_registered_events",
    "register_event",
]

EventT = TypeVar("EventT", bound=type[DomainEvent])


@overload
def register_event(
    event_class: EventT, *, event_type: str | None = None, registry: EventRegistry | None = None
) -> EventT: ...
@overload
def register_event(
    event_class: None = None,
    *,
    event_type: str | None = None,
    registry: EventRegistry | None = None,
) -> Callable[[EventT], EventT]: ...
def register_event(
    event_class: EventT | None = None,
    *,
    event_type: str | None = None,
    registry: EventRegistry | None = None,
) -> EventT | Callable[[EventT], EventT]:
    """Register an event class: ``@register_event``, ``@register_event(registry=r)``.

    Classes register themselves in :data:`default_registry` when defined, so this is only
    needed for another registry. ``event_type`` must be the class's own event type (here a
    class's stored type is its ``event_type`` field's default, so that it decodes the same
    in every registry): another name raises :class:`InvalidArgumentError`.
    """
    target = registry if registry is not None else default_registry

    def register(cls: EventT) -> EventT:
        if (
            event_type is not None
            and isinstance(cls, type)
            and issubclass(cls, DomainEvent)
            and event_type != cls.default_event_type()
        ):
            raise InvalidArgumentError(
                f"cannot register {cls.__name__} as {event_type!r}: its event type is "
                f"{cls.default_event_type()!r}; set `event_type: str = {event_type!r}` in "
                "the class body instead"
            )
        target.register(cls, replace=target is default_registry)
        return cls

    return register(event_class) if event_class is not None else register


def get_event_class(event_type: str) -> type[DomainEvent]:
    """The class registered for ``event_type`` (:class:`EventTypeNotFoundError` if none)."""
    return default_registry.get(event_type)


def get_event_class_or_none(event_type: str) -> type[DomainEvent] | None:
    """The class registered for ``event_type``, or None."""
    return default_registry.get_or_none(event_type)


def is_event_registered(event_type: str) -> bool:
    """True when a class is registered for ``event_type``."""
    return event_type in default_registry


def list_registered_events() -> list[str]:
    """The registered event types, sorted."""
    return default_registry.list_types()
