"""Stored events whose event is decoded on first access (``ReadOptions(lazy=True)``).

A reader that looks only at positions, types and ids (a metadata scan, a filter in Python, a
rebuild that skips most events) should not pay for pydantic. A :class:`LazyStoredEvent` keeps
the backend's row and a :class:`RowReader` that knows where each column is: positions, stream,
type and ids come from the row's columns; ``.event`` decodes the payload the first time it is
read (with the page's :class:`~eventsource.spi.PageDecoder`) and keeps it. A row that cannot be
decoded raises the same :class:`~eventsource.EventDecodeError` there, not from the iterator,
which is why laziness is opt-in: a reader applying a poison policy (the projection runner)
keeps the default, eager reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ..events import DomainEvent
from ._types import StoredEvent

if TYPE_CHECKING:
    from ..events import EventRegistry

__all__ = ["LazyStoredEvent", "RowReader", "stored_page"]

_EVENT = StoredEvent.__dict__["event"]  # the dataclass's slot, shadowed by the property below


class RowReader:
    """Where a backend's row keeps what a :class:`StoredEvent` exposes.

    The three indices name the columns read as they are (``global_position``,
    ``stream_position``, ``event_type``); a backend overrides the methods whose columns need
    converting (its stored_at encoding, ids stored as text) and :meth:`decode`.
    """

    __slots__ = ("event_type", "global_position", "stream_position")

    def __init__(self, global_position: int, stream_position: int, event_type: int) -> None:
        self.global_position = global_position
        self.stream_position = stream_position
        self.event_type = event_type

    def stream_id(self, row: Any) -> str:
        """The row's stream id."""
        raise NotImplementedError

    def stored_at(self, row: Any) -> datetime:
        """When the row was stored (timezone-aware, UTC)."""
        raise NotImplementedError

    def event_id(self, row: Any) -> UUID:
        """The row's event id."""
        raise NotImplementedError

    def aggregate_id(self, row: Any) -> UUID:
        """The row's aggregate id."""
        return UUID(self.stream_id(row).partition(":")[0])

    def aggregate_type(self, row: Any) -> str:
        """The row's aggregate type."""
        return self.stream_id(row).partition(":")[2]

    def decode(self, row: Any) -> DomainEvent:
        """The row's event; raises :class:`~eventsource.EventDecodeError` naming the row."""
        raise NotImplementedError

    def stored_event(self, row: Any) -> LazyStoredEvent:
        """A :class:`LazyStoredEvent` over ``row``."""
        stored = _new(LazyStoredEvent)
        _set_row(stored, row)
        _set_reader(stored, self)
        return stored


class _Decoded(RowReader):
    """The reader of a LazyStoredEvent built from values (``dataclasses.replace``)."""

    __slots__ = ()

    def stream_id(self, row: Any) -> str:
        return str(row[2])

    def stored_at(self, row: Any) -> datetime:
        stored: datetime = row[3]
        return stored

    def event_id(self, row: Any) -> UUID:
        event: DomainEvent = row[4]
        return event.event_id

    def aggregate_id(self, row: Any) -> UUID:
        event: DomainEvent = row[4]
        return event.aggregate_id

    def aggregate_type(self, row: Any) -> str:
        event: DomainEvent = row[4]
        return event.aggregate_type

    def decode(self, row: Any) -> DomainEvent:
        event: DomainEvent = row[4]
        return event


_DECODED = _Decoded(0, 1, 5)


class LazyStoredEvent(StoredEvent):
    """A :class:`StoredEvent` whose event is decoded on first access of :attr:`event`.

    Equal to (and hashing like) the eager :class:`StoredEvent` of the same row; comparing,
    hashing, ``repr`` and ``copy``/``pickle`` decode the event. The ids and types come from the
    row's columns, which the store wrote from the event (for an upcasted row, the store decodes
    it at once and yields a plain :class:`StoredEvent`).
    """

    __slots__ = ("_reader", "_row")
    _row: Any
    _reader: RowReader

    def __init__(
        self,
        event: DomainEvent,
        stream_id: str,
        stream_position: int,
        global_position: int,
        stored_at: datetime,
    ) -> None:
        _EVENT.__set__(self, event)
        row = (global_position, stream_position, stream_id, stored_at, event, event.event_type)
        _ROW.__set__(self, row)
        _READER.__set__(self, _DECODED)

    @property
    def event(self) -> DomainEvent:
        """The event, decoded from the row the first time it is read."""
        try:
            event: DomainEvent = _EVENT.__get__(self)
            return event
        except AttributeError:
            pass
        event = self._reader.decode(self._row)
        _EVENT.__set__(self, event)
        return event

    @property
    def global_position(self) -> int:
        """The event's global position."""
        position: int = self._row[self._reader.global_position]
        return position

    @property
    def stream_position(self) -> int:
        """The event's position (version) in its stream."""
        position: int = self._row[self._reader.stream_position]
        return position

    @property
    def stream_id(self) -> str:
        """The event's stream id."""
        return self._reader.stream_id(self._row)

    @property
    def stored_at(self) -> datetime:
        """When the event was stored."""
        return self._reader.stored_at(self._row)

    @property
    def event_type(self) -> str:
        """The event's type (the row's column)."""
        kind: str = self._row[self._reader.event_type]
        return kind

    @property
    def event_id(self) -> UUID:
        """The event's id (the row's column)."""
        try:
            return self._reader.event_id(self._row)
        except (ValueError, TypeError, AttributeError):  # not an id: written around the store
            return self.event.event_id

    @property
    def aggregate_id(self) -> UUID:
        """The event's aggregate id (the row's column)."""
        try:
            return self._reader.aggregate_id(self._row)
        except (ValueError, TypeError, AttributeError):  # not an id: written around the store
            return self.event.aggregate_id

    @property
    def aggregate_type(self) -> str:
        """The event's aggregate type (the row's column)."""
        return self._reader.aggregate_type(self._row)

    @property
    def is_decoded(self) -> bool:
        """Whether :attr:`event` has been decoded yet."""
        try:
            _EVENT.__get__(self)
        except AttributeError:
            return False
        return True

    def _fields(self) -> tuple[Any, ...]:
        return (
            self.event,
            self.stream_id,
            self.stream_position,
            self.global_position,
            self.stored_at,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StoredEvent):
            return NotImplemented
        theirs = (
            other._fields()
            if isinstance(other, LazyStoredEvent)
            else (
                other.event,
                other.stream_id,
                other.stream_position,
                other.global_position,
                other.stored_at,
            )
        )
        return self._fields() == theirs

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        try:
            event = repr(self.event)
        except Exception as exc:  # an undecodable row still has a repr
            event = f"<undecodable: {type(exc).__name__}>"
        return (
            f"StoredEvent(event={event}, stream_id={self.stream_id!r}, "
            f"stream_position={self.stream_position!r}, "
            f"global_position={self.global_position!r}, stored_at={self.stored_at!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (StoredEvent, self._fields())


_new = object.__new__
_ROW = LazyStoredEvent.__dict__["_row"]
_READER = LazyStoredEvent.__dict__["_reader"]
_set_row = _ROW.__set__  # bound once: a row object costs three C calls
_set_reader = _READER.__set__


def stored_page(
    rows: list[Any],
    reader: RowReader,
    registry: EventRegistry,
    *,
    lazy: bool,
    eager: Callable[[Any], StoredEvent],
    event_version: int,
) -> Iterable[StoredEvent]:
    """One page of a backend's rows as stored events, each built as it is taken (never a page
    ahead; a row dropped unread is never decoded).

    ``eager(row)`` decodes a row (raising :class:`~eventsource.EventDecodeError` naming it,
    after every event before it was taken). With ``lazy`` each row becomes a
    :class:`LazyStoredEvent` read through ``reader`` instead, except rows that go through
    upcasters (their type, at ``reader.event_type``, and version, at ``event_version``, say
    so): those decode at once, as upcasting may change what the lazy fields would report.
    """
    if not lazy:
        return map(eager, rows)
    kind = reader.event_type
    upcast = {k for k in {row[kind] for row in rows} if registry.has_upcasters(k)}
    if not upcast:
        return map(reader.stored_event, rows)
    return _mixed(rows, reader, registry, eager, upcast, event_version)


def _mixed(
    rows: list[Any],
    reader: RowReader,
    registry: EventRegistry,
    eager: Callable[[Any], StoredEvent],
    upcast: set[str],
    event_version: int,
) -> Iterator[StoredEvent]:
    kind = reader.event_type
    needs_upcast = registry.needs_upcast
    for row in rows:
        if row[kind] in upcast and needs_upcast(row[kind], row[event_version]):
            yield eager(row)
        else:
            yield reader.stored_event(row)
