"""Outbox entries as the memory backend builds them, for its store and its outbox."""

from __future__ import annotations

import json
from datetime import datetime
from uuid import uuid4

from ..spi import (
    DEFAULT_MAX_EVENT_BYTES,
    DomainEvent,
    OutboxEntry,
    serialize_event,
)

__all__ = ["outbox_entry_for"]


def outbox_entry_for(
    event: DomainEvent,
    now: datetime,
    *,
    payload: str | None = None,
    max_bytes: int = DEFAULT_MAX_EVENT_BYTES,
) -> OutboxEntry:
    """A new pending outbox entry announcing ``event`` (whose serialised ``payload`` the
    caller may already hold; otherwise serialised here, within ``max_bytes``)."""
    return OutboxEntry(
        id=uuid4(),
        event_id=event.event_id,
        event_type=event.event_type,
        aggregate_id=event.aggregate_id,
        aggregate_type=event.aggregate_type,
        tenant_id=event.tenant_id,
        event_data=json.loads(
            payload if payload is not None else serialize_event(event, max_bytes)
        ),
        created_at=now,
    )
