"""Event classes of the SQLite backend's tests (names unique to these tests)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsource import DomainEvent

#: The stream the multi-process test's writers contend for at exact versions.
CONTESTED = UUID("00000000-0000-0000-0000-00000000c0de")
#: The stream they all append to with ExpectedVersion.ANY.
SHARED = UUID("00000000-0000-0000-0000-0000000005a4")


class SqlNoted(DomainEvent):
    """Something was noted."""

    n: int = 0
    text: str = ""


def noted(aggregate_id: UUID, n: int = 0, **fields: Any) -> SqlNoted:
    """A :class:`SqlNoted` event for ``aggregate_id``."""
    return SqlNoted(aggregate_id=aggregate_id, n=n, **fields)
