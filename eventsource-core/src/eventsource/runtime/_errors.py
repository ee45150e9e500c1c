"""The runtime's errors; they live in the one exception tree (:mod:`eventsource._exceptions`)
and are re-exported here for the imports that used this module."""

from __future__ import annotations

from .._exceptions import ProjectionStoppedError, ReplayError, UnknownPublisherError

__all__ = ["ProjectionStoppedError", "ReplayError", "UnknownPublisherError"]
