"""eventsource-py 0.5.0's type aliases (``eventsource.types``)."""

from __future__ import annotations

from typing import TypeVar
from uuid import UUID

from pydantic import BaseModel

__all__ = [
    "AggregateId",
    "CausationId",
    "CorrelationId",
    "EventId",
    "GlobalPosition",
    "StreamPosition",
    "TState",
    "TenantId",
    "Version",
]

#: An aggregate's state type.
TState = TypeVar("TState", bound=BaseModel)
AggregateId = UUID
EventId = UUID
TenantId = UUID | None
CorrelationId = UUID
CausationId = UUID | None
Version = int
StreamPosition = int
GlobalPosition = int
