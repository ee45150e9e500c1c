"""eventsource-py 0.5.0's ``eventsource.events.registry`` (this directory is the
``__path__`` of :mod:`eventsource.events`, so its 0.5.0 submodules import)."""

from eventsource._exceptions import DuplicateEventTypeError
from eventsource._exceptions import UnknownEventTypeError as EventTypeNotFoundError
from eventsource.compat._registry import (
    get_event_class,
    get_event_class_or_none,
    is_event_registered,
    list_registered_events,
    register_event,
)
from eventsource.events import EventRegistry, default_registry

__all__ = [
    "DuplicateEventTypeError",
    "EventRegistry",
    "EventTypeNotFoundError",
    "default_registry",
    "get_event_class",
    "get_event_class_or_none",
    "is_event_registered",
    "list_registered_events",
    "register_event",
]
