"""Conformance of the event store: appends, versions, reads, filters, paging, round trips."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest

from .._exceptions import DuplicateEventError, OptimisticLockError
from ..stores._types import (
    AppendResult,
    ExpectedVersion,
    ReadDirection,
    ReadOptions,
    stream_id_for,
)
from ._base import ConformanceBase, ids, read_all_list, read_stream_list
from ._events import (
    AGGREGATE_TYPE,
    OTHER_AGGREGATE_TYPE,
    KitItemCreated,
    KitItemRenamed,
    noted,
    rich_event,
)
from ._roles import RoleBackend, RoleOpener

__all__ = ["EventStoreConformance"]

BACKWARD = ReadDirection.BACKWARD
T0 = datetime(2023, 6, 1, 12, 0, 0, tzinfo=UTC)


class EventStoreConformance(ConformanceBase):
    """Appending with optimistic concurrency, and every way of reading events back."""

    async def test_append_to_new_stream(self, backend: RoleBackend) -> None:
        """A first append with expected version 0 stores the events at versions 1..n.

        Fix: a new stream has version 0; stamp each event's ``aggregate_version`` with its
        stream position (use ``restamp``) and return the new version.
        """
        aid = uuid4()
        events = noted(aid, 3)
        result = await backend.events.append_events(aid, AGGREGATE_TYPE, events, 0)
        assert result.success is True
        assert result.new_version == 3
        assert result.events_written == 3
        stream = await backend.events.get_events(aid, AGGREGATE_TYPE)
        assert ids(stream.events) == ids(events)
        assert [e.aggregate_version for e in stream.events] == [1, 2, 3]
        assert stream.version == 3
        assert stream.aggregate_id == aid
        assert stream.aggregate_type == AGGREGATE_TYPE
        assert await backend.events.get_stream_version(aid, AGGREGATE_TYPE) == 3

    async def test_append_with_exact_expected_version(self, backend: RoleBackend) -> None:
        """Appending at the current version succeeds; a stale or future version raises
        OptimisticLockError carrying expected and actual versions, and writes nothing.

        Fix: compare the stream's version with ``check_stream_version`` inside the same
        transaction (or lock) that writes the events.
        """
        store = backend.events
        aid = uuid4()
        await store.append_events(aid, AGGREGATE_TYPE, noted(aid, 2), 0)
        result = await store.append_events(aid, AGGREGATE_TYPE, noted(aid, 1, prefix="b"), 2)
        assert result.new_version == 3
        position = await store.get_global_position()
        for stale in (0, 1, 2, 4, 10):
            with pytest.raises(OptimisticLockError) as info:
                await store.append_events(aid, AGGREGATE_TYPE, noted(aid, 1, prefix="x"), stale)
            assert info.value.expected_version == stale
            assert info.value.actual_version == 3
        assert await store.get_stream_version(aid, AGGREGATE_TYPE) == 3
        assert await store.get_global_position() == position

    async def test_expected_version_no_stream(self, backend: RoleBackend) -> None:
        """ExpectedVersion.NO_STREAM succeeds only while the stream has no events.

        Fix: NO_STREAM is 0; it must fail with OptimisticLockError once the stream exists.
        """
        store = backend.events
        aid = uuid4()
        await store.append_events(aid, AGGREGATE_TYPE, noted(aid, 1), ExpectedVersion.NO_STREAM)
        with pytest.raises(OptimisticLockError):
            await store.append_events(
                aid, AGGREGATE_TYPE, noted(aid, 1, prefix="x"), ExpectedVersion.NO_STREAM
            )
        assert await store.get_stream_version(aid, AGGREGATE_TYPE) == 1

    async def test_expected_version_stream_exists(self, backend: RoleBackend) -> None:
        """ExpectedVersion.STREAM_EXISTS fails on a new stream and succeeds on an existing one.

        Fix: STREAM_EXISTS (-2) requires a current version > 0.
        """
        store = backend.events
        aid = uuid4()
        with pytest.raises(OptimisticLockError):
            await store.append_events(
                aid, AGGREGATE_TYPE, noted(aid, 1), ExpectedVersion.STREAM_EXISTS
            )
        assert await store.get_stream_version(aid, AGGREGATE_TYPE) == 0
        assert await store.get_global_position() == 0
        await store.append_events(aid, AGGREGATE_TYPE, noted(aid, 1), 0)
        result = await store.append_events(
            aid, AGGREGATE_TYPE, noted(aid, 2, prefix="b"), ExpectedVersion.STREAM_EXISTS
        )
        assert result.new_version == 3

    async def test_expected_version_any(self, backend: RoleBackend) -> None:
        """ExpectedVersion.ANY appends at the end of the stream whatever its version.

        Fix: ANY (-1) skips the version check but still stamps the next stream positions.
        """
        store = backend.events
        aid = uuid4()
        first = await store.append_events(aid, AGGREGATE_TYPE, noted(aid, 2), ExpectedVersion.ANY)
        second = await store.append_events(
            aid, AGGREGATE_TYPE, noted(aid, 2, prefix="b"), ExpectedVersion.ANY
        )
        assert (first.new_version, second.new_version) == (2, 4)
        stream = await store.get_events(aid, AGGREGATE_TYPE)
        assert [e.aggregate_version for e in stream.events] == [1, 2, 3, 4]

    async def test_versions_are_stamped_with_stream_positions(self, backend: RoleBackend) -> None:
        """Whatever ``aggregate_version`` the caller set, the stored event's version is its
        stream position, everywhere it is read back.

        Fix: store ``restamp(prepared, current_version)`` events, not the caller's.
        """
        store = backend.events
        aid = uuid4()
        await store.append_events(aid, AGGREGATE_TYPE, noted(aid, 2), 0)
        odd = [e.model_copy(update={"aggregate_version": 42}) for e in noted(aid, 3, prefix="o")]
        await store.append_events(aid, AGGREGATE_TYPE, odd, 2)
        stream = await store.get_events(aid, AGGREGATE_TYPE)
        assert [e.aggregate_version for e in stream.events] == [1, 2, 3, 4, 5]
        stored = await read_stream_list(backend, stream_id_for(aid, AGGREGATE_TYPE))
        assert [s.stream_position for s in stored] == [1, 2, 3, 4, 5]
        assert all(s.event.aggregate_version == s.stream_position for s in stored)
        everything = await read_all_list(backend)
        assert all(s.event.aggregate_version == s.stream_position for s in everything)

    async def test_append_result_fields(self, backend: RoleBackend) -> None:
        """AppendResult reports success, the new version, the number of events written and the
        global position of the last event written.

        Fix: return the position the store assigned to the batch's last event.
        """
        store = backend.events
        aid = uuid4()
        results: list[AppendResult] = []
        for version, count in ((0, 2), (2, 3)):
            batch = noted(aid, count, prefix=f"v{version}-")
            results.append(await store.append_events(aid, AGGREGATE_TYPE, batch, version))
        everything = await read_all_list(backend)
        assert [r.new_version for r in results] == [2, 5]
        assert [r.events_written for r in results] == [2, 3]
        assert results[0].global_position == everything[1].global_position
        assert results[1].global_position == everything[4].global_position
        assert results[1].global_position > results[0].global_position
        assert await store.get_global_position() == results[1].global_position

    async def test_round_trip_preserves_every_field(self, backend: RoleBackend) -> None:
        """Every field of an event (ids, UTC datetimes with microseconds, metadata, nested
        payload, unicode) reads back equal from get_events, read_stream, read_all and
        get_events_by_type.

        Fix: store the JSON from ``prepare_append`` verbatim and decode it with
        ``store.event_registry.deserialize(payload, event_type, event_version)``.
        """
        store = backend.events
        aid = uuid4()
        event = rich_event(aid)
        await store.append_events(aid, AGGREGATE_TYPE, [event], 0)
        expected = event.with_position(1)
        (got,) = (await store.get_events(aid, AGGREGATE_TYPE)).events
        assert got == expected
        assert type(got) is type(event)
        assert got.occurred_at.utcoffset() == timedelta(0)
        (streamed,) = await read_stream_list(backend, stream_id_for(aid, AGGREGATE_TYPE))
        assert streamed.event == expected
        assert streamed.stream_id == stream_id_for(aid, AGGREGATE_TYPE)
        assert streamed.stored_at.tzinfo is not None
        (logged,) = await read_all_list(backend)
        assert logged.event == expected
        assert await store.get_events_by_type(AGGREGATE_TYPE) == [expected]

    async def test_non_utc_timestamps_come_back_as_utc(self, backend: RoleBackend) -> None:
        """An event created with a non-UTC ``occurred_at`` is stored and read back as the same
        instant, in UTC.

        Fix: store timestamps with their offset (or in UTC) and decode them as aware UTC.
        """
        aid = uuid4()
        local = datetime(2024, 1, 1, 9, 30, tzinfo=UTC) - timedelta(hours=5)
        plus5 = local.astimezone(timezone(timedelta(hours=5)))
        event = KitItemCreated(aggregate_id=aid, name="tz", occurred_at=plus5)
        await backend.events.append_events(aid, AGGREGATE_TYPE, [event], 0)
        (got,) = (await backend.events.get_events(aid, AGGREGATE_TYPE)).events
        assert got.occurred_at == local
        assert got.occurred_at.utcoffset() == timedelta(0)

    async def test_get_events_filters(self, backend: RoleBackend) -> None:
        """get_events filters by ``from_version`` (exclusive) and by an inclusive
        ``occurred_at`` window; ``version`` is the stream's version whatever the filters;
        ``aggregate_type=None`` finds the aggregate's events.

        Fix: filter on the event's ``occurred_at``, keep ``version`` = the stream's version.
        """
        store = backend.events
        aid = uuid4()
        events = [
            KitItemCreated(aggregate_id=aid, name=f"e{i}", occurred_at=T0 + timedelta(hours=i))
            for i in range(5)
        ]
        await store.append_events(aid, AGGREGATE_TYPE, events, 0)
        after2 = await store.get_events(aid, AGGREGATE_TYPE, from_version=2)
        assert ids(after2.events) == ids(events[2:])
        assert after2.version == 5
        window = await store.get_events(
            aid,
            AGGREGATE_TYPE,
            from_timestamp=T0 + timedelta(hours=1),
            to_timestamp=T0 + timedelta(hours=3),
        )
        assert ids(window.events) == ids(events[1:4])
        assert window.version == 5
        untyped = await store.get_events(aid)
        assert ids(untyped.events) == ids(events)
        assert untyped.aggregate_type == AGGREGATE_TYPE
        missing = await store.get_events(uuid4(), AGGREGATE_TYPE)
        assert missing.events == [] and missing.version == 0 and missing.is_empty
        other_type = await store.get_events(aid, OTHER_AGGREGATE_TYPE)
        assert other_type.events == [] and other_type.version == 0

    async def test_read_stream_options(self, backend: RoleBackend) -> None:
        """read_stream yields one stream in version order; ``from_position`` is an exclusive
        stream position forward and backward; ``limit`` caps the events; ``event_types``,
        ``tenant_id`` and an inclusive ``occurred_at`` window filter; other streams never appear.

        Fix: ``from_position`` forward means version > p, backward version < p.
        """
        store = backend.events
        aid, other = uuid4(), uuid4()
        tenant = uuid4()
        events = [
            (KitItemCreated if i % 2 == 0 else KitItemRenamed)(
                aggregate_id=aid,
                name=f"{i}",
                tenant_id=tenant if i < 3 else None,
                occurred_at=T0 + timedelta(minutes=i),
            )
            for i in range(6)
        ]
        await store.append_events(aid, AGGREGATE_TYPE, events, 0)
        await store.append_events(other, AGGREGATE_TYPE, noted(other, 2, tenant_id=tenant), 0)
        sid = stream_id_for(aid, AGGREGATE_TYPE)

        async def read(**kwargs: object) -> list[int]:
            stored = await read_stream_list(backend, sid, ReadOptions(**kwargs))  # type: ignore[arg-type]
            assert all(s.stream_id == sid for s in stored)
            return [s.stream_position for s in stored]

        assert await read() == [1, 2, 3, 4, 5, 6]
        assert await read(from_position=2) == [3, 4, 5, 6]
        assert await read(from_position=6) == []
        assert await read(limit=2) == [1, 2]
        assert await read(limit=0) == []
        assert await read(direction=BACKWARD) == [6, 5, 4, 3, 2, 1]
        assert await read(direction=BACKWARD, from_position=4) == [3, 2, 1]
        assert await read(direction=BACKWARD, from_position=4, limit=2) == [3, 2]
        assert await read(event_types=("KitItemRenamed",)) == [2, 4, 6]
        assert await read(event_types=("KitItemRenamed",), from_position=2, limit=1) == [4]
        assert await read(tenant_id=tenant) == [1, 2, 3]
        assert await read(tenant_id=tenant, direction=BACKWARD, limit=2) == [3, 2]
        window = {
            "from_timestamp": T0 + timedelta(minutes=1),
            "to_timestamp": T0 + timedelta(minutes=4),
        }
        assert await read(**window) == [2, 3, 4, 5]
        assert await read(event_types=("KitItemCreated",), **window) == [3, 5]
        assert await read_stream_list(backend, stream_id_for(uuid4(), AGGREGATE_TYPE)) == []

    async def test_read_all_global_order_and_positions(self, backend: RoleBackend) -> None:
        """read_all yields every event once, in strictly increasing global position, matching
        append order; positions agree with AppendResult and get_global_position.

        Fix: assign global positions in commit order and order read_all by them.
        """
        store = backend.events
        a, b = uuid4(), uuid4()
        order = []
        for aid, prefix in ((a, "a1"), (b, "b1"), (a, "a2"), (b, "b2")):
            batch = noted(aid, 2, prefix=prefix)
            version = await store.get_stream_version(aid, AGGREGATE_TYPE)
            await store.append_events(aid, AGGREGATE_TYPE, batch, version)
            order.extend(batch)
        everything = await read_all_list(backend)
        assert ids(everything) == ids(order)
        positions = [s.global_position for s in everything]
        assert positions == sorted(set(positions)) and positions[0] > 0
        assert await store.get_global_position() == positions[-1]
        assert [s.stream_position for s in everything] == [1, 2, 1, 2, 3, 4, 3, 4]

    async def test_read_all_options(self, backend: RoleBackend) -> None:
        """read_all honours exclusive ``from_position`` forward and backward, ``limit``,
        ``event_types``, ``tenant_id`` and an inclusive ``occurred_at`` window, together.

        Fix: apply filters before ``limit``; forward yields positions > p, backward < p.
        """
        store = backend.events
        tenant = uuid4()
        aid = uuid4()
        events = [
            (KitItemCreated if i % 3 == 0 else KitItemRenamed)(
                aggregate_id=aid,
                name=str(i),
                tenant_id=tenant if i % 2 == 0 else None,
                occurred_at=T0 + timedelta(minutes=i),
            )
            for i in range(9)
        ]
        await store.append_events(aid, AGGREGATE_TYPE, events, 0)
        everything = await read_all_list(backend)
        pos = [s.global_position for s in everything]

        async def read(**kwargs: object) -> list[int]:
            stored = await read_all_list(backend, ReadOptions(**kwargs))  # type: ignore[arg-type]
            return [pos.index(s.global_position) for s in stored]

        assert await read() == list(range(9))
        assert await read(from_position=pos[3]) == [4, 5, 6, 7, 8]
        assert await read(from_position=pos[8]) == []
        assert await read(from_position=0) == list(range(9))
        assert await read(limit=4) == [0, 1, 2, 3]
        assert await read(from_position=pos[2], limit=3) == [3, 4, 5]
        assert await read(direction=BACKWARD) == list(range(8, -1, -1))
        assert await read(direction=BACKWARD, from_position=pos[3]) == [2, 1, 0]
        assert await read(direction=BACKWARD, limit=2) == [8, 7]
        assert await read(event_types=("KitItemCreated",)) == [0, 3, 6]
        assert await read(event_types=("KitItemCreated",), from_position=pos[0]) == [3, 6]
        assert await read(tenant_id=tenant) == [0, 2, 4, 6, 8]
        assert await read(tenant_id=uuid4()) == []
        window = {
            "from_timestamp": T0 + timedelta(minutes=2),
            "to_timestamp": T0 + timedelta(minutes=5),
        }
        assert await read(**window) == [2, 3, 4, 5]
        assert await read(tenant_id=tenant, limit=2, **window) == [2, 4]
        assert await read(
            direction=BACKWARD, tenant_id=tenant, event_types=("KitItemCreated",)
        ) == [6, 0]

    async def test_reads_page_beyond_page_size(self, backend: RoleBackend) -> None:
        """With a small ``page_size`` on the store instance, read_all and read_stream still yield
        every event exactly once in order, forward and backward, with limits and resumes.

        Fix: page with a keyset cursor (position > last seen), not OFFSET, and honour the
        instance's ``page_size``.
        """
        store = backend.events
        store.page_size = 3
        aid, other = uuid4(), uuid4()
        events = noted(aid, 11)
        for chunk in range(0, 11, 4):
            await store.append_events(aid, AGGREGATE_TYPE, events[chunk : chunk + 4], chunk)
            await store.append_events(other, AGGREGATE_TYPE, noted(other, 1, prefix=f"{chunk}"), -1)
        everything = await read_all_list(backend)
        assert len(everything) == 14
        assert len({s.global_position for s in everything}) == 14
        backward = await read_all_list(backend, ReadOptions(direction=BACKWARD))
        assert ids(backward) == ids(everything)[::-1]
        middle = everything[4].global_position
        assert ids(await read_all_list(backend, ReadOptions(from_position=middle, limit=7))) == ids(
            everything[5:12]
        )
        tail = await read_all_list(backend, ReadOptions(event_types=("KitItemNoted",), limit=10))
        assert ids(tail) == ids(everything[:10])
        sid = stream_id_for(aid, AGGREGATE_TYPE)
        stream = await read_stream_list(backend, sid)
        assert ids(stream) == ids(events)
        back = await read_stream_list(
            backend, sid, ReadOptions(direction=BACKWARD, from_position=10)
        )
        assert [s.stream_position for s in back] == list(range(9, 0, -1))
        assert len((await backend.events.get_events(aid, AGGREGATE_TYPE)).events) == 11

    async def test_get_events_by_type(self, backend: RoleBackend) -> None:
        """get_events_by_type returns the events of every aggregate of that type in global
        order, filtered by tenant and by ``occurred_at >= from_timestamp``.

        Fix: select on aggregate type, order by global position.
        """
        store = backend.events
        tenant = uuid4()
        a, b, c = uuid4(), uuid4(), uuid4()
        early, late = T0, T0 + timedelta(days=1)
        ea = noted(a, 2, tenant_id=tenant, occurred_at=early)
        ec = noted(c, 1, aggregate_type=OTHER_AGGREGATE_TYPE, occurred_at=late)
        eb = noted(b, 2, occurred_at=late)
        await store.append_events(a, AGGREGATE_TYPE, ea, 0)
        await store.append_events(c, OTHER_AGGREGATE_TYPE, ec, 0)
        await store.append_events(b, AGGREGATE_TYPE, eb, 0)
        assert ids(await store.get_events_by_type(AGGREGATE_TYPE)) == ids(ea + eb)
        assert ids(await store.get_events_by_type(OTHER_AGGREGATE_TYPE)) == ids(ec)
        assert ids(await store.get_events_by_type(AGGREGATE_TYPE, tenant_id=tenant)) == ids(ea)
        assert ids(await store.get_events_by_type(AGGREGATE_TYPE, from_timestamp=late)) == ids(eb)
        assert await store.get_events_by_type("KitNoSuchType") == []

    async def test_event_exists_and_positions(self, backend: RoleBackend) -> None:
        """event_exists is True exactly for stored ids; get_stream_version and
        get_global_position are 0 on an empty store and follow appends.

        Fix: answer from committed data only.
        """
        store = backend.events
        aid = uuid4()
        assert await store.get_global_position() == 0
        assert await store.get_stream_version(aid, AGGREGATE_TYPE) == 0
        events = noted(aid, 2)
        assert not await store.event_exists(events[0].event_id)
        result = await store.append_events(aid, AGGREGATE_TYPE, events, 0)
        assert await store.event_exists(events[0].event_id)
        assert await store.event_exists(events[1].event_id)
        assert not await store.event_exists(uuid4())
        assert await store.get_global_position() == result.global_position
        assert await store.get_stream_version(aid, AGGREGATE_TYPE) == 2
        assert await store.get_stream_version(aid, OTHER_AGGREGATE_TYPE) == 0

    async def test_atomic_batch_with_stored_duplicate(self, backend: RoleBackend) -> None:
        """A batch whose LAST event has an id that is already stored raises
        DuplicateEventError and writes none of the batch (not even the events before it).

        Fix: write the batch in one transaction and roll it back on a unique-key violation,
        mapping the violation to DuplicateEventError.
        """
        store = backend.events
        a, b = uuid4(), uuid4()
        (first,) = noted(a, 1)
        await store.append_events(a, AGGREGATE_TYPE, [first], 0)
        position = await store.get_global_position()
        fresh = noted(b, 2)
        clash = first.model_copy(update={"aggregate_id": b})
        with pytest.raises(DuplicateEventError):
            await store.append_events(b, AGGREGATE_TYPE, [*fresh, clash], 0)
        assert await store.get_global_position() == position
        assert await store.get_stream_version(b, AGGREGATE_TYPE) == 0
        assert not await store.event_exists(fresh[0].event_id)
        assert ids(await read_all_list(backend)) == [first.event_id]
        # The store still works afterwards.
        result = await store.append_events(b, AGGREGATE_TYPE, fresh, 0)
        assert result.new_version == 2

    async def test_transactional_outbox(self, backend: RoleBackend) -> None:
        """append_events(outbox=True) creates one pending outbox entry per event; an append
        that fails (version conflict) with outbox=True creates none.

        Fix: insert the outbox rows in the events' transaction, after the version check.
        """
        self.require(backend, "transactional_outbox")
        store = backend.events
        aid = uuid4()
        events = noted(aid, 3)
        await store.append_events(aid, AGGREGATE_TYPE, events, 0, outbox=True)
        stats = await backend.outbox.get_stats()
        assert stats.pending_count == 3
        with pytest.raises(OptimisticLockError):
            await store.append_events(
                aid, AGGREGATE_TYPE, noted(aid, 2, prefix="x"), 0, outbox=True
            )
        (fresh,) = noted(aid, 1, prefix="d")
        with pytest.raises(DuplicateEventError):
            await store.append_events(aid, AGGREGATE_TYPE, [fresh, events[0]], 3, outbox=True)
        assert (await backend.outbox.get_stats()).pending_count == 3
        claimed = await backend.outbox.get_pending_events(limit=10)
        assert sorted(e.event_id for e in claimed) == sorted(ids(events))
        by_event = {e.event_id: e for e in claimed}
        for event in events:
            entry = by_event[event.event_id]
            assert entry.event_type == event.event_type
            assert entry.aggregate_id == aid
            assert entry.aggregate_type == AGGREGATE_TYPE
        await store.append_events(aid, AGGREGATE_TYPE, noted(aid, 1, prefix="plain"), 3)
        assert (await backend.outbox.get_stats()).pending_count == 3

    async def test_events_visible_to_other_connections(
        self, backend: RoleBackend, kit_opener: RoleOpener
    ) -> None:
        """Events committed on one connection are readable from another at once.

        Fix: commit before returning from append_events.
        """
        self.require(backend, "concurrent_connections")
        aid = uuid4()
        events = noted(aid, 2)
        async with kit_opener() as other:
            await other.events.append_events(aid, AGGREGATE_TYPE, events, 0)
        stream = await backend.events.get_events(aid, AGGREGATE_TYPE)
        assert ids(stream.events) == ids(events)
        assert await backend.events.get_stream_version(aid, AGGREGATE_TYPE) == 2

    async def test_events_survive_reopen(
        self, backend: RoleBackend, kit_opener: RoleOpener
    ) -> None:
        """After every connection is closed, a newly opened backend reads the same events.

        Fix: make sure writes are durable (committed, flushed) before append_events returns.
        """
        self.require(backend, "persistent")
        aid = uuid4()
        events = noted(aid, 3)
        await backend.events.append_events(aid, AGGREGATE_TYPE, events, 0)
        await backend.close()
        async with kit_opener() as reopened:
            stream = await reopened.events.get_events(aid, AGGREGATE_TYPE)
            assert ids(stream.events) == ids(events)

    async def test_wait_for_events(self, backend: RoleBackend, kit_opener: RoleOpener) -> None:
        """wait_for_events returns True once another connection appends past the given
        position (well within its timeout), and False after the timeout, not before, when
        nothing arrives.

        Fix: poll ``get_global_position`` (the default) or wake waiters on commit; never
        return True early or keep waiting after the timeout.
        """
        store = backend.events
        loop = asyncio.get_running_loop()
        start = loop.time()
        assert await store.wait_for_events(0, 0.3) is False
        waited = loop.time() - start
        # Only a lower bound: a loaded machine may take longer, never less.
        assert waited >= 0.25, f"timed out after {waited:.2f}s, before its 0.3s timeout"
        aid = uuid4()
        async with contextlib.AsyncExitStack() as stack:
            writer = await self.other_connection(stack, kit_opener, backend)
            waiter = asyncio.ensure_future(store.wait_for_events(0, 60.0))
            await asyncio.sleep(0.05)
            assert not waiter.done(), "wait_for_events returned before any event was written"
            await writer.events.append_events(aid, AGGREGATE_TYPE, noted(aid, 1), 0)
            woke = await asyncio.wait_for(waiter, 120.0)
            assert woke is True, "wait_for_events timed out although an event was appended"
        position = await store.get_global_position()
        assert await store.wait_for_events(position - 1, 0.01) is True
        assert await store.wait_for_events(position, 0.05) is False
