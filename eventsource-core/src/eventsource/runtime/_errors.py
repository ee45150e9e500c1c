"""Errors raised by the delivery runtime (all under :class:`eventsource.EventSourceError`)."""

from __future__ import annotations

from typing import Any

from .._exceptions import ConfigurationError, EventSourceError

__all__ = ["ProjectionStoppedError", "UnknownPublisherError"]


class ProjectionStoppedError(EventSourceError):
    """A projection with ``FailureMode.STOP`` gave up on an event; ``__cause__`` is the error.

    Its checkpoint stays on the last event it fully handled, so a restart retries this event.
    """

    def __init__(self, projection_name: str, event_id: Any, event_type: str, attempts: int) -> None:
        self.projection_name = projection_name
        self.event_id = event_id
        self.event_type = event_type
        self.attempts = attempts
        super().__init__(
            f"projection {projection_name!r} stopped: event {event_type} {event_id} failed "
            f"{attempts} time(s)"
        )


class UnknownPublisherError(ConfigurationError):
    """No built-in or plugin publisher has the requested name."""

    def __init__(self, name: str, installed: list[str]) -> None:
        self.publisher = name
        self.installed = installed
        super().__init__(f"unknown publisher {name!r}; installed: {', '.join(installed) or 'none'}")
