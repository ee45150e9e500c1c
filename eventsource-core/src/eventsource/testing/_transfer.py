"""Conformance of bulk transfer (capability ``bulk_transfer``): rows exported and imported as
stored, for ``eventsource migrate``.

Each test skips unless the backend declares ``bulk_transfer``. The partner store of each copy
is an in-memory store (which has the capability too), so a backend is certified alone. The
rules are in :mod:`eventsource.stores._transfer`.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from .._exceptions import (
    EventDecodeError,
    ImportConflictError,
    InvalidArgumentError,
    InvalidEventError,
    StreamDeletedError,
)
from ..memory._repositories import MemoryDLQRepository, MemoryOutboxRepository
from ..memory._snapshots import MemorySnapshotStore
from ..memory._store import MemoryEventStore, MemoryState
from ..repositories._entries import CheckpointData
from ..repositories._transfer import (
    CheckpointTransfer,
    DLQTransfer,
    OutboxTransfer,
    SnapshotTransfer,
)
from ..snapshots._contract import Snapshot
from ..stores._transfer import EventTransfer, RawEvent, StreamMark
from ._base import ConformanceBase, read_all_list
from ._events import AGGREGATE_TYPE, noted
from ._roles import RoleBackend

__all__ = ["BulkTransferConformance"]

_MS = timedelta(milliseconds=1)


async def _all_rows(store: EventTransfer, page: int = 1000) -> list[RawEvent]:
    rows: list[RawEvent] = []
    position = 0
    while chunk := await store.export_rows(position, page):
        rows += chunk
        position = chunk[-1].global_position
    return rows


class BulkTransferConformance(ConformanceBase):
    """``export_rows`` / ``import_rows`` / marks / checkpoints: rows go as stored, at their
    positions, versions and times, soft-deleted rows and marks included; bad or conflicting
    imports write nothing."""

    def _transfer(self, backend: RoleBackend) -> EventTransfer:
        self.require(backend, "bulk_transfer")
        store = backend.events
        assert isinstance(store, EventTransfer), (
            f"{type(store).__name__} declares bulk_transfer but is not an EventTransfer. "
            "Fix: subclass eventsource.spi.EventTransfer and implement its methods."
        )
        return store

    async def _lifecycled(self, store: MemoryEventStore | RoleBackend) -> tuple[list[UUID], int]:
        """Four streams: one truncated, one soft-deleted, one hard-deleted, one plain; and
        how many rows the store then holds (live, lifecycle records, soft-deleted)."""
        events = store.events if isinstance(store, RoleBackend) else store
        plain, cut, soft, hard = (uuid4() for _ in range(4))
        for aid in (plain, cut, soft, hard):
            await events.append_events(aid, AGGREGATE_TYPE, noted(aid, 3), 0)
        await events.truncate_stream(cut, AGGREGATE_TYPE, before=3)
        await events.delete_stream(soft, AGGREGATE_TYPE)
        await events.delete_stream(hard, AGGREGATE_TYPE, hard=True)
        live = [stored async for stored in events.read_all()]  # lifecycle records included
        return [plain, cut, soft, hard], len(live) + 3  # and the soft-deleted stream's rows

    async def test_export_yields_live_and_soft_deleted_rows_in_order(
        self, backend: RoleBackend
    ) -> None:
        """``export_rows`` pages through live and soft-deleted rows in global order, each page
        after the last position; ``count_rows`` and ``transfer_position`` agree; ``export_marks``
        lists both deleted streams. Fix: merge the live log and the soft-deleted side table by
        position, and resume AFTER the given position."""
        store = self._transfer(backend)
        self.require(backend, "stream_lifecycle")
        (_, cut, soft, hard), held = await self._lifecycled(backend)
        rows = await _all_rows(store)
        assert len(rows) == held == await store.count_rows(0)
        positions = [r.global_position for r in rows]
        assert positions == sorted(set(positions))
        assert await store.transfer_position() == positions[-1]
        assert await _all_rows(store, page=2) == rows
        assert await store.count_rows(positions[2]) == held - 3
        kept = [r for r in rows if r.deleted]
        assert {r.aggregate_id for r in kept} == {soft} and len(kept) == 3
        assert [
            r.aggregate_version
            for r in rows
            if (r.aggregate_id, r.aggregate_type) == (cut, AGGREGATE_TYPE)
        ] == [3]
        assert not any((r.aggregate_id, r.aggregate_type) == (hard, AGGREGATE_TYPE) for r in rows)
        marks = {m.aggregate_id: m for m in await store.export_marks()}
        assert set(marks) == {soft, hard}
        assert (marks[soft].hard, marks[hard].hard) == (False, True)
        assert marks[hard].last_version == 3 and marks[soft].deleted_at.tzinfo is not None
        with pytest.raises(InvalidArgumentError):
            await store.export_rows(0, 0)

    async def test_import_keeps_positions_versions_times_and_marks(
        self, backend: RoleBackend
    ) -> None:
        """Rows imported (from a store with a truncated, a soft- and a hard-deleted stream)
        read back as exported: same positions, versions, times, payload documents; the
        truncated stream keeps its version, the soft-deleted one can be restored, the hard one
        refuses appends, and a later append gets a position above every imported one. Fix:
        insert at the given positions (not max + 1) into the right table, and keep the marks."""
        store = self._transfer(backend)
        self.require(backend, "stream_lifecycle")
        source = MemoryEventStore(event_registry=backend.events.event_registry)
        (plain, cut, soft, hard), _ = await self._lifecycled(source)
        rows = await _all_rows(source)
        assert await store.import_rows(rows[:4]) == 4
        assert await store.import_rows(rows[4:]) == len(rows) - 4
        assert await store.import_marks(await source.export_marks()) == 2
        copied = await _all_rows(store)
        assert [dataclasses.replace(r, payload="") for r in copied] == [
            dataclasses.replace(r, payload="") for r in rows
        ]
        assert [json.loads(r.payload) for r in copied] == [json.loads(r.payload) for r in rows]
        assert await store.transfer_position() == rows[-1].global_position
        events = backend.events
        assert await events.get_stream_version(cut, AGGREGATE_TYPE) == 3
        assert [s.global_position for s in await read_all_list(backend)] == [
            r.global_position for r in rows if not r.deleted
        ]
        with pytest.raises(StreamDeletedError):
            await events.append_events(hard, AGGREGATE_TYPE, noted(hard, 1), 3)
        assert await events.restore_stream(soft, AGGREGATE_TYPE) == 3
        result = await events.append_events(plain, AGGREGATE_TYPE, noted(plain, 1), 3)
        assert result.global_position > rows[-1].global_position

    async def test_bad_or_conflicting_imports_write_nothing(self, backend: RoleBackend) -> None:
        """Rows at or below the store's highest position, an id or a stream version already
        stored raise :class:`ImportConflictError` (the store's rows are in the way, not bad
        rows); rows out of order, a payload that is not a JSON object, a naive time or
        something not a RawEvent raise :class:`InvalidEventError`. Either way the batch writes
        nothing, not even its good rows. Fix: call check_import_rows first, check the highest
        position under the write lock, turn a unique-key violation into ImportConflictError,
        and write the batch in one transaction."""
        store = self._transfer(backend)
        aid = uuid4()
        await backend.events.append_events(aid, AGGREGATE_TYPE, noted(aid, 2), 0)
        stored = await _all_rows(store)
        top = await store.transfer_position()
        fresh = uuid4()
        good = dataclasses.replace(
            stored[0],
            global_position=top + 10,
            event_id=uuid4(),
            aggregate_id=fresh,
            aggregate_version=1,
        )
        later = dataclasses.replace(
            good, global_position=top + 11, event_id=uuid4(), aggregate_version=2
        )
        conflicts = [
            [dataclasses.replace(good, global_position=top)],
            [good, dataclasses.replace(later, event_id=stored[0].event_id, aggregate_id=aid)],
            [good, dataclasses.replace(later, aggregate_id=aid, aggregate_version=2)],
        ]
        for conflict in conflicts:
            with pytest.raises(ImportConflictError):
                await store.import_rows(conflict)
            assert await _all_rows(store) == stored, f"a conflict wrote rows: {conflict!r:.200}"
        bad_batches: list[object] = [
            [later, good],
            [good, dataclasses.replace(later, payload="[1, 2]")],
            [good, dataclasses.replace(later, payload="{not json")],
            # what some backend's column, driver or reader refuses, every backend refuses
            [good, dataclasses.replace(later, payload='{"x": NaN}')],
            [good, dataclasses.replace(later, payload='{"x": -Infinity}')],
            [good, dataclasses.replace(later, payload='{"x": ' + "9" * 5000 + "}")],
            [good, dataclasses.replace(later, payload='{"x": "\\ud800"}')],
            [good, dataclasses.replace(later, payload='{"x": "\ud800"}')],
            [good, dataclasses.replace(later, occurred_at=datetime(2026, 1, 1))],
            [good, dataclasses.replace(later, aggregate_version=0)],
            [good, "not a row"],
            "not a list",
        ]
        for batch in bad_batches:
            with pytest.raises(InvalidEventError):
                await store.import_rows(batch)  # type: ignore[arg-type]
            assert await _all_rows(store) == stored, f"a refused batch wrote rows: {batch!r:.200}"
        assert await store.import_rows([]) == 0
        assert await store.import_rows([good, later]) == 2
        assert await backend.events.get_stream_version(fresh, AGGREGATE_TYPE) == 2

    async def test_import_keeps_rows_its_registry_cannot_decode(self, backend: RoleBackend) -> None:
        """A row of an event type nobody registered (and one whose document its class
        refuses) is imported as stored, like any other: what one backend accepts, every
        backend accepts. It exports unchanged, and a read decodes it then (raising
        :class:`EventDecodeError` naming it while it cannot). Fix: keep the row's columns and
        its text; decode when reading, not when importing."""
        store = self._transfer(backend)
        aid = uuid4()
        await backend.events.append_events(aid, AGGREGATE_TYPE, noted(aid, 1), 0)
        stored = await _all_rows(store)
        top = await store.transfer_position()
        stray = dataclasses.replace(
            stored[-1],
            global_position=top + 1,
            event_id=uuid4(),
            aggregate_version=2,
            event_type="KitNeverRegistered",
            payload='{"anything": [1, "two"], "kept": true}',
        )
        odd = dataclasses.replace(
            stray,
            global_position=top + 2,
            event_id=uuid4(),
            aggregate_version=3,
            event_type=stored[-1].event_type,
            payload='{"aggregate_version": "not a number"}',
        )
        assert await store.import_rows([stray, odd]) == 2
        assert (await _all_rows(store))[-2:] == [stray, odd]
        assert await backend.events.get_stream_version(aid, AGGREGATE_TYPE) == 3
        with pytest.raises(EventDecodeError) as caught:
            await read_all_list(backend)
        assert caught.value.event_id == stray.event_id

    async def test_import_marks_twice_changes_nothing(self, backend: RoleBackend) -> None:
        """Marks are upserted: importing them again leaves one mark per stream, as given, and
        a marked stream refuses appends. Fix: insert or replace by stream key."""
        store = self._transfer(backend)
        self.require(backend, "stream_lifecycle")
        aid = uuid4()
        when = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
        mark = StreamMark(aid, AGGREGATE_TYPE, True, 4, when)
        for _ in range(2):
            assert await store.import_marks([mark]) == 1
        assert [m for m in await store.export_marks() if m.aggregate_id == aid] == [mark]
        with pytest.raises(StreamDeletedError):
            await backend.events.append_events(aid, AGGREGATE_TYPE, noted(aid, 1), 0)
        with pytest.raises(InvalidEventError):
            await store.import_marks([mark, "not a mark"])  # type: ignore[list-item]

    async def test_checkpoints_import_as_given(self, backend: RoleBackend) -> None:
        """``import_checkpoints`` writes each row as given (event, position, processed count,
        update time) and replaces it on a rerun instead of adding up, but never moves a
        stored checkpoint backwards. Fix: upsert every column from the row unless the stored
        position is higher; never increment."""
        self._transfer(backend)
        repo = backend.checkpoints
        if not isinstance(repo, CheckpointTransfer):
            pytest.skip("the checkpoint repository is not a CheckpointTransfer")
        aid = uuid4()
        await backend.events.append_events(aid, AGGREGATE_TYPE, noted(aid, 2), 0)
        last = (await read_all_list(backend))[-1]
        row = CheckpointData(
            projection_name=f"kit-{aid.hex[:8]}",
            last_event_id=last.event_id,
            last_event_type=last.event_type,
            global_position=last.global_position,
            events_processed=41,
            updated_at=datetime(2026, 2, 3, 4, 5, 6, 789000, tzinfo=UTC),
        )
        for _ in range(3):
            assert await repo.import_checkpoints([row]) == 1
        got = await repo.get_checkpoint_data(row.projection_name)
        assert got is not None
        assert (got.last_event_id, got.global_position, got.events_processed) == (
            row.last_event_id,
            row.global_position,
            41,
        )
        assert abs(got.updated_at - row.updated_at) < timedelta(milliseconds=1)
        older = dataclasses.replace(row, global_position=1, events_processed=7)
        assert await repo.import_checkpoints([older]) == 1
        kept = await repo.get_checkpoint_data(row.projection_name)
        assert kept is not None and (kept.global_position, kept.events_processed) == (
            row.global_position,
            41,
        ), "a checkpoint further along was moved backwards"
        with pytest.raises(InvalidArgumentError):
            await repo.import_checkpoints([dataclasses.replace(row, events_processed=-1)])

    async def test_outbox_entries_import_once(self, backend: RoleBackend) -> None:
        """``export_outbox`` gives every entry of every status, oldest first; ``import_outbox``
        adds the entries not held (by id) with their status, retries, error and times,
        unclaimed, and a second import adds none. Fix: INSERT ... ON CONFLICT (id) DO NOTHING
        in export order; never update an entry that is there."""
        self._transfer(backend)
        repo = backend.outbox
        if not isinstance(repo, OutboxTransfer):
            pytest.skip("the outbox repository is not an OutboxTransfer")
        aid = uuid4()
        source = MemoryOutboxRepository(MemoryState())
        ids = [await source.add_event(e) for e in noted(aid, 3)]
        await source.mark_published(ids[0])
        await source.mark_failed(ids[1], "broker said no")
        await source.get_pending_events(limit=10, worker_id="kit", lease=timedelta(minutes=5))
        entries = await source.export_outbox()
        assert await repo.import_outbox(entries) == 3
        assert await repo.import_outbox(entries) == 0
        mine = {e.id: e for e in await repo.export_outbox()}
        for entry in entries:
            got = mine[entry.id]
            assert (got.status, got.retry_count, got.last_error, got.event_data) == (
                entry.status,
                entry.retry_count,
                entry.last_error,
                entry.event_data,
            )
            assert got.claimed_by is None and abs(got.created_at - entry.created_at) < _MS
        assert [e.id for e in await repo.export_outbox() if e.id in set(ids)] == ids
        pending = await repo.get_pending_events(limit=10)
        assert [e.id for e in pending if e.id in set(ids)] == [ids[2]]
        with pytest.raises(InvalidArgumentError):
            await repo.import_outbox(["not an entry"])  # type: ignore[list-item]

    async def test_dlq_entries_import_once(self, backend: RoleBackend) -> None:
        """``export_dlq`` gives every entry of every status; ``import_dlq`` adds the entries
        not held (by event and projection) with their error, retries, status, resolution and
        times, and a second import adds none; a later failure gets a fresh id. Fix: skip an
        entry whose (event_id, projection_name) is stored, keep its id when free, and move
        the id sequence past the imported ids."""
        self._transfer(backend)
        repo = backend.dlq
        if not isinstance(repo, DLQTransfer):
            pytest.skip("the DLQ repository is not a DLQTransfer")
        source = MemoryDLQRepository(MemoryState())
        first = await source.add_failed_event(uuid4(), "kit-p", "KitItemNoted", {"a": 1}, "boom", 3)
        await source.add_failed_event(uuid4(), "kit-q", "KitItemNoted", {"b": [2]}, "bang")
        await source.mark_resolved(first, "fixed by hand")
        entries = await source.export_dlq()
        assert await repo.import_dlq(entries) == 2
        assert await repo.import_dlq(entries) == 0
        mine = {(e.event_id, e.projection_name): e for e in await repo.export_dlq()}
        for entry in entries:
            got = mine[(entry.event_id, entry.projection_name)]
            assert (
                got.error_message,
                got.retry_count,
                got.status,
                got.resolution,
                got.event_data,
            ) == (
                entry.error_message,
                entry.retry_count,
                entry.status,
                entry.resolution,
                entry.event_data,
            )
            assert abs(got.first_failed_at - entry.first_failed_at) < _MS
        later = await repo.add_failed_event(uuid4(), "kit-p", "KitItemNoted", {}, "again")
        assert later not in {e.id for e in mine.values()}
        with pytest.raises(InvalidArgumentError):
            await repo.import_dlq("not a list")  # type: ignore[arg-type]

    async def test_snapshots_export_whole(self, backend: RoleBackend) -> None:
        """``export_snapshots`` gives every snapshot as saved (state, versions, event id,
        time); saved into another store they read back the same. Fix: select every row of the
        snapshot table and decode it with decode_snapshot, leaving out rows that fail."""
        self._transfer(backend)
        if not backend.has_snapshots:
            pytest.skip("the snapshot role is not under test")
        store = backend.snapshots
        if not isinstance(store, SnapshotTransfer):
            pytest.skip("the snapshot store is not a SnapshotTransfer")
        when = datetime(2026, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
        saved = [
            Snapshot(uuid4(), AGGREGATE_TYPE, 3, {"total": 3, "notes": ["a"]}, 2, when, uuid4()),
            Snapshot(uuid4(), AGGREGATE_TYPE, 1, {"total": 1}, 1, when, None),
        ]
        for snapshot in saved:
            await store.save_snapshot(snapshot)
        exported = {s.aggregate_id: s for s in await store.export_snapshots()}
        partner = MemorySnapshotStore(MemoryState())
        for snapshot in saved:
            got = exported[snapshot.aggregate_id]
            assert (got.version, got.state, got.schema_version, got.event_id) == (
                snapshot.version,
                snapshot.state,
                snapshot.schema_version,
                snapshot.event_id,
            )
            assert abs(got.created_at - snapshot.created_at) < _MS
            await partner.save_snapshot(got)
            again = await partner.get_snapshot(snapshot.aggregate_id, AGGREGATE_TYPE)
            assert again is not None and again.state == snapshot.state
