"""Errors raised by the delivery runtime (all under :class:`eventsource.EventSourceError`)."""

from __future__ import annotations

from typing import Any

from .._exceptions import ConfigurationError, EventSourceError, RepositoryError

__all__ = ["ProjectionStoppedError", "ReplayError", "UnknownPublisherError"]


class ProjectionStoppedError(EventSourceError):
    """A projection with ``FailureMode.STOP`` gave up on an event; ``__cause__`` is the error
    (the handler's, or the :class:`~eventsource.EventDecodeError` of an undecodable event).

    Its checkpoint stays on the last event it fully handled, so a restart retries this event,
    which sits at ``global_position``.
    """

    def __init__(
        self,
        projection_name: str,
        event_id: Any,
        event_type: str,
        attempts: int,
        *,
        global_position: int | None = None,
    ) -> None:
        self.projection_name = projection_name
        self.event_id = event_id
        self.event_type = event_type
        self.attempts = attempts
        self.global_position = global_position
        where = f" at global position {global_position}" if global_position is not None else ""
        super().__init__(
            f"projection {projection_name!r} stopped: event {event_type} {event_id}{where} "
            f"failed {attempts} time(s)"
        )


class ReplayError(RepositoryError):
    """A parked event could not be loaded for replay: its DLQ entry's ``event_data`` does not
    decode (or, with ``source="store"``, is not tried) and the entry names no event that can
    be read (an ``aggregate_id`` that is no UUID, a malformed aggregate type or stream id, an
    event the store no longer holds).

    Replay reports it in the entry's :class:`~eventsource.runtime.ReplayResult` (``ok``
    False) and leaves the entry as it was: the projection saw nothing. ``dlq_id`` and
    ``event_id`` name the entry; ``__cause__`` is the underlying error, if any.
    """

    def __init__(self, dlq_id: int, event_id: Any, reason: str) -> None:
        self.dlq_id = dlq_id
        self.event_id = event_id
        self.reason = reason
        super().__init__(f"DLQ entry {dlq_id} (event {event_id}) cannot be replayed: {reason}")


class UnknownPublisherError(ConfigurationError):
    """No built-in or plugin publisher has the requested name."""

    def __init__(self, name: str, installed: list[str]) -> None:
        self.publisher = name
        self.installed = installed
        super().__init__(f"unknown publisher {name!r}; installed: {', '.join(installed) or 'none'}")
