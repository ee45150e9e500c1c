"""Conformance of stream lifecycle: delete (soft, hard), restore, truncate, retention.

Each test skips unless the backend declares the ``stream_lifecycle`` capability. The rules
are in :mod:`eventsource.stores._lifecycle` and docs/lifecycle.md.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from .._exceptions import (
    AggregateNotFoundError,
    DuplicateEventError,
    InvalidArgumentError,
    StreamDeletedError,
)
from ..aggregates import AggregateRepository
from ..snapshots._contract import Snapshot
from ..stores._lifecycle import (
    LIFECYCLE_AGGREGATE_TYPE,
    RetentionPolicy,
    StreamDeleted,
    StreamTruncated,
)
from ..stores._types import ExpectedVersion, ReadOptions, stream_id_for
from ._base import (
    ConformanceBase,
    ids,
    race,
    raise_unexpected,
    read_all_list,
    read_stream_list,
)
from ._events import AGGREGATE_TYPE, OTHER_AGGREGATE_TYPE, noted
from ._roles import RoleBackend, RoleOpener
from ._snapshots import KitTally

__all__ = ["StreamLifecycleConformance"]

_T0 = datetime(2026, 1, 1, tzinfo=UTC)


class StreamLifecycleConformance(ConformanceBase):
    """``delete_stream`` / ``restore_stream`` / ``truncate_stream`` / ``scavenge``: reads and
    ``load`` honour them, positions are never reused, deletes are recorded, and a delete
    racing a save or a snapshot write never loses an acknowledged event silently."""

    async def _lifecycle(self, backend: RoleBackend, n: int = 3) -> UUID:
        self.require(backend, "stream_lifecycle")
        aid = uuid4()
        outbox = self.caps(backend).transactional_outbox
        await backend.events.append_events(aid, AGGREGATE_TYPE, noted(aid, n), 0, outbox=outbox)
        return aid

    async def _tombstones(self, backend: RoleBackend, aid: UUID) -> list[StreamDeleted]:
        return [
            s.event
            for s in await read_all_list(backend)
            if isinstance(s.event, StreamDeleted) and s.event.aggregate_id == aid
        ]

    async def _truncations(self, backend: RoleBackend, aid: UUID) -> list[tuple[int, Any]]:
        return [
            (s.global_position, s.event)
            for s in await read_all_list(backend)
            if isinstance(s.event, StreamTruncated) and s.event.aggregate_id == aid
        ]

    @pytest.mark.parametrize("hard", [False, True], ids=["soft", "hard"])
    async def test_deleted_stream_reads_as_missing(self, backend: RoleBackend, hard: bool) -> None:
        """After a delete the stream is gone from every read and ``load``; another stream is
        untouched. Fix: filter (or move away) the stream's rows in every read path."""
        aid = await self._lifecycle(backend)
        other = uuid4()
        await backend.events.append_events(other, AGGREGATE_TYPE, noted(other, 1), 0)
        store = backend.events
        before = [s.event.event_id for s in await read_all_list(backend)]
        assert await store.delete_stream(aid, AGGREGATE_TYPE, hard=hard) == 3
        stream = await store.get_events(aid, AGGREGATE_TYPE)
        assert stream.events == [] and stream.version == 0
        assert await store.get_stream_version(aid, AGGREGATE_TYPE) == 0
        assert await read_stream_list(backend, stream_id_for(aid, AGGREGATE_TYPE)) == []
        assert not await store.event_exists(before[0])
        logged = await read_all_list(backend)
        assert all(
            s.event.aggregate_id != aid or s.event.aggregate_type == LIFECYCLE_AGGREGATE_TYPE
            for s in logged
        )
        assert [e.event_id for e in await store.get_events_by_type(AGGREGATE_TYPE)] == [before[3]]
        with pytest.raises(AggregateNotFoundError):
            await AggregateRepository(store, KitTally, AGGREGATE_TYPE).load(aid)
        assert len((await store.get_events(other, AGGREGATE_TYPE)).events) == 1

    @pytest.mark.parametrize("hard", [False, True], ids=["soft", "hard"])
    async def test_delete_is_recorded_past_every_position(
        self, backend: RoleBackend, hard: bool
    ) -> None:
        """A delete appends one ``StreamDeleted`` (readable by ``read_all``) at a position past
        the removed events; new appends get higher positions still (none reused), and a
        reader resuming from a checkpoint inside the hole goes on to the tombstone. Fix:
        append the tombstone in the delete's transaction; never hand out a removed position."""
        aid = await self._lifecycle(backend)
        store = backend.events
        last = await store.get_global_position()
        await store.delete_stream(aid, AGGREGATE_TYPE, hard=hard)
        [stone] = await self._tombstones(backend, aid)
        assert stone.stream_type == AGGREGATE_TYPE and stone.hard is hard
        assert stone.last_version == 3
        resumed = await read_all_list(backend, ReadOptions(from_position=last - 2))
        assert [s.event.event_id for s in resumed] == [stone.event_id]
        assert resumed[0].global_position > last
        assert await store.get_global_position() == resumed[0].global_position
        assert await store.wait_for_events(last - 1, 0.5)
        new = uuid4()
        result = await store.append_events(new, AGGREGATE_TYPE, noted(new, 1), 0)
        assert result.global_position > resumed[0].global_position

    @pytest.mark.parametrize("hard", [False, True], ids=["soft", "hard"])
    async def test_outbox_and_snapshot_go_with_the_stream(
        self, backend: RoleBackend, hard: bool
    ) -> None:
        """The stream's outbox entries and snapshot are deleted with it, and a snapshot written
        after the delete is not kept. Fix: delete them in the delete's transaction, and check
        the stream is not deleted when saving a snapshot."""
        aid = await self._lifecycle(backend)
        keep = uuid4()
        outbox = self.caps(backend).transactional_outbox
        await backend.events.append_events(keep, AGGREGATE_TYPE, noted(keep, 1), 0, outbox=outbox)
        if backend.has_snapshots:
            await backend.snapshots.save_snapshot(_snapshot(aid, 3))
        await backend.events.delete_stream(aid, AGGREGATE_TYPE, hard=hard)
        if outbox:
            pending = await backend.outbox.get_pending_events(limit=100)
            assert [e.aggregate_id for e in pending] == [keep]
        if backend.has_snapshots:
            assert await backend.snapshots.get_snapshot(aid, AGGREGATE_TYPE) is None
            await backend.snapshots.save_snapshot(_snapshot(aid, 3))
            assert await backend.snapshots.get_snapshot(aid, AGGREGATE_TYPE) is None

    @pytest.mark.parametrize("hard", [False, True], ids=["soft", "hard"])
    async def test_append_to_deleted_stream(self, backend: RoleBackend, hard: bool) -> None:
        """Appending to a deleted stream raises ``StreamDeletedError`` (nothing written);
        ``recreate=True`` starts it anew at version 1 with only the new events. Fix: check the
        stream's deleted mark in the append's transaction."""
        aid = await self._lifecycle(backend)
        store = backend.events
        await store.delete_stream(aid, AGGREGATE_TYPE, hard=hard)
        position = await store.get_global_position()
        for expected in (0, 3, ExpectedVersion.ANY):
            with pytest.raises(StreamDeletedError) as caught:
                await store.append_events(aid, AGGREGATE_TYPE, noted(aid, 1), expected)
            assert caught.value.hard is hard
        assert await store.get_global_position() == position
        fresh = noted(aid, 2, prefix="new")
        result = await store.append_events(aid, AGGREGATE_TYPE, fresh, 0, recreate=True)
        assert result.new_version == 2
        assert ids((await store.get_events(aid, AGGREGATE_TYPE)).events) == ids(fresh)
        # recreated: the stream is live again and its old events are gone for good
        assert await store.restore_stream(aid, AGGREGATE_TYPE) == 0

    async def test_soft_delete_restores(self, backend: RoleBackend) -> None:
        """A soft-deleted stream comes back with its events, versions and positions, and a
        ``StreamRestored`` is recorded; the stream takes appends again. A hard delete (also
        of a soft-deleted stream) is final: ``restore_stream`` raises ``StreamDeletedError``.
        Fix: keep soft-deleted rows aside, as they were."""
        aid = await self._lifecycle(backend)
        store = backend.events
        kept = await read_all_list(backend)
        assert await store.delete_stream(aid, AGGREGATE_TYPE) == 3
        assert await store.delete_stream(aid, AGGREGATE_TYPE) == 0  # already deleted
        assert await store.restore_stream(aid, AGGREGATE_TYPE) == 3
        assert await store.restore_stream(aid, AGGREGATE_TYPE) == 0  # not deleted any more
        back = await read_stream_list(backend, stream_id_for(aid, AGGREGATE_TYPE))
        assert [(s.event_id, s.global_position) for s in back] == [
            (s.event_id, s.global_position) for s in kept
        ]
        restored = [
            s.event for s in await read_all_list(backend) if s.event.event_type.endswith("Restored")
        ]
        assert len(restored) == 1
        tally = await AggregateRepository(store, KitTally, AGGREGATE_TYPE).load(aid)
        assert tally.state.notes == ["n0", "n1", "n2"] and tally.version == 3
        await store.append_events(aid, AGGREGATE_TYPE, noted(aid, 1, prefix="x"), 3)
        await store.delete_stream(aid, AGGREGATE_TYPE)
        assert await store.delete_stream(aid, AGGREGATE_TYPE, hard=True) == 4
        with pytest.raises(StreamDeletedError):
            await store.restore_stream(aid, AGGREGATE_TYPE)
        assert len(await self._tombstones(backend, aid)) == 3

    async def test_restore_refuses_an_id_taken_since(self, backend: RoleBackend) -> None:
        """A soft-deleted event's id is free (``event_exists`` is False), so another stream
        may take it; restoring then raises ``DuplicateEventError`` and changes nothing. Fix:
        check the kept ids against the log before putting them back."""
        aid = await self._lifecycle(backend, 2)
        store = backend.events
        [first, _] = (await store.get_events(aid, AGGREGATE_TYPE)).events
        await store.delete_stream(aid, AGGREGATE_TYPE)
        other = uuid4()
        taken = first.model_copy(update={"aggregate_id": other})
        await store.append_events(other, AGGREGATE_TYPE, [taken], 0)
        position = await store.get_global_position()
        with pytest.raises(DuplicateEventError):
            await store.restore_stream(aid, AGGREGATE_TYPE)
        assert await store.get_global_position() == position
        assert (await store.get_events(aid, AGGREGATE_TYPE)).events == []
        with pytest.raises(StreamDeletedError):
            await store.append_events(aid, AGGREGATE_TYPE, noted(aid, 1), 0)

    async def test_delete_of_missing_stream_changes_nothing(self, backend: RoleBackend) -> None:
        """Deleting, truncating or restoring a stream with no events does nothing and records
        nothing. Fix: return 0 before writing a tombstone."""
        self.require(backend, "stream_lifecycle")
        store = backend.events
        aid = uuid4()
        assert await store.delete_stream(aid, AGGREGATE_TYPE, hard=True) == 0
        assert await store.truncate_stream(aid, AGGREGATE_TYPE, before=5) == 0
        assert await store.restore_stream(aid, AGGREGATE_TYPE) == 0
        assert await store.get_global_position() == 0
        await store.append_events(aid, AGGREGATE_TYPE, noted(aid, 1), 0)

    async def test_truncate(self, backend: RoleBackend) -> None:
        """``truncate_stream(before=v)`` removes versions < v from every read, keeps the
        version and the last event (``before`` past it is capped), never reuses positions,
        and drops a snapshot that no longer leads to the remaining events; each truncation
        that removed events is recorded by a ``StreamTruncated`` past every position. Fix:
        delete rows by ``aggregate_version < min(before, last)`` and append the record in the
        same transaction."""
        aid = await self._lifecycle(backend, 5)
        store = backend.events
        if backend.has_snapshots:
            await backend.snapshots.save_snapshot(_snapshot(aid, 2))
        assert await store.truncate_stream(aid, AGGREGATE_TYPE, before=4) == 3
        assert await store.truncate_stream(aid, AGGREGATE_TYPE, before=2) == 0
        stream = await store.get_events(aid, AGGREGATE_TYPE)
        assert [e.aggregate_version for e in stream.events] == [4, 5] and stream.version == 5
        logged = await read_all_list(backend)
        assert [s.global_position for s in logged if s.event.aggregate_id == aid][:2] == [4, 5]
        [(position, record)] = await self._truncations(backend, aid)
        assert position > 5 and record.stream_type == AGGREGATE_TYPE
        assert (record.before, record.last_version, record.removed) == (4, 5, 3)
        if backend.has_snapshots:
            assert await backend.snapshots.get_snapshot(aid, AGGREGATE_TYPE) is None
        assert await store.truncate_stream(aid, AGGREGATE_TYPE, before=99) == 1
        assert await store.get_stream_version(aid, AGGREGATE_TYPE) == 5
        records = await self._truncations(backend, aid)
        assert [(r.before, r.removed) for _, r in records] == [(4, 3), (5, 1)]
        result = await store.append_events(aid, AGGREGATE_TYPE, noted(aid, 1, prefix="x"), 5)
        assert result.new_version == 6 and result.global_position > records[-1][0]
        tally = await AggregateRepository(store, KitTally, AGGREGATE_TYPE).load(aid)
        assert tally.state.notes == ["n4", "x0"] and tally.version == 6

    async def test_retention_scavenge(self, backend: RoleBackend) -> None:
        """``scavenge`` applies each type's ``RetentionPolicy`` (max count, max age by
        ``occurred_at`` against the given ``now``) and leaves other types alone; a stream's
        last event always stays; each stream it shortens gets a ``StreamTruncated``. Fix:
        implement ``_stream_extents``."""
        self.require(backend, "stream_lifecycle")
        store = backend.events
        counted, aged, other = uuid4(), uuid4(), uuid4()
        await store.append_events(counted, AGGREGATE_TYPE, noted(counted, 5), 0)
        old = noted(aged, 3, aggregate_type=OTHER_AGGREGATE_TYPE, occurred_at=_T0)
        await store.append_events(aged, OTHER_AGGREGATE_TYPE, old, 0)
        late = noted(
            aged,
            1,
            aggregate_type=OTHER_AGGREGATE_TYPE,
            prefix="late",
            occurred_at=_T0 + timedelta(days=10),
        )
        await store.append_events(aged, OTHER_AGGREGATE_TYPE, late, 3)
        await store.append_events(
            other, "KitUntouched", noted(other, 3, aggregate_type="KitUntouched"), 0
        )
        store.set_retention(AGGREGATE_TYPE, RetentionPolicy(max_count=2))
        store.set_retention(OTHER_AGGREGATE_TYPE, RetentionPolicy(max_age=timedelta(days=1)))
        removed = await store.scavenge(now=_T0 + timedelta(days=5))
        assert removed == 3 + 3
        counted_left = (await store.get_events(counted, AGGREGATE_TYPE)).events
        assert [e.aggregate_version for e in counted_left] == [4, 5]
        aged_left = (await store.get_events(aged, OTHER_AGGREGATE_TYPE)).events
        assert [e.aggregate_version for e in aged_left] == [4]
        assert await store.scavenge(now=_T0 + timedelta(days=500)) == 0  # last events stay
        assert len((await store.get_events(other, "KitUntouched")).events) == 3
        [(_, by_count)] = await self._truncations(backend, counted)
        [(_, by_age)] = await self._truncations(backend, aged)
        assert (by_count.stream_type, by_count.before, by_count.removed) == (AGGREGATE_TYPE, 4, 3)
        assert (by_age.stream_type, by_age.before, by_age.removed) == (OTHER_AGGREGATE_TYPE, 4, 3)
        assert await self._truncations(backend, other) == []

    async def test_retention_is_stored(self, kit_opener: RoleOpener, backend: RoleBackend) -> None:
        """``save_retention`` stores a policy in the database: ``load_retention`` on another
        connection returns it as saved, and a ``scavenge`` there applies it (with a policy
        given by ``set_retention`` taking precedence for its type; ``aggregate_types`` limits
        it to those types); None removes it. Bad
        input raises and stores nothing. Fix: implement ``_read_retention`` and
        ``_write_retention`` over a table of your database."""
        self.require(backend, "stream_lifecycle")
        store = backend.events
        assert await store.load_retention() == {}
        kept = RetentionPolicy(max_age=timedelta(days=1, microseconds=7), max_count=2)
        await store.save_retention(AGGREGATE_TYPE, RetentionPolicy(max_count=4))
        await store.save_retention(AGGREGATE_TYPE, kept)  # replaces it
        await store.save_retention(OTHER_AGGREGATE_TYPE, RetentionPolicy(max_count=1))
        await store.save_retention(OTHER_AGGREGATE_TYPE, None)
        await store.save_retention("KitNeverStored", None)  # removing none: nothing happens
        for bad_type, bad_policy in [
            (LIFECYCLE_AGGREGATE_TYPE, kept),
            ("", kept),
            (AGGREGATE_TYPE, {"max_count": 1}),
        ]:
            with pytest.raises(InvalidArgumentError):
                await store.save_retention(bad_type, bad_policy)  # type: ignore[arg-type]
        counted, spared = uuid4(), uuid4()
        await store.append_events(counted, AGGREGATE_TYPE, noted(counted, 5), 0)
        await store.append_events(
            spared, OTHER_AGGREGATE_TYPE, noted(spared, 3, aggregate_type=OTHER_AGGREGATE_TYPE), 0
        )
        async with self.connections(kit_opener, backend, 1) as (other,):
            assert await other.events.load_retention() == {AGGREGATE_TYPE: kept}
            other.events.set_retention(OTHER_AGGREGATE_TYPE, RetentionPolicy(max_count=2))
            assert await other.events.scavenge(aggregate_types=[OTHER_AGGREGATE_TYPE]) == 1
            assert await other.events.scavenge() == 3
        left = (await store.get_events(counted, AGGREGATE_TYPE)).events
        assert [e.aggregate_version for e in left] == [4, 5]
        spared_left = (await store.get_events(spared, OTHER_AGGREGATE_TYPE)).events
        assert [e.aggregate_version for e in spared_left] == [2, 3]
        assert await store.load_retention() == {AGGREGATE_TYPE: kept}  # set_retention: not stored
        await store.save_retention(AGGREGATE_TYPE, None)
        assert await store.load_retention() == {}

    async def test_save_racing_delete(self, kit_opener: RoleOpener, backend: RoleBackend) -> None:
        """Savers on other connections append in a loop while a hard delete runs (released
        once some saves were acknowledged): every save acknowledged before a saver's first
        ``StreamDeletedError`` is counted by the delete, and none after it; the stream ends
        empty. So either the append wins and the delete removes it, or the delete wins and the
        append is refused: never an acknowledged event that silently vanishes. Fix: check the
        deleted mark in the append's transaction, and delete under the appends' lock order."""
        aid = await self._lifecycle(backend, 1)
        acknowledged: list[int] = []
        started = asyncio.Event()

        async def saver(conn: RoleBackend, index: int) -> None:
            for n in range(50):
                try:
                    await conn.events.append_events(
                        aid,
                        AGGREGATE_TYPE,
                        noted(aid, 1, prefix=f"s{index}.{n}"),
                        ExpectedVersion.ANY,
                    )
                except StreamDeletedError:
                    return
                acknowledged.append(index)
                started.set()
                await asyncio.sleep(0)
            raise AssertionError("50 saves and the delete never refused one")

        async def deleter(conn: RoleBackend) -> int:
            await started.wait()
            return await conn.events.delete_stream(aid, AGGREGATE_TYPE, hard=True)

        async with self.connections(kit_opener, backend, 4) as conns:
            results = await race([*(saver(conns[i], i) for i in range(3)), deleter(conns[3])])
        raise_unexpected(results, ())
        removed = results[-1]
        assert isinstance(removed, int)
        assert removed == 1 + len(acknowledged), "an acknowledged save outlived the delete"
        [stone] = await self._tombstones(backend, aid)
        assert stone.last_version == removed
        assert (await backend.events.get_events(aid, AGGREGATE_TYPE)).events == []
        with pytest.raises(StreamDeletedError):
            await backend.events.append_events(aid, AGGREGATE_TYPE, noted(aid, 1), 0)

    async def test_snapshot_racing_delete(
        self, kit_opener: RoleOpener, backend: RoleBackend
    ) -> None:
        """Snapshot writes racing a delete on other connections leave no snapshot of the
        deleted stream. Fix: serialise snapshot writes with the delete of their stream."""
        aid = await self._lifecycle(backend, 3)
        if not backend.has_snapshots:
            pytest.skip(f"backend {backend.name!r} provides no snapshot store")
        async with self.connections(kit_opener, backend, 5) as conns:
            writes = [conns[i].snapshots.save_snapshot(_snapshot(aid, 3)) for i in range(4)]
            delete = conns[4].events.delete_stream(aid, AGGREGATE_TYPE)
            # the delete in the middle: writes started before and after it
            results = await race([*writes[:2], delete, *writes[2:]])
        raise_unexpected(results, ())
        assert await backend.snapshots.get_snapshot(aid, AGGREGATE_TYPE) is None


def _snapshot(aggregate_id: UUID, version: int) -> Snapshot:
    return Snapshot(
        aggregate_id=aggregate_id,
        aggregate_type=AGGREGATE_TYPE,
        version=version,
        state={"notes": [f"n{i}" for i in range(version)], "score": 0.0},
        schema_version=1,
        created_at=_T0,
    )
