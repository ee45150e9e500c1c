"""Stream lifecycle: the system events that record deletes, retention policies, and the
checks every backend's ``delete_stream`` / ``truncate_stream`` / ``restore_stream`` share.

The rules (docs/lifecycle.md; checked by
:class:`eventsource.testing.StreamLifecycleConformance`):

- A **soft delete** moves the stream's events out of every read (``get_events``,
  ``read_stream``, ``read_all``, ``get_events_by_type``, ``event_exists``): the stream reads as
  one that does not exist (version 0). They are kept aside and :meth:`restore_stream` puts them
  back at their old positions.
- A **hard delete** removes them for good; a soft-deleted stream can be hard-deleted too.
- Either delete removes the stream's outbox entries and its snapshot, and appends a
  :class:`StreamDeleted` event (in the system stream ``(aggregate_id,``
  :data:`LIFECYCLE_AGGREGATE_TYPE` ``)``) in the same transaction, at a global position past
  every removed event; a restore appends :class:`StreamRestored`.
- Appending to a deleted stream raises :class:`StreamDeletedError` unless the append passes
  ``recreate=True``: then the old events (soft-deleted ones too) are gone for good and the
  stream starts anew at version 1.
- **Truncating** before version ``v`` removes the events with ``aggregate_version < v``, but
  never the stream's last event (``v`` is capped at the current version), so the stream's
  version, and every global position, stay where they were. Snapshots older than ``v - 1``
  are deleted (they no longer lead to the events that remain). A truncation that removes
  events appends a :class:`StreamTruncated` to the system stream in the same transaction
  (``scavenge`` truncates, so it records one per stream it shortens).
- **Retention policies** are stored in the database (one per aggregate type), so a
  ``scavenge`` in any process applies them; :func:`retention_columns` and
  :func:`retention_from_columns` are the row codec backends share.
- Global positions of removed events are never handed out again: every removal keeps a higher
  row in the log (the stream's last event, or the delete's :class:`StreamDeleted`), so
  backends that give out ``max + 1`` stay increasing, and readers simply read past the holes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from .._exceptions import InvalidArgumentError, InvalidEventError
from ..events import DomainEvent
from ..values import check_identifier, check_version

__all__ = [
    "LIFECYCLE_AGGREGATE_TYPE",
    "LIFECYCLE_EVENT_TYPES",
    "RetentionPolicy",
    "StreamDeleted",
    "StreamRestored",
    "StreamTruncated",
    "check_lifecycle_key",
    "check_retention",
    "check_truncate",
    "restored",
    "retention_before",
    "retention_columns",
    "retention_from_columns",
    "tombstone",
    "truncated",
]

#: The aggregate type of the system streams that hold :class:`StreamDeleted`,
#: :class:`StreamRestored` and :class:`StreamTruncated` (one stream per aggregate id).
#: Lifecycle operations refuse it.
LIFECYCLE_AGGREGATE_TYPE = "eventsource.Stream"


class StreamDeleted(DomainEvent):
    """A stream was deleted: ``stream_type`` ``aggregate_id`` at ``last_version``; ``hard``
    says it is final. Its own ``aggregate_id`` is the deleted stream's, in the system stream
    of :data:`LIFECYCLE_AGGREGATE_TYPE`. Every registry decodes it."""

    event_type: str = "eventsource.StreamDeleted"
    stream_type: str
    last_version: int
    hard: bool


class StreamRestored(DomainEvent):
    """A soft-deleted stream was restored with its events up to ``last_version`` (they are
    back at their old global positions: a reader past them re-reads the stream by id)."""

    event_type: str = "eventsource.StreamRestored"
    stream_type: str
    last_version: int


class StreamTruncated(DomainEvent):
    """A stream was truncated (``truncate_stream``, or ``scavenge`` applying a retention
    policy): its ``removed`` events with versions below ``before`` are gone; the events from
    ``before`` to ``last_version`` remain. Appended in the truncation's transaction, past
    every removed position."""

    event_type: str = "eventsource.StreamTruncated"
    stream_type: str
    before: int
    last_version: int
    removed: int


#: The system event types, and the classes every registry decodes them with.
LIFECYCLE_EVENT_TYPES: dict[str, type[DomainEvent]] = {
    "eventsource.StreamDeleted": StreamDeleted,
    "eventsource.StreamRestored": StreamRestored,
    "eventsource.StreamTruncated": StreamTruncated,
}


#: The longest ``RetentionPolicy.max_age`` (its microseconds fit every backend's column).
MAX_RETENTION_AGE = timedelta(days=36_500_000)


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How long a stream of one aggregate type keeps its events; applied by
    :meth:`EventStore.scavenge <eventsource.EventStore.scavenge>`.

    ``max_count``: keep the last N events of each stream. ``max_age``: remove events whose
    ``occurred_at`` is older than ``now - max_age``. Both may be given (an event goes when
    either says so). A stream's last event always stays. ``max_age`` is at most 100,000
    years (what every backend stores).
    """

    max_age: timedelta | None = None
    max_count: int | None = None

    def __post_init__(self) -> None:
        if self.max_age is None and self.max_count is None:
            raise InvalidArgumentError("a RetentionPolicy needs max_age or max_count")
        if self.max_age is not None and (
            not isinstance(self.max_age, timedelta)
            or not timedelta(0) < self.max_age <= MAX_RETENTION_AGE
        ):
            raise InvalidArgumentError(
                "max_age must be a positive timedelta of at most 100,000 years, "
                f"got {self.max_age!r:.80}"
            )
        if self.max_count is not None:
            check_version(self.max_count, "max_count")

    def cutoff(self, now: datetime) -> datetime | None:
        """The moment before which events are expired by age (None: no age limit, or one
        reaching before year 1)."""
        if self.max_age is None:
            return None
        try:
            return now - self.max_age
        except OverflowError:
            return None


_US = timedelta(microseconds=1)


def check_retention(aggregate_type: Any, policy: Any) -> tuple[str, RetentionPolicy | None]:
    """``save_retention`` / ``set_retention``'s arguments, checked (None: no policy)."""
    _, aggregate_type = check_lifecycle_key(UUID(int=0), aggregate_type)
    if policy is not None and not isinstance(policy, RetentionPolicy):
        raise InvalidEventError(f"expected a RetentionPolicy, got {type(policy).__name__}")
    return aggregate_type, policy


def retention_columns(policy: RetentionPolicy) -> tuple[int | None, int | None]:
    """A policy as the columns backends store: ``max_age`` in whole microseconds (rounded
    up, never below 1) and ``max_count``."""
    age = policy.max_age
    age_us = None if age is None else max(1, -(-age // _US))
    return age_us, policy.max_count


def retention_from_columns(max_age_us: Any, max_count: Any) -> RetentionPolicy:
    """The policy of a stored row (:func:`retention_columns`' inverse)."""
    age = None if max_age_us is None else timedelta(microseconds=int(max_age_us))
    return RetentionPolicy(max_age=age, max_count=None if max_count is None else int(max_count))


def check_lifecycle_key(aggregate_id: Any, aggregate_type: Any) -> tuple[UUID, str]:
    """The stream's key, checked; the system type is refused (its events record deletes)."""
    if not isinstance(aggregate_id, UUID):
        raise InvalidArgumentError(
            f"aggregate_id must be a UUID, got {type(aggregate_id).__name__}"
        )
    check_identifier(aggregate_type, "aggregate_type")
    if aggregate_type == LIFECYCLE_AGGREGATE_TYPE:
        raise InvalidEventError(
            f"{LIFECYCLE_AGGREGATE_TYPE!r} streams record deletes: they cannot be deleted, "
            "truncated or restored, nor appended to"
        )
    return aggregate_id, aggregate_type


def check_truncate(aggregate_id: Any, aggregate_type: Any, before: Any) -> tuple[UUID, str, int]:
    """``truncate_stream``'s arguments, checked (``before`` is a version >= 1)."""
    key = check_lifecycle_key(aggregate_id, aggregate_type)
    return (*key, check_version(before, "before"))


def retention_before(
    policy: RetentionPolicy, first_version: int, last_version: int, newest_expired: int | None
) -> int | None:
    """The ``before`` to truncate one stream at under ``policy``, or None when nothing goes.

    ``newest_expired`` is the highest version of the stream whose event is older than the
    policy's cutoff (None: none is). The stream's last event always stays.
    """
    before = 0
    if policy.max_count is not None:
        before = last_version - policy.max_count + 1
    if newest_expired is not None:
        before = max(before, newest_expired + 1)
    before = min(before, last_version)
    return before if before > first_version else None


def tombstone(
    aggregate_id: UUID, aggregate_type: str, last_version: int, hard: bool
) -> StreamDeleted:
    """The :class:`StreamDeleted` event a delete appends (its version is stamped on append)."""
    return StreamDeleted(
        aggregate_id=aggregate_id,
        aggregate_type=LIFECYCLE_AGGREGATE_TYPE,
        stream_type=aggregate_type,
        last_version=last_version,
        hard=hard,
    )


def truncated(
    aggregate_id: UUID, aggregate_type: str, before: int, last_version: int, removed: int
) -> StreamTruncated:
    """The :class:`StreamTruncated` event a truncation that removed events appends."""
    return StreamTruncated(
        aggregate_id=aggregate_id,
        aggregate_type=LIFECYCLE_AGGREGATE_TYPE,
        stream_type=aggregate_type,
        before=before,
        last_version=last_version,
        removed=removed,
    )


def restored(aggregate_id: UUID, aggregate_type: str, last_version: int) -> StreamRestored:
    """The :class:`StreamRestored` event a restore appends."""
    return StreamRestored(
        aggregate_id=aggregate_id,
        aggregate_type=LIFECYCLE_AGGREGATE_TYPE,
        stream_type=aggregate_type,
        last_version=last_version,
    )
