"""Conformance of the snapshot store (the fifth, optional role) and of loading from snapshots.

Each test skips when the backend registers no snapshot store (``eventsource_snapshot_stores``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID, uuid4

import pytest
from pydantic import BaseModel

from .._exceptions import (
    InvalidArgumentError,
    OptimisticLockError,
    SerializationError,
)
from ..aggregates import AggregateRepository, AggregateRoot
from ..events import DomainEvent
from ..snapshots._contract import Snapshot, SnapshotStore
from ..stores._types import ExpectedVersion
from ._base import ConformanceBase, race, raise_unexpected
from ._events import AGGREGATE_TYPE, OTHER_AGGREGATE_TYPE, KitItemNoted
from ._roles import RoleBackend, RoleOpener

__all__ = ["KitTally", "KitTallyState", "SnapshotStoreConformance"]


class KitTallyState(BaseModel):
    """The kit aggregate's state: every note in order (a note applied twice shows)."""

    notes: list[str] = []
    score: float = 0.0


class KitTally(AggregateRoot[KitTallyState]):
    """The kit's aggregate over :class:`KitItemNoted` events of :data:`AGGREGATE_TYPE`.

    A note ``"score=<float>"`` sets ``score`` (``"score=nan"`` makes the state unsnapshottable:
    NaN is outside the portable value domain).
    """

    aggregate_type = AGGREGATE_TYPE

    def _get_initial_state(self) -> KitTallyState:
        return KitTallyState()

    def _apply(self, event: DomainEvent) -> None:
        if isinstance(event, KitItemNoted):
            score = self.state.score
            if event.note.startswith("score="):
                score = float(event.note.removeprefix("score="))
            self._state = KitTallyState(notes=[*self.state.notes, event.note], score=score)

    def note(self, text: str) -> None:
        """Add a note."""
        self.raise_event(KitItemNoted, note=text)


class _KitTallyV2(KitTally):
    """The same aggregate after a change of its state's shape."""

    schema_version: ClassVar[int] = 2


def _snapshot(
    aggregate_id: UUID,
    version: int,
    *,
    state: dict[str, Any] | None = None,
    schema_version: int = 1,
    aggregate_type: str = AGGREGATE_TYPE,
    event_id: UUID | None = None,
) -> Snapshot:
    return Snapshot(
        aggregate_id=aggregate_id,
        aggregate_type=aggregate_type,
        version=version,
        state={"notes": [f"v{version}"], "score": 0.0} if state is None else state,
        schema_version=schema_version,
        created_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC) + timedelta(seconds=version),
        event_id=event_id,
    )


def _replayed(events: list[DomainEvent], aggregate_id: UUID) -> KitTally:
    tally = KitTally(aggregate_id)
    tally.load_from_history(events)
    return tally


class SnapshotStoreConformance(ConformanceBase):
    """``backend.snapshots``: one snapshot per aggregate that never moves backwards, read back
    as written; and ``AggregateRepository(snapshot_every=...)`` over the backend's store, whose
    ``load`` gives the state a full replay gives whatever the snapshots hold."""

    def snapshots(self, backend: RoleBackend) -> SnapshotStore:
        """The backend's snapshot store; skips the test when it has none."""
        if not backend.has_snapshots:
            pytest.skip(f"backend {backend.name!r} provides no snapshot store")
        return backend.snapshots

    def repository(
        self, backend: RoleBackend, factory: type[KitTally] = KitTally, **options: Any
    ) -> AggregateRepository[KitTally]:
        """A repository of :class:`KitTally` over the backend's event store."""
        self.snapshots(backend)
        return AggregateRepository(backend.events, factory, AGGREGATE_TYPE, **options)

    async def _tally(self, repo: AggregateRepository[KitTally], n: int) -> KitTally:
        tally = repo.create_new(uuid4())
        for i in range(n):
            tally.note(f"n{i}")
        await repo.save(tally)
        return tally

    # -- the store ----------------------------------------------------------------------------

    async def test_snapshot_round_trip(self, backend: RoleBackend) -> None:
        """save_snapshot then get_snapshot returns an equal Snapshot (ids, type, version,
        nested state, schema version, a timezone-aware created_at to the microsecond,
        event_id); snapshot_exists sees it; another aggregate has none.

        Fix: store every field; keep the state text ``encode_snapshot`` gives and rebuild
        with ``decode_snapshot`` (``eventsource.spi``).
        """
        store = self.snapshots(backend)
        aid = uuid4()
        assert await store.get_snapshot(aid, AGGREGATE_TYPE) is None
        assert not await store.snapshot_exists(aid, AGGREGATE_TYPE)
        state = {"notes": ["a", "é ☃"], "score": 1.5, "nested": {"x": [1, None, True]}}
        snapshot = _snapshot(aid, 7, state=state, schema_version=3, event_id=uuid4())
        await store.save_snapshot(snapshot)
        read = await store.get_snapshot(aid, AGGREGATE_TYPE)
        assert read == snapshot
        assert read is not None and read.created_at.utcoffset() == timedelta(0)
        assert await store.snapshot_exists(aid, AGGREGATE_TYPE)
        assert await store.get_snapshot(uuid4(), AGGREGATE_TYPE) is None
        bare = _snapshot(uuid4(), 1, state={})
        await store.save_snapshot(bare)
        assert await store.get_snapshot(bare.aggregate_id, AGGREGATE_TYPE) == bare

    async def test_snapshot_never_moves_backwards(self, backend: RoleBackend) -> None:
        """A newer (or equal) version replaces the stored snapshot; an older one of the same
        schema version changes nothing; one of another schema version replaces it.

        Fix: upsert with a condition (``ON CONFLICT ... DO UPDATE ... WHERE stored.version <=
        new.version OR stored.schema_version <> new.schema_version``), in one statement.
        """
        store = self.snapshots(backend)
        aid = uuid4()
        await store.save_snapshot(_snapshot(aid, 5))
        await store.save_snapshot(_snapshot(aid, 9))
        await store.save_snapshot(_snapshot(aid, 7))
        assert await store.get_snapshot(aid, AGGREGATE_TYPE) == _snapshot(aid, 9)
        same = _snapshot(aid, 9, state={"notes": ["again"], "score": 2.0})
        await store.save_snapshot(same)
        assert await store.get_snapshot(aid, AGGREGATE_TYPE) == same
        other_schema = _snapshot(aid, 3, schema_version=2)
        await store.save_snapshot(other_schema)
        assert await store.get_snapshot(aid, AGGREGATE_TYPE) == other_schema

    async def test_snapshots_are_per_aggregate_type(self, backend: RoleBackend) -> None:
        """One id under two aggregate types holds two independent snapshots.

        Fix: key snapshots by (aggregate_id, aggregate_type).
        """
        store = self.snapshots(backend)
        aid = uuid4()
        mine = _snapshot(aid, 2)
        other = _snapshot(aid, 4, aggregate_type=OTHER_AGGREGATE_TYPE)
        await store.save_snapshot(mine)
        await store.save_snapshot(other)
        assert await store.get_snapshot(aid, AGGREGATE_TYPE) == mine
        assert await store.get_snapshot(aid, OTHER_AGGREGATE_TYPE) == other
        assert await store.delete_snapshot(aid, OTHER_AGGREGATE_TYPE)
        assert await store.get_snapshot(aid, AGGREGATE_TYPE) == mine

    async def test_delete_snapshot(self, backend: RoleBackend) -> None:
        """delete_snapshot is True when there was one (and it is gone), then False.

        Fix: return whether a row was deleted.
        """
        store = self.snapshots(backend)
        aid = uuid4()
        await store.save_snapshot(_snapshot(aid, 3))
        assert await store.delete_snapshot(aid, AGGREGATE_TYPE) is True
        assert await store.get_snapshot(aid, AGGREGATE_TYPE) is None
        assert not await store.snapshot_exists(aid, AGGREGATE_TYPE)
        assert await store.delete_snapshot(aid, AGGREGATE_TYPE) is False

    async def test_delete_snapshots_by_type(self, backend: RoleBackend) -> None:
        """delete_snapshots_by_type deletes the type's snapshots (only those below
        ``schema_version_below`` when given), returns how many, and spares other types.

        Fix: one DELETE by type (and schema version); return its row count.
        """
        store = self.snapshots(backend)
        old, new, other = uuid4(), uuid4(), uuid4()
        await store.save_snapshot(_snapshot(old, 1, schema_version=1))
        await store.save_snapshot(_snapshot(new, 1, schema_version=2))
        await store.save_snapshot(_snapshot(other, 1, aggregate_type=OTHER_AGGREGATE_TYPE))
        assert await store.delete_snapshots_by_type(AGGREGATE_TYPE, schema_version_below=2) == 1
        assert await store.get_snapshot(old, AGGREGATE_TYPE) is None
        assert await store.get_snapshot(new, AGGREGATE_TYPE) is not None
        assert await store.delete_snapshots_by_type(AGGREGATE_TYPE) == 1
        assert await store.get_snapshot(new, AGGREGATE_TYPE) is None
        assert await store.get_snapshot(other, OTHER_AGGREGATE_TYPE) is not None

    async def test_bad_snapshot_arguments_change_nothing(self, backend: RoleBackend) -> None:
        """Wrong types and out-of-range values raise InvalidArgumentError, a state outside
        the value domain SerializationError, before anything is stored.

        Fix: call ``encode_snapshot`` / ``check_snapshot_key`` (``eventsource.spi``) first.
        """
        store = self.snapshots(backend)
        aid = uuid4()
        await store.save_snapshot(_snapshot(aid, 2))
        kept = await store.get_snapshot(aid, AGGREGATE_TYPE)
        bad: list[Any] = [
            {"aggregate_id": aid},
            _snapshot(aid, 0),
            _snapshot(aid, 2**31),
            _snapshot(aid, 3, schema_version=0),
            _snapshot(aid, 3, aggregate_type=""),
            Snapshot(str(aid), AGGREGATE_TYPE, 3, {}),  # type: ignore[arg-type]
            Snapshot(aid, AGGREGATE_TYPE, 3, [1]),  # type: ignore[arg-type]
            Snapshot(aid, AGGREGATE_TYPE, 3, {}, 1, datetime(2026, 1, 1)),
        ]
        for snapshot in bad:
            with pytest.raises(InvalidArgumentError):
                await store.save_snapshot(snapshot)
        with pytest.raises(SerializationError):
            await store.save_snapshot(_snapshot(aid, 3, state={"score": math.nan}))
        for key in ((str(aid), AGGREGATE_TYPE), (aid, ""), (aid, 5)):
            with pytest.raises(InvalidArgumentError):
                await store.get_snapshot(*key)
            with pytest.raises(InvalidArgumentError):
                await store.delete_snapshot(*key)
        with pytest.raises(InvalidArgumentError):
            await store.delete_snapshots_by_type(AGGREGATE_TYPE, schema_version_below=0)
        assert await store.get_snapshot(aid, AGGREGATE_TYPE) == kept

    async def test_snapshot_seen_by_another_connection(
        self, backend: RoleBackend, kit_opener: RoleOpener
    ) -> None:
        """A snapshot saved on one connection is read, equal, on another opened after it.

        Fix: keep snapshots in the backend's storage, not in the connection or the object.
        """
        self.require(backend, "concurrent_connections")
        store = self.snapshots(backend)
        aid = uuid4()
        snapshot = _snapshot(aid, 4, event_id=uuid4())
        await store.save_snapshot(snapshot)
        async with kit_opener() as other:
            assert await other.snapshots.get_snapshot(aid, AGGREGATE_TYPE) == snapshot

    async def test_race_snapshot_writers_keep_the_newest(
        self, backend: RoleBackend, kit_opener: RoleOpener
    ) -> None:
        """Writers on separate connections save versions 1..N of one aggregate's snapshot at
        once, twice over: the stored snapshot is version N, never an older one.

        Fix: make the version condition part of the upsert itself (one atomic statement);
        a read-then-write lets an older snapshot overwrite a newer one.
        """
        self.snapshots(backend)
        aid = uuid4()
        async with self.connections(kit_opener, backend) as conns:
            for _ in range(2):
                writes = [
                    conns[i % len(conns)].snapshots.save_snapshot(_snapshot(aid, v))
                    for i, v in enumerate(range(1, 2 * self.concurrency + 1))
                ]
                raise_unexpected(await race(writes), ())
                read = await conns[0].snapshots.get_snapshot(aid, AGGREGATE_TYPE)
                assert read == _snapshot(aid, 2 * self.concurrency)

    # -- the repository -----------------------------------------------------------------------

    async def test_repository_uses_the_backends_snapshot_store(self, backend: RoleBackend) -> None:
        """``AggregateRepository(backend.events, ..., snapshot_every=N)`` finds the backend's
        own snapshot store and snapshots after each save that crosses a multiple of N.

        Fix: register the snapshot store with ``eventsource_snapshot_stores`` under the
        backend's name; its factory builds it over the event store.
        """
        repo = self.repository(backend, snapshot_every=3)
        store = self.snapshots(backend)
        tally = await self._tally(repo, 2)
        aid = tally.aggregate_id
        assert await store.get_snapshot(aid, AGGREGATE_TYPE) is None  # 0 -> 2 crosses no 3
        tally.note("n2")
        tally.note("n3")
        await repo.save(tally)  # 2 -> 4 crosses 3: a snapshot at 4
        snapshot = await store.get_snapshot(aid, AGGREGATE_TYPE)
        assert snapshot is not None and snapshot.version == 4
        assert snapshot.state == {"notes": ["n0", "n1", "n2", "n3"], "score": 0.0}
        assert snapshot.event_id == tally.last_event_id and snapshot.schema_version == 1
        loaded = await repo.load(aid)
        assert loaded.version == 4 and loaded.state == tally.state

    async def test_load_starts_from_the_snapshot(self, backend: RoleBackend) -> None:
        """``load`` applies the snapshot and only the events after it: a planted snapshot
        (valid, of the stream's event at its version) with a marked state shows in the
        result, followed by the later events.

        Fix: ``get_events(from_version=...)`` must return exactly the events above it.
        """
        repo = self.repository(backend, snapshot_every=1000)
        tally = await self._tally(repo, 5)
        aid = tally.aggregate_id
        events = (await backend.events.get_events(aid, AGGREGATE_TYPE)).events
        planted = _snapshot(aid, 3, state={"notes": ["marked"], "score": 9.0})
        await backend.snapshots.save_snapshot(
            dataclasses.replace(planted, event_id=events[2].event_id)
        )
        loaded = await repo.load(aid)
        assert loaded.state.notes == ["marked", "n3", "n4"] and loaded.state.score == 9.0
        assert loaded.version == 5

    async def test_load_ignores_unusable_snapshots(self, backend: RoleBackend) -> None:
        """A snapshot of another state schema version, of another event at its version, past
        the stream's end, or deleted: ``load`` gives what a full replay gives.

        Fix: the repository checks the snapshot; a backend passes when its snapshots read back
        as saved and ``get_events(from_version=...)`` is exact.
        """
        repo = self.repository(backend, snapshot_every=2)
        tally = await self._tally(repo, 4)
        aid = tally.aggregate_id
        replay = _replayed((await backend.events.get_events(aid, AGGREGATE_TYPE)).events, aid)
        v2 = self.repository(backend, _KitTallyV2, snapshot_every=2)
        assert (await v2.load(aid)).state == replay.state  # a schema-1 snapshot: ignored
        store = backend.snapshots
        wrong = {"notes": ["wrong"], "score": 0.0}
        for snapshot in (
            _snapshot(aid, 4, state=wrong, event_id=uuid4()),  # not the event at version 4
            _snapshot(aid, 4, state=wrong, schema_version=2),  # another schema version
            _snapshot(aid, 9, state=wrong),  # beyond the stream's end
        ):
            await store.delete_snapshot(aid, AGGREGATE_TYPE)
            await store.save_snapshot(snapshot)
            loaded = await repo.load(aid)
            assert loaded.state == replay.state and loaded.version == 4, snapshot
        await store.delete_snapshot(aid, AGGREGATE_TYPE)
        assert (await repo.load(aid)).state == replay.state

    async def test_failed_snapshot_write_never_fails_the_save(self, backend: RoleBackend) -> None:
        """A state that cannot be snapshotted (NaN: outside the value domain, and unequal to
        itself) fails no save; no snapshot is stored, and ``load`` replays the events.

        Fix: nothing in the backend should be needed; a failure here means a snapshot row was
        stored for a state that is not storable (``encode_snapshot`` refuses it).
        """
        repo = self.repository(backend, snapshot_every=1)
        tally = repo.create_new(uuid4())
        tally.note("score=nan")
        result = await repo.save(tally)
        assert result is not None and result.new_version == 1
        assert await backend.snapshots.get_snapshot(tally.aggregate_id, AGGREGATE_TYPE) is None
        loaded = await repo.load(tally.aggregate_id)
        assert loaded.version == 1 and math.isnan(loaded.state.score)

    async def test_race_snapshot_write_and_append(
        self, backend: RoleBackend, kit_opener: RoleOpener
    ) -> None:
        """Savers that snapshot after every save race appenders on other connections: every
        ``load`` during and after the race equals the replay of the stream's first
        ``version`` events, so no snapshot at version v is ever applied on top of the events
        it already includes.

        Fix: a snapshot must record the version its state is at, and ``get_events(
        from_version=v)`` return only the events above v, as committed.
        """
        self.snapshots(backend)
        rounds = 6
        aid = uuid4()
        async with self.connections(kit_opener, backend, 4) as conns:
            saver_repos = [self.repository(c, snapshot_every=1) for c in conns[:2]]
            loader = self.repository(conns[3], snapshot_every=1)
            first = saver_repos[0].create_new(aid)
            first.note("start")
            await saver_repos[0].save(first)

            async def saver(repo: AggregateRepository[KitTally], tag: str) -> None:
                for i in range(rounds):
                    while True:
                        tally = await repo.load(aid)
                        tally.note(f"{tag}{i}")
                        try:
                            await repo.save(tally)
                            break
                        except OptimisticLockError:
                            continue

            async def appender() -> None:
                for i in range(rounds):
                    event = KitItemNoted(
                        aggregate_id=aid, aggregate_type=AGGREGATE_TYPE, note=f"a{i}"
                    )
                    await conns[2].events.append_events(
                        aid, AGGREGATE_TYPE, [event], ExpectedVersion.ANY
                    )

            async def checker() -> None:
                for _ in range(rounds * 2):
                    loaded = await loader.load(aid)
                    events = (await conns[3].events.get_events(aid, AGGREGATE_TYPE)).events
                    assert loaded.state == _replayed(events[: loaded.version], aid).state
                    await asyncio.sleep(0)

            results = await race(
                [saver(saver_repos[0], "s"), saver(saver_repos[1], "t"), appender(), checker()]
            )
            raise_unexpected(results, ())
            events = (await conns[0].events.get_events(aid, AGGREGATE_TYPE)).events
            assert len(events) == 1 + 3 * rounds
            replay = _replayed(events, aid)
            for repo in (*saver_repos, loader):
                loaded = await repo.load(aid)
                assert loaded.version == replay.version and loaded.state == replay.state
            snapshot = await conns[0].snapshots.get_snapshot(aid, AGGREGATE_TYPE)
            assert snapshot is not None and 1 <= snapshot.version <= len(events)
            assert snapshot.event_id == events[snapshot.version - 1].event_id
            at_snapshot = _replayed(events[: snapshot.version], aid)
            assert snapshot.state == at_snapshot.state.model_dump(mode="json")
