"""Value types of the event store contract."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final
from uuid import UUID

from .._exceptions import InvalidArgumentError, InvalidEventError
from ..arguments import check_moment, check_names, check_position, check_uuid
from ..events import DomainEvent
from ..values import MAX_VERSION, check_identifier

__all__ = [
    "AppendResult",
    "EventStream",
    "ExpectedVersion",
    "ReadDirection",
    "ReadOptions",
    "StoredEvent",
    "check_expected_version",
    "parse_stream_id",
    "stream_id_for",
]


class ExpectedVersion:
    """What a writer expects a stream's version to be; plain ints >= 0 are exact versions.

    - ``ANY`` (-1): no check; such appends never fail because of a concurrent writer.
    - ``NO_STREAM`` (0): the stream must have no events.
    - ``STREAM_EXISTS`` (-2): the stream must have at least one event.
    - ``n`` (>= 1): the stream's last event must be version ``n``.
    """

    ANY: Final = -1
    NO_STREAM: Final = 0
    STREAM_EXISTS: Final = -2


def check_expected_version(expected_version: int) -> int:
    """Validate an expected version argument, returning it as an int."""
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise InvalidEventError(
            f"expected_version must be an int or ExpectedVersion constant, "
            f"got {type(expected_version).__name__}"
        )
    if not ExpectedVersion.STREAM_EXISTS <= expected_version <= MAX_VERSION:
        raise InvalidEventError(f"expected_version {expected_version} is not valid")
    return int(expected_version)


class ReadDirection(enum.Enum):
    """Order in which a read yields events."""

    FORWARD = "forward"
    BACKWARD = "backward"


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """Options for :meth:`EventStore.read_stream` and :meth:`EventStore.read_all`.

    ``from_position`` is exclusive: reading forward yields events after it (a reader resumes from
    the last position it saw); reading backward yields events before it. For ``read_all`` it is a
    global position, for ``read_stream`` a stream position (version). ``limit`` caps the number of
    events yielded, after the other filters; ``None`` streams everything, in pages.
    ``from_timestamp`` / ``to_timestamp`` (timezone-aware) bound the events' ``occurred_at``,
    both inclusive. ``event_types`` keeps events of those types (a list, tuple or set of
    names, never a single ``str``; empty keeps none). ``lazy=True`` lets the store yield each
    event before decoding it (:class:`~eventsource.spi.LazyStoredEvent`): positions, stream,
    type and ids are read from the row, the event is decoded on first access of ``.event``,
    and a row that cannot be decoded raises :class:`~eventsource.EventDecodeError` there
    instead of from the iterator. For readers that do not need every payload; a reader that
    must stop at an undecodable row keeps the default (a store may decode eagerly anyway).

    Every field is checked here (:mod:`eventsource.arguments`), so a bad option raises
    :class:`InvalidArgumentError` naming it before any backend sees it: positions and limits
    are ints from 0 to 2**63 - 1 (a position past the end reads nothing forward, everything
    backward), ``direction`` a :class:`ReadDirection` (or its value, ``"forward"`` /
    ``"backward"``), ``tenant_id`` a UUID.
    """

    direction: ReadDirection = ReadDirection.FORWARD
    from_position: int | None = None
    limit: int | None = None
    from_timestamp: datetime | None = None
    to_timestamp: datetime | None = None
    tenant_id: UUID | None = None
    event_types: tuple[str, ...] | None = None
    lazy: bool = False

    def __post_init__(self) -> None:
        if self.from_position == -1 and not isinstance(self.from_position, bool):
            # eventsource-py 0.5.0's "from the end": the same as None here
            object.__setattr__(self, "from_position", None)
        if not isinstance(self.direction, ReadDirection):
            try:
                object.__setattr__(self, "direction", ReadDirection(self.direction))
            except (ValueError, TypeError):
                raise InvalidArgumentError(
                    f"ReadOptions.direction must be a ReadDirection, got {self.direction!r:.80}"
                ) from None
        for name in ("limit", "from_position"):
            value = getattr(self, name)
            if value is not None:
                check_position(value, f"ReadOptions.{name}", InvalidArgumentError)
        for name in ("from_timestamp", "to_timestamp"):
            value = getattr(self, name)
            if value is not None:
                check_moment(value, f"ReadOptions.{name}", InvalidArgumentError)
        if self.tenant_id is not None:
            check_uuid(self.tenant_id, "ReadOptions.tenant_id", InvalidArgumentError)
        if self.event_types is not None:
            types = check_names(self.event_types, "ReadOptions.event_types", InvalidArgumentError)
            object.__setattr__(self, "event_types", types)
        if not isinstance(self.lazy, bool):
            raise InvalidArgumentError(f"ReadOptions.lazy must be a bool, got {self.lazy!r:.80}")


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What a successful append wrote.

    ``new_version`` is the stream's version after the append; ``global_position`` is the
    position of the last event written (0 when nothing was written).
    """

    success: bool
    new_version: int
    global_position: int = 0
    events_written: int = 0
    #: Always False from our stores, which raise :class:`OptimisticLockError` instead
    #: (eventsource-py 0.5.0 compatibility, as are the two constructors below).
    conflict: bool = False

    @classmethod
    def successful(cls, new_version: int, global_position: int = 0) -> AppendResult:
        """A successful result (0.5.0's constructor)."""
        return cls(True, new_version, global_position)

    @classmethod
    def conflicted(cls, current_version: int) -> AppendResult:
        """A conflict result (0.5.0's constructor; no store of ours returns one)."""
        return cls(False, current_version, 0, conflict=True)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as the store holds it: the event plus where it sits."""

    event: DomainEvent
    stream_id: str
    stream_position: int
    global_position: int
    stored_at: datetime

    @property
    def event_id(self) -> UUID:
        """The event's id."""
        return self.event.event_id

    @property
    def event_type(self) -> str:
        """The event's type."""
        return self.event.event_type

    @property
    def aggregate_id(self) -> UUID:
        """The event's aggregate id."""
        return self.event.aggregate_id

    @property
    def aggregate_type(self) -> str:
        """The event's aggregate type."""
        return self.event.aggregate_type

    def __str__(self) -> str:
        return (
            f"StoredEvent({self.event_type}, stream_pos={self.stream_position}, "
            f"global_pos={self.global_position})"
        )


@dataclass(frozen=True, slots=True)
class EventStream:
    """The events of one aggregate, in version order, and its version."""

    aggregate_id: UUID
    aggregate_type: str
    events: list[DomainEvent] = field(default_factory=list)
    version: int = 0

    @property
    def is_empty(self) -> bool:
        """True when the aggregate has no events (in the range read)."""
        return not self.events

    def __post_init__(self) -> None:
        if self.events is None:  # eventsource-py 0.5.0 took None for no events
            object.__setattr__(self, "events", [])

    @property
    def latest_event(self) -> DomainEvent | None:
        """The last event read, or None."""
        return self.events[-1] if self.events else None

    @classmethod
    def empty(cls, aggregate_id: UUID, aggregate_type: str) -> EventStream:
        """A stream with no events at version 0."""
        return cls(aggregate_id, aggregate_type)


def stream_id_for(aggregate_id: UUID, aggregate_type: str) -> str:
    """The stream id of an aggregate: ``"<aggregate_id>:<aggregate_type>"``."""
    return f"{aggregate_id}:{aggregate_type}"


def parse_stream_id(stream_id: str) -> tuple[UUID, str]:
    """Split a stream id into ``(aggregate_id, aggregate_type)``; :class:`InvalidArgumentError`
    unless it is a string ``"<uuid>:<aggregate type>"`` whose type is a valid identifier."""
    if not isinstance(stream_id, str):
        raise InvalidArgumentError(f"stream id must be a str, got {type(stream_id).__name__}")
    head, sep, aggregate_type = stream_id.partition(":")
    aggregate_id = _uuid_or_none(head) if sep and aggregate_type else None
    if aggregate_id is None:
        raise InvalidArgumentError(
            f"stream id {stream_id!r:.120} is not '<aggregate_id>:<aggregate_type>'"
        )
    return aggregate_id, check_identifier(aggregate_type, "aggregate_type", InvalidArgumentError)


def _uuid_or_none(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None
