"""Event classes of the SQLite backend's tests (names unique to these tests)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsource import DomainEvent


class SqlNoted(DomainEvent):
    """Something was noted."""

    n: int = 0
    text: str = ""


def noted(aggregate_id: UUID, n: int = 0, **fields: Any) -> SqlNoted:
    """A :class:`SqlNoted` event for ``aggregate_id``."""
    return SqlNoted(aggregate_id=aggregate_id, n=n, **fields)
