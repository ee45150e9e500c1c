"""Typed records returned by the checkpoint, outbox and DLQ repositories.

Each record is a frozen dataclass that also reads like a mapping (``entry["id"]``,
``entry.get("status")``, ``dict(entry.items())``), as code written against plain rows expects.
"""

from __future__ import annotations

import dataclasses
import enum
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from ._error_text import error_message, error_stacktrace, error_type_name

__all__ = [
    "CheckpointData",
    "DLQEntry",
    "DLQStats",
    "DLQStatus",
    "ErrorDetails",
    "LagMetrics",
    "OutboxEntry",
    "OutboxStats",
    "OutboxStatus",
    "ProjectionFailureCount",
    "RecordMapping",
]


class RecordMapping:
    """Mapping-style read access to a dataclass record's fields."""

    __slots__ = ()

    def __getitem__(self, key: str) -> Any:
        if key not in self._field_names():
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        """The field's value, or ``default`` when there is no such field."""
        return getattr(self, key) if key in self._field_names() else default

    def keys(self) -> list[str]:
        """The field names."""
        return list(self._field_names())

    def items(self) -> Iterator[tuple[str, Any]]:
        """``(name, value)`` pairs of every field."""
        return ((name, getattr(self, name)) for name in self._field_names())

    def __contains__(self, key: object) -> bool:
        return key in self._field_names()

    def to_dict(self) -> dict[str, Any]:
        """The record as a plain dict."""
        return dict(self.items())

    @classmethod
    def _field_names(cls) -> tuple[str, ...]:
        names: tuple[str, ...] | None = cls.__dict__.get("_names_cache")
        if names is None:
            names = tuple(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
            type.__setattr__(cls, "_names_cache", names)
        return names


def _renamed(record: object, old: str, new: str) -> Any:
    """The value of field ``new``, read under eventsource-py 0.5.0's name ``old``."""
    warnings.warn(
        f"{old} is eventsource-py 0.5.0's name: use {type(record).__name__}.{new}",
        DeprecationWarning,
        stacklevel=3,
    )
    return getattr(record, new)


class OutboxStatus(enum.StrEnum):
    """Lifecycle of an outbox entry."""

    PENDING = "pending"
    PUBLISHED = "published"
    FAILED = "failed"


class DLQStatus(enum.StrEnum):
    """Lifecycle of a dead-lettered event."""

    FAILED = "failed"
    RETRYING = "retrying"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class CheckpointData(RecordMapping):
    """Where a projection is: the last event it handled and that event's global position."""

    projection_name: str
    last_event_id: UUID | None
    last_event_type: str | None
    global_position: int | None
    events_processed: int
    updated_at: datetime

    @property
    def last_processed_at(self) -> datetime:
        """Deprecated: 0.5.0's name of :attr:`updated_at`."""
        value: datetime = _renamed(self, "CheckpointData.last_processed_at", "updated_at")
        return value


@dataclass(frozen=True, slots=True)
class LagMetrics(RecordMapping):
    """How far a projection is behind the newest relevant event.

    ``lag_events`` counts relevant events stored after the checkpoint's position;
    ``lag_seconds`` is the time between the checkpointed event and the newest relevant one.
    """

    projection_name: str
    last_event_id: UUID | None
    latest_event_id: UUID | None
    lag_seconds: float
    lag_events: int
    events_processed: int
    last_processed_at: datetime | None


@dataclass(frozen=True, slots=True)
class OutboxEntry(RecordMapping):
    """An event waiting to be (or already) published."""

    id: UUID
    event_id: UUID
    event_type: str
    aggregate_id: UUID
    aggregate_type: str
    tenant_id: UUID | None
    event_data: dict[str, Any]
    created_at: datetime
    status: OutboxStatus = OutboxStatus.PENDING
    retry_count: int = 0
    last_error: str | None = None
    published_at: datetime | None = None
    claimed_by: str | None = None
    claimed_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class OutboxStats(RecordMapping):
    """Counts of outbox entries by status."""

    pending_count: int
    claimed_count: int
    published_count: int
    failed_count: int
    oldest_pending_at: datetime | None
    #: The mean retry count of pending entries (eventsource-py 0.5.0's field).
    avg_retries: float = 0.0

    @property
    def oldest_pending(self) -> datetime | None:
        """Deprecated: 0.5.0's name of :attr:`oldest_pending_at`."""
        value: datetime | None = _renamed(self, "OutboxStats.oldest_pending", "oldest_pending_at")
        return value


@dataclass(frozen=True, slots=True)
class DLQEntry(RecordMapping):
    """A failed event parked for a projection, with the error that parked it."""

    id: int
    event_id: UUID
    projection_name: str
    event_type: str
    event_data: dict[str, Any]
    error_type: str
    error_message: str
    error_stacktrace: str
    retry_count: int
    first_failed_at: datetime
    last_failed_at: datetime
    status: DLQStatus = DLQStatus.FAILED
    resolved_at: datetime | None = None
    resolution: str | None = None

    @property
    def resolved_by(self) -> str | None:
        """Deprecated: 0.5.0's name of :attr:`resolution`."""
        value: str | None = _renamed(self, "DLQEntry.resolved_by", "resolution")
        return value


@dataclass(frozen=True, slots=True)
class DLQStats(RecordMapping):
    """DLQ counts by status."""

    total_failed: int
    total_retrying: int
    total_resolved: int
    affected_projections: int
    oldest_failure: datetime | None


@dataclass(frozen=True, slots=True)
class ProjectionFailureCount(RecordMapping):
    """Unresolved failures of one projection."""

    projection_name: str
    failure_count: int
    oldest_failure: datetime | None
    most_recent_failure: datetime | None


@dataclass(frozen=True, slots=True)
class ErrorDetails:
    """An error reduced to what the DLQ stores: type, message and its own traceback."""

    error_type: str
    message: str
    stacktrace: str = field(default="")

    @classmethod
    def of(cls, error: BaseException | str) -> ErrorDetails:
        """Details of ``error``, with the traceback it carries (not whatever is in flight).

        Never fails: a message whose ``str()`` fails falls back to ``repr()``, then to the
        class name, and text is made storable on every backend and capped
        (:mod:`eventsource.repositories._error_text`), so a failure can always be parked.
        """
        if isinstance(error, BaseException):
            return cls(error_type_name(error), error_message(error), error_stacktrace(error))
        return cls("Error", error_message(error), "")
