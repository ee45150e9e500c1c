"""Conformance with an undecodable (poison) row in the log: readers deliver every event before
it and then raise :class:`EventDecodeError` naming it; a reader resuming after it goes on; a
projection parks it in the DLQ or stops at it.

A store cannot be made to write such a row through its API (appends are checked), so these
tests need the optional ``raw_event_writer`` fixture: a function that writes a
:class:`RawEventRow` straight into the backend's log with plain SQL (or whatever the backend's
storage speaks). Without it they are skipped, with a reason saying how to provide it.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from .._exceptions import EventDecodeError, SerializationError, UnknownEventTypeError
from ..events import EventRegistry
from ..runtime import (
    DLQReplayer,
    FailureMode,
    Projection,
    ProjectionRunner,
    ProjectionStoppedError,
    RetryPolicy,
    UndecodableEvent,
    handles,
    projection,
)
from ..stores._types import ReadDirection, ReadOptions, StoredEvent, stream_id_for
from ..values import MAX_IDENTIFIER_LENGTH, check_identifier
from ._base import ConformanceBase
from ._events import (
    AGGREGATE_TYPE,
    KitItemNoted,
    KitItemNotedLenient,
    KitUnregisteredEvent,
    noted,
)
from ._roles import RoleBackend

__all__ = ["RawEventRow", "RawEventWriter", "UndecodableEventConformance"]


@dataclass(frozen=True, slots=True)
class RawEventRow:
    """One event row as the log holds it, written as given: no check, no encoding.

    ``payload`` is the stored text, kept verbatim; the other fields are the row's columns.
    """

    aggregate_id: UUID
    aggregate_type: str
    aggregate_version: int
    event_type: str
    event_version: int
    payload: str
    event_id: UUID = field(default_factory=uuid4)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    tenant_id: UUID | None = None


#: Writes a :class:`RawEventRow` into an open backend's log, committed and readable at once,
#: and returns the global position it got (the next one, as an append would).
RawEventWriter = Callable[[RoleBackend, RawEventRow], Awaitable[int]]

_HOW = (
    "needs the 'raw_event_writer' fixture: return an async function (backend, RawEventRow) -> "
    "global position that inserts the row into the backend's event log directly (plain SQL "
    "on the store's connection), bypassing append_events; see docs/writing-a-backend.md"
)


def _row(aggregate_id: UUID, event_type: str, **fields: Any) -> RawEventRow:
    """A row at version 3 of the kit's stream: a KitItemNoted document with ``fields``
    overriding the event's, stored as ``event_type``."""
    event = KitItemNoted(
        aggregate_id=aggregate_id, aggregate_type=AGGREGATE_TYPE, aggregate_version=3
    )
    payload = json.dumps({**event.model_dump(mode="json"), "event_type": event_type, **fields})
    return RawEventRow(
        aggregate_id, AGGREGATE_TYPE, 3, event_type, 1, payload, event_id=event.event_id
    )


@dataclass
class _Log:
    """The log these tests build: stream A with events at versions 1, 2, the poison row at 3
    and a good event at 4; two good events of stream B between the poison and A's 4."""

    aggregate_id: UUID
    row: RawEventRow
    position: int
    total: int

    @property
    def stream_id(self) -> str:
        return stream_id_for(self.aggregate_id, AGGREGATE_TYPE)


class _Notes(Projection):
    """Records the notes it is given."""

    name = "kit.UndecodableNotes"

    def __init__(self) -> None:
        self.seen: list[tuple[str | None, UUID]] = []

    @handles(KitItemNoted)
    async def on_note(self, event: Any) -> None:
        self.seen.append((getattr(event, "note", None), event.event_id))


def _runner(projection: Any, backend: RoleBackend, **options: Any) -> ProjectionRunner:
    """A runner over the roles under test (store, checkpoints, DLQ)."""
    return ProjectionRunner(
        projection,
        store=backend.events,
        checkpoints=backend.checkpoints,
        dlq=backend.dlq,
        **options,
    )


class UndecodableEventConformance(ConformanceBase):
    """A row in the log that cannot be decoded: readers stop exactly there and say where."""

    @pytest.fixture
    def raw_event_writer(self) -> RawEventWriter:
        """Override in your subclass (optional): see :data:`RawEventWriter`."""
        pytest.skip(f"{type(self).__qualname__} {_HOW}")

    async def _build(
        self, backend: RoleBackend, writer: RawEventWriter, row_for: Callable[[UUID], RawEventRow]
    ) -> _Log:
        store = backend.events
        aid, other = uuid4(), uuid4()
        await store.append_events(aid, AGGREGATE_TYPE, noted(aid, 2), 0)
        row = row_for(aid)
        position = await writer(backend, row)
        assert position == 3, f"raw_event_writer gave global position {position}, expected 3"
        await store.append_events(other, AGGREGATE_TYPE, noted(other, 2, prefix="b"), 0)
        # the stream's version counts the undecodable row: the next append is at version 4
        await store.append_events(aid, AGGREGATE_TYPE, noted(aid, 1, prefix="c"), 3)
        return _Log(aid, row, position, 6)

    def _invalid_row(self, aid: UUID) -> RawEventRow:
        """A KitItemNoted whose stored ``note`` is null: valid JSON its class refuses."""
        return _row(aid, "KitItemNoted", note=None)

    def _unknown_row(self, aid: UUID) -> RawEventRow:
        """A row of a type no class is registered for."""
        return _row(aid, KitUnregisteredEvent.default_event_type())

    def _check_error(self, error: EventDecodeError, log: _Log, cause: type[Exception]) -> None:
        row = log.row
        assert error.global_position == log.position
        assert error.stream_id == log.stream_id
        assert error.stream_position == row.aggregate_version
        assert str(error.event_id) == str(row.event_id), "event_id must be the row's column"
        assert (error.event_type, error.event_version) == (row.event_type, row.event_version)
        assert error.raw_payload == row.payload, (
            f"raw_payload {error.raw_payload[:200]!r} is not the stored text, unchanged"
        )
        assert isinstance(error.__cause__, cause), f"__cause__ is {error.__cause__!r}"

    async def _read_until_error(
        self, reader: Any
    ) -> tuple[list[StoredEvent], EventDecodeError | None]:
        got: list[StoredEvent] = []
        async with contextlib.aclosing(reader) as events:
            try:
                async for stored in events:
                    got.append(stored)
            except EventDecodeError as exc:
                return got, exc
        return got, None

    async def test_read_all_stops_at_an_undecodable_event(
        self, backend: RoleBackend, raw_event_writer: RawEventWriter
    ) -> None:
        """read_all yields every event before a row that cannot be decoded, then raises
        EventDecodeError naming its global position, stream, stream position, event id, type and
        version (from the row's columns), with the stored text as ``raw_payload`` and the
        decoding error as ``__cause__``; backward likewise; a filter on other event types never
        meets it. Checked with several page sizes.

        Fix: decode each row with ``eventsource.spi.decode_stored_event`` as it is yielded,
        never a whole page before the first event; filter by event type on the row's column;
        store payloads as the text given (see ValueDomainConformance).
        """
        log = await self._build(backend, raw_event_writer, self._invalid_row)
        store = backend.events
        for size in (store.page_size, 2, 3):
            store.page_size = size
            got, error = await self._read_until_error(store.read_all())
            assert [s.global_position for s in got] == [1, 2], f"page_size {size}"
            assert error is not None, f"page_size {size}: read_all did not raise at the row"
            self._check_error(error, log, SerializationError)
            backward = ReadOptions(direction=ReadDirection.BACKWARD)
            got, error = await self._read_until_error(store.read_all(backward))
            assert [s.global_position for s in got] == [6, 5, 4], f"page_size {size}"
            assert error is not None and error.global_position == log.position
        others = [s async for s in store.read_all(ReadOptions(event_types=("KitItemCreated",)))]
        assert others == []

    async def test_reader_resumes_after_an_undecodable_event(
        self, backend: RoleBackend, raw_event_writer: RawEventWriter
    ) -> None:
        """A reader resuming from the undecodable row's position reads everything after it;
        read_stream stops at the row like read_all (naming the same row) and resumes after
        its stream position.

        Fix: ``from_position`` is exclusive: the row itself must not be read again.
        """
        log = await self._build(backend, raw_event_writer, self._invalid_row)
        store = backend.events
        after = [s async for s in store.read_all(ReadOptions(from_position=log.position))]
        assert [s.global_position for s in after] == [4, 5, 6]
        got, error = await self._read_until_error(store.read_stream(log.stream_id))
        assert [s.stream_position for s in got] == [1, 2]
        assert error is not None, "read_stream did not raise at the row"
        self._check_error(error, log, SerializationError)
        rest = [s async for s in store.read_stream(log.stream_id, ReadOptions(from_position=3))]
        assert [(s.stream_position, s.global_position) for s in rest] == [(4, 6)]

    async def test_get_events_raises_at_an_undecodable_event(
        self, backend: RoleBackend, raw_event_writer: RawEventWriter
    ) -> None:
        """get_events and get_events_by_type raise EventDecodeError naming a row of an event
        type no class is registered for (``__cause__`` an UnknownEventTypeError);
        get_events from past its version succeeds; the row counts in the stream's version,
        the global position and event_exists.

        Fix: decode with ``decode_stored_event`` on these paths too, passing the row's columns.
        """
        log = await self._build(backend, raw_event_writer, self._unknown_row)
        store = backend.events
        with pytest.raises(EventDecodeError) as caught:
            await store.get_events(log.aggregate_id, AGGREGATE_TYPE)
        self._check_error(caught.value, log, UnknownEventTypeError)
        with pytest.raises(EventDecodeError) as caught:
            await store.get_events_by_type(AGGREGATE_TYPE)
        self._check_error(caught.value, log, UnknownEventTypeError)
        tail = await store.get_events(log.aggregate_id, AGGREGATE_TYPE, from_version=3)
        assert [e.aggregate_version for e in tail.events] == [4] and tail.version == 4
        assert await store.get_stream_version(log.aggregate_id, AGGREGATE_TYPE) == 4
        assert await store.get_global_position() == log.total
        assert await store.event_exists(log.row.event_id)

    async def test_projection_parks_an_undecodable_event(
        self, backend: RoleBackend, raw_event_writer: RawEventWriter
    ) -> None:
        """A projection with FailureMode.SKIP parks the undecodable event in the DLQ (an
        UndecodableEvent wrapper holding the stored text) and goes on to the end; its checkpoint
        passes it. Replay is refused while it still cannot be decoded (entry failed again, one
        more retry) and applies it once a class that decodes it is registered.

        Fix: the DLQ must store the wrapper's ``event_data`` as given (a dict holding strings
        and ints) and key the entry by the row's event id.
        """
        log = await self._build(backend, raw_event_writer, self._invalid_row)
        notes = _Notes()
        runner = _runner(notes, backend, retry=RetryPolicy.no_retry())
        assert await runner.catch_up() == 5
        assert [n for n, _ in notes.seen] == ["n0", "n1", "b0", "b1", "c0"]
        assert await backend.checkpoints.get_position(notes.name) == log.total
        [entry] = await backend.dlq.get_failed_events(notes.name)
        assert entry.event_id == log.row.event_id
        assert entry.error_type == "EventDecodeError"
        parked = UndecodableEvent.from_event_data(entry.event_data)
        assert parked is not None, f"event_data {entry.event_data!r} is not the wrapper"
        assert parked.raw_payload == log.row.payload
        assert (parked.global_position, parked.stream_id) == (log.position, log.stream_id)

        failed = await runner.replay(entry.id)
        assert not failed.ok and isinstance(failed.error, EventDecodeError)
        again = await backend.dlq.get_failed_event_by_id(entry.id)
        assert again is not None and again.retry_count == entry.retry_count + 1
        assert notes.seen[-1][0] == "c0"

        fixed = EventRegistry([KitItemNotedLenient])  # the class, fixed: a null note is fine
        result = await DLQReplayer(backend.dlq, backend.events, fixed).replay(notes, entry.id)
        assert result.ok, f"replay after the fix failed: {result.error!r}"
        assert notes.seen[-1] == (None, log.row.event_id)
        assert await backend.dlq.get_failed_events(notes.name) == []

    async def test_projection_stops_at_an_undecodable_event(
        self, backend: RoleBackend, raw_event_writer: RawEventWriter
    ) -> None:
        """A projection with FailureMode.STOP stops with ProjectionStoppedError at the
        undecodable event (its cause the EventDecodeError), its checkpoint on the event before;
        nothing is parked.

        Fix: the reader must raise EventDecodeError (not another error) with the row's
        global position.
        """
        log = await self._build(backend, raw_event_writer, self._invalid_row)
        notes = _Notes()
        stop = RetryPolicy(max_attempts=3, on_failure=FailureMode.STOP)
        runner = _runner(notes, backend, retry=stop)
        with pytest.raises(ProjectionStoppedError) as caught:
            await runner.catch_up()
        assert caught.value.global_position == log.position
        assert isinstance(caught.value.__cause__, EventDecodeError)
        assert [n for n, _ in notes.seen] == ["n0", "n1"]
        assert await backend.checkpoints.get_position(notes.name) == log.position - 1
        assert await backend.dlq.get_failed_events(notes.name) == []

    async def test_projection_parks_a_row_whose_type_is_no_identifier(
        self, backend: RoleBackend, raw_event_writer: RawEventWriter
    ) -> None:
        """A row whose stored event_type is no valid identifier (here over
        MAX_IDENTIFIER_LENGTH characters, as other writers can store) is parked all the same
        by a projection of every event type, which goes on to the end: the entry is filed
        under a stand-in type that is one (``UndecodableEvent.dlq_event_type``), the wrapper
        keeps the stored type; replaying it fails as undecodable and keeps it parked.

        Fix: name the row's type in EventDecodeError exactly as stored, whatever it is; the
        DLQ keeps refusing invalid event types (the runner files the stand-in).
        """
        long_type = "Kit" + "x" * (MAX_IDENTIFIER_LENGTH + 50)
        log = await self._build(backend, raw_event_writer, lambda aid: _row(aid, long_type))
        seen: list[UUID] = []

        async def handler(event: Any) -> None:
            seen.append(event.event_id)

        every = projection("kit.EveryEvent", handler)  # no event_types: it meets every row
        runner = _runner(every, backend, retry=RetryPolicy.no_retry())
        assert await runner.catch_up() == log.total - 1
        assert log.row.event_id not in seen
        assert await backend.checkpoints.get_position(every.name) == log.total
        [entry] = await backend.dlq.get_failed_events(every.name)
        parked = UndecodableEvent.from_event_data(entry.event_data)
        assert parked is not None, f"event_data {entry.event_data!r:.200} is not the wrapper"
        assert parked.event_type == long_type, "the wrapper lost the stored event type"
        assert entry.event_id == log.row.event_id
        assert entry.event_type == parked.dlq_event_type != long_type
        assert check_identifier(entry.event_type, "event_type") == entry.event_type

        failed = await runner.replay(entry.id)
        assert not failed.ok and isinstance(failed.error, EventDecodeError)
        again = await backend.dlq.get_failed_event_by_id(entry.id)
        assert again is not None and again.retry_count == entry.retry_count + 1
        assert again.event_type == entry.event_type
