"""``BackendConformance``: every kit class in one."""

from __future__ import annotations

from ._concurrency import ConcurrencyConformance
from ._event_store import EventStoreConformance

__all__ = ["BackendConformance"]


class BackendConformance(EventStoreConformance, ConcurrencyConformance):
    """The whole contract: subclass it and provide the ``backend_opener`` fixture."""
