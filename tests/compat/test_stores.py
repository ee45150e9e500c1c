"""eventsource-py 0.5.0's event store API (reference section 2) on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from eventsource import (
    AppendResult,
    Backend,
    EventStream,
    ExpectedVersion,
    InvalidArgumentError,
    OptimisticLockError,
    ReadDirection,
    ReadOptions,
    StoredEvent,
)
from eventsource.stores import DefaultTypeConverter, EventPublisher  # type: ignore[attr-defined]
from eventsource.sync import SyncEventStoreAdapter

from ._model import CpOrderNoted, CpOrderPlaced, CpOrderShipped

T = "CpOrder"


async def _two(backend: Backend) -> tuple[object, list[object]]:
    aid = uuid4()
    events = [CpOrderPlaced(aggregate_id=aid, customer="ann"), CpOrderShipped(aggregate_id=aid)]
    await backend.events.append_events(aid, T, events, ExpectedVersion.NO_STREAM)
    return aid, events


def test_value_types_keep_their_050_shapes() -> None:
    assert (ExpectedVersion.ANY, ExpectedVersion.NO_STREAM, ExpectedVersion.STREAM_EXISTS) == (
        -1,
        0,
        -2,
    )
    assert ReadDirection("forward") is ReadDirection.FORWARD
    ok = AppendResult.successful(3, 7)
    assert (ok.success, ok.new_version, ok.global_position, ok.conflict) == (True, 3, 7, False)
    assert AppendResult.successful(2).global_position == 0
    bad = AppendResult.conflicted(5)
    assert (bad.success, bad.new_version, bad.global_position, bad.conflict) == (False, 5, 0, True)
    assert AppendResult(True, 1).global_position == 0
    aid = uuid4()
    assert EventStream(aid, T, None, 0).events == []  # type: ignore[arg-type]
    empty = EventStream.empty(aid, T)
    assert (empty.events, empty.version, empty.is_empty, empty.latest_event) == ([], 0, True, None)
    event = CpOrderShipped(aggregate_id=aid)
    assert EventStream(aid, T, [event], 1).latest_event is event
    stored = StoredEvent(event, f"{aid}:{T}", 1, 9, datetime.now(UTC))
    assert (stored.aggregate_id, stored.aggregate_type, stored.event_id) == (aid, T, event.event_id)
    assert str(stored) == "StoredEvent(CpOrderShipped, stream_pos=1, global_pos=9)"
    options = ReadOptions()
    assert (options.direction, options.limit, options.tenant_id) == (
        ReadDirection.FORWARD,
        None,
        None,
    )


def test_read_options_from_position_minus_one_is_from_the_end() -> None:
    """Deviation: 0.5.0 defaulted from_position to 0 and gave -1 no meaning; ours defaults to
    None (the start forward, the end backward) and takes -1 ("from the end") as None."""
    assert ReadOptions().from_position is None
    assert ReadOptions(from_position=-1).from_position is None
    assert ReadOptions(from_position=0).from_position == 0
    with pytest.raises(ValueError):
        ReadOptions(from_position=-2)
    with pytest.raises(InvalidArgumentError):
        ReadOptions(limit=-1)


async def test_append_and_reads(backend: Backend) -> None:
    store = backend.events
    aid, events = await _two(backend)
    result = await store.append_events(
        aggregate_id=aid,
        aggregate_type=T,
        events=[CpOrderNoted(aggregate_id=aid)],
        expected_version=2,
    )
    assert (result.success, result.new_version, result.conflict) == (True, 3, False)
    assert result.global_position == await store.get_global_position()
    stream = await store.get_events(aid, T)
    assert (stream.aggregate_id, stream.aggregate_type, stream.version) == (aid, T, 3)
    assert [e.event_type for e in stream.events] == [
        "CpOrderPlaced",
        "CpOrderShipped",
        "CpOrderNoted",
    ]
    assert stream.latest_event == stream.events[-1]
    later = await store.get_events(aid, T, from_version=1)
    assert [e.event_type for e in later.events] == ["CpOrderShipped", "CpOrderNoted"]
    assert await store.get_stream_version(aid, T) == 3
    assert await store.event_exists(events[0].event_id)
    assert not await store.event_exists(uuid4())
    by_type = await store.get_events_by_type(T)
    assert [e.aggregate_id for e in by_type] == [aid] * 3
    forward = [s async for s in store.read_stream(f"{aid}:{T}")]
    assert [s.stream_position for s in forward] == [1, 2, 3]
    assert all(s.aggregate_id == aid and s.stream_id == f"{aid}:{T}" for s in forward)
    back = [s async for s in store.read_all(ReadOptions(direction=ReadDirection.BACKWARD, limit=2))]
    assert [s.stream_position for s in back] == [3, 2]
    with pytest.raises(OptimisticLockError) as caught:
        await store.append_events(aid, T, [CpOrderNoted(aggregate_id=aid)], 1)
    assert (caught.value.aggregate_id, caught.value.expected_version) == (aid, 1)
    assert caught.value.actual_version == 3
    new = uuid4()
    with pytest.raises(OptimisticLockError):  # STREAM_EXISTS on a new stream
        await store.append_events(new, T, [CpOrderNoted(aggregate_id=new)], -2)


async def test_empty_append_succeeds_and_writes_nothing(backend: Backend) -> None:
    """Deviation: 0.5.0 returned new_version == expected_version (even -1); ours returns the
    stream's current version."""
    aid, _ = await _two(backend)
    position = await backend.events.get_global_position()
    result = await backend.events.append_events(
        aid, T, events=[], expected_version=ExpectedVersion.ANY
    )
    assert (result.success, result.new_version, result.global_position) == (True, 2, 0)
    assert await backend.events.get_global_position() == position


async def test_read_stream_of_a_plain_uuid(backend: Backend) -> None:
    """Deviation: 0.5.0 echoed the plain id as stream_id; ours gives the full stream id."""
    aid, events = await _two(backend)
    read = [s async for s in backend.events.read_stream(str(aid))]
    assert [s.event_id for s in read] == [e.event_id for e in events]  # type: ignore[attr-defined]
    assert read[0].stream_id == f"{aid}:{T}"
    assert [s async for s in backend.events.read_stream(str(uuid4()))] == []
    back = [
        s
        async for s in backend.events.read_stream(
            str(aid), ReadOptions(direction=ReadDirection.BACKWARD)
        )
    ]
    assert [s.stream_position for s in back] == [2, 1]


async def test_backward_reads_page(backend: Backend) -> None:
    """Deviation (a 0.5.0 bug we fix): a backward read resumes before a position."""
    await _two(backend)
    everything = [s async for s in backend.events.read_all()]
    options = ReadOptions(
        direction=ReadDirection.BACKWARD, from_position=everything[-1].global_position
    )
    page = [s.global_position async for s in backend.events.read_all(options)]
    assert page == [everything[0].global_position]


async def test_retry_of_a_stored_event_is_exact_only(backend: Backend) -> None:
    """Deviation: 0.5.0 skipped any stored event id; ours returns the original result for an
    exact retry and refuses the id elsewhere (docs/appends.md)."""
    from eventsource import DuplicateEventError

    aid = uuid4()
    placed = CpOrderPlaced(aggregate_id=aid, customer="ann")
    first = await backend.events.append_events(aid, T, [placed], 0)
    again = await backend.events.append_events(aid, T, [placed], 0)
    assert again.new_version == first.new_version == 1
    with pytest.raises(DuplicateEventError):
        await backend.events.append_events(aid, T, [CpOrderShipped(aggregate_id=aid), placed], 1)


async def test_any_appends_race_without_failing(backend: Backend) -> None:
    """Deviation (a 0.5.0 bug we fix): concurrent ExpectedVersion.ANY appends all succeed."""
    aid = uuid4()
    results = await asyncio.gather(
        *(
            backend.events.append_events(aid, T, [CpOrderNoted(aggregate_id=aid, note=str(i))], -1)
            for i in range(8)
        )
    )
    assert sorted(r.new_version for r in results) == list(range(1, 9))


async def test_sync_adapter(backend: Backend) -> None:
    store = backend.events
    adapter = SyncEventStoreAdapter(store, timeout=10.0, loop=asyncio.get_running_loop())
    assert adapter.wrapped_store is store and adapter.timeout == 10.0
    aid = uuid4()

    def work() -> tuple[object, ...]:
        appended = adapter.append_events_sync(
            aid, T, [CpOrderPlaced(aggregate_id=aid, customer="b")], 0
        )
        return (
            appended.new_version,
            adapter.get_events_sync(aid, T).version,
            len(adapter.get_events_by_type_sync(T)),
            adapter.get_stream_version_sync(aid, T),
            adapter.event_exists_sync(uuid4()),
            len(adapter.read_all_sync()),
            adapter.get_global_position_sync() > 0,
        )

    assert await asyncio.to_thread(work) == (1, 1, 1, 1, False, 1, True)
    from eventsource import InvalidStateError

    with pytest.raises(InvalidStateError):
        adapter.get_global_position_sync()  # from the loop's own thread: it would deadlock


def test_sync_adapter_on_its_own_loop() -> None:
    from eventsource import InMemoryEventStore

    adapter = SyncEventStoreAdapter(InMemoryEventStore())
    aid = uuid4()
    assert (
        adapter.append_events_sync(aid, T, [CpOrderShipped(aggregate_id=aid)], 0).new_version == 1
    )
    assert [e.event_type for e in adapter.get_events_sync(aid).events] == ["CpOrderShipped"]
    SyncEventStoreAdapter.shutdown_executor()
    assert adapter.get_stream_version_sync(aid, T) == 1  # a new loop, the same store
    SyncEventStoreAdapter.shutdown_executor()


async def test_memory_test_helpers() -> None:
    from eventsource import InMemoryEventStore

    store = InMemoryEventStore()
    a, b = uuid4(), uuid4()
    early = datetime.now(UTC) - timedelta(hours=1)
    await store.append_events(a, T, [CpOrderShipped(aggregate_id=a)], 0)
    await store.append_events(b, T, [CpOrderShipped(aggregate_id=b, occurred_at=early)], 0)
    assert await store.get_event_count() == 2
    assert await store.get_aggregate_ids() == [a, b]
    assert [e.aggregate_id for e in await store.get_all_events()] == [b, a]
    await store.clear()
    assert (await store.get_event_count(), await store.get_global_position()) == (0, 0)
    result = await store.append_events(a, T, [CpOrderShipped(aggregate_id=a)], 0)
    assert result.global_position == 1


async def test_sqlite_store_properties(tmp_path: object) -> None:
    from eventsource.stores.sqlite import SQLiteEventStore

    store = SQLiteEventStore(":memory:", wal_mode=False, busy_timeout=100)
    assert (store.is_connected, store.database, store.wal_mode, store.busy_timeout) == (
        False,
        ":memory:",
        False,
        100,
    )
    async with store:
        await store.initialize()
        assert store.is_connected
    assert not store.is_connected
    # 0.5.0's type-conversion and tracing options are accepted (and unused)
    converted = SQLiteEventStore(
        ":memory:", tracer=None, type_converter=DefaultTypeConverter(), auto_detect_uuid=False
    )
    strict = SQLiteEventStore.with_strict_uuid_detection(":memory:", {"order_id"}, wal_mode=False)
    assert (converted.database, strict.wal_mode) == (":memory:", False)


async def test_sqlite_initialize_connects_first(tmp_path: Path) -> None:
    """0.5.0's ``initialize()`` connected a store that was not connected yet: code that calls
    it without ``async with`` or ``connect()`` opens the file, creates the schema and appends."""
    from eventsource.stores.sqlite import SQLiteEventStore

    store = SQLiteEventStore(str(tmp_path / "events.db"))
    assert not store.is_connected
    await store.initialize()
    try:
        assert store.is_connected
        aid, _ = await _two(_StoreOnly(store))
        assert (await store.get_events(aid, T)).version == 2
    finally:
        await store.close()


class _StoreOnly:
    """What ``_two`` needs of a backend: its event store."""

    def __init__(self, store: object) -> None:
        self.events = store


def test_publisher_protocol_and_type_converter() -> None:
    class Collect:
        async def publish(self, events: list[object]) -> None:
            pass

    assert isinstance(Collect(), EventPublisher)
    aid = uuid4()
    converted = DefaultTypeConverter().convert_types(
        {
            "aggregate_id": str(aid),
            "actor_id": "u-1",
            "occurred_at": "2026-01-02T03:04:05Z",
            "items": [{"user_id": "nope"}],
        }
    )
    assert converted["aggregate_id"] == aid and converted["actor_id"] == "u-1"
    assert converted["occurred_at"] == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert converted["items"] == [{"user_id": "nope"}]
    strict = DefaultTypeConverter.strict({"order_id"})
    assert strict.is_uuid_field("order_id") and not strict.is_uuid_field("aggregate_id")
