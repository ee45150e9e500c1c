"""Sharded projections in one process, on every backend: assignment, order, checkpoints,
parking, rebalancing between two workers."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from datetime import timedelta
from typing import ClassVar
from uuid import UUID, uuid4

import pytest
from pydantic import model_validator

from eventsource import Backend, ConfigurationError, DomainEvent, open_backend
from eventsource.clock import ManualClock
from eventsource.runtime import (
    DLQReplayer,
    FailureMode,
    Ownership,
    Projection,
    ProjectionRunner,
    RetryPolicy,
    Shard,
    ShardedRunner,
    current_shard,
    handles,
    handling_shard,
    shard_of,
    stale_heartbeat,
)
from eventsource.runtime._shards import STALE_PERIODS
from eventsource.spi import ProjectionLeases

from ._events import RtItemAdded

NAME = "rttest.sharded"
FAST = Ownership(ttl=1.0, renew_every=0.2, standby_poll=0.05)


class Recorder(Projection):
    """Records (shard, stream, n) of every delivery; fails for the streams in ``poison``."""

    name = NAME

    def __init__(self, poison: frozenset[UUID] = frozenset()) -> None:
        self.deliveries: list[tuple[int, UUID, int]] = []
        self.poison = poison

    @handles(RtItemAdded)
    async def on_item(self, event: RtItemAdded) -> None:
        shard = current_shard()
        assert shard is not None
        await asyncio.sleep(0)
        if event.aggregate_id in self.poison and event.n == 1:
            raise RuntimeError("poison")
        self.deliveries.append((shard.index, event.aggregate_id, event.n))


async def append_streams(backend: Backend, streams: list[UUID], per_stream: int) -> int:
    """``per_stream`` events on each stream, interleaved across streams (n = version)."""
    for n in range(per_stream):
        for agg in streams:
            event = RtItemAdded(aggregate_id=agg, n=n)
            await backend.events.append_events(agg, "rttest.Cart", [event], expected_version=n)
    return await backend.events.get_global_position()


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll state other tasks change (a bound against a hang, not a speed check)."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - the state has no event to wait on
            await asyncio.sleep(0.01)


def test_shard_of_is_a_documented_stable_function() -> None:
    agg = UUID("12345678-1234-5678-1234-567812345678")
    assert shard_of(agg, 4) == zlib.crc32(agg.bytes) % 4 == 0  # crc32 = 1773289872
    assert shard_of(agg, 7) == zlib.crc32(agg.bytes) % 7
    spread = {shard_of(uuid4(), 4) for _ in range(200)}
    assert spread == {0, 1, 2, 3}
    assert Shard(2, 4).name_for("revenue") == "revenue#2/4"
    with pytest.raises(ConfigurationError):
        Shard(4, 4)
    with pytest.raises(ConfigurationError):
        shard_of(agg, 0)


async def test_sharded_runner_keeps_order_per_stream_and_checkpoints_per_shard(
    backend: Backend,
) -> None:
    streams = [uuid4() for _ in range(12)]
    head = await append_streams(backend, streams, 4)
    projection = Recorder()
    worker = ShardedRunner.from_backend(projection, backend, shards=4, ownership=FAST)
    worker.start()
    try:
        await until(lambda: len(projection.deliveries) >= len(streams) * 4)
        await until(lambda: worker.owned == [0, 1, 2, 3])
    finally:
        await worker.stop()
    assert len(projection.deliveries) == len(streams) * 4  # each event once
    for agg in streams:
        mine = [(k, n) for k, a, n in projection.deliveries if a == agg]
        assert [n for _, n in mine] == [0, 1, 2, 3]  # in order
        assert {k for k, _ in mine} == {shard_of(agg, 4)}  # by its one shard
    for name in worker.shard_names():  # every shard checkpointed past everything, on its own
        assert await backend.checkpoints.get_position(name) == head
    assert await backend.checkpoints.get_position(NAME) in (None, 0)
    leases = {lease.projection_name for lease in await backend.checkpoints.get_leases()}
    assert set(worker.shard_names()) <= leases


async def test_shard_checkpoints_are_independent(backend: Backend) -> None:
    streams = [uuid4() for _ in range(8)]
    head = await append_streams(backend, streams, 2)
    projection = Recorder()
    one = ProjectionRunner.from_backend(projection, backend, shard=Shard(1, 4), ownership=False)
    assert one.name == f"{NAME}#1/4"
    await one.catch_up()
    assert await backend.checkpoints.get_position(f"{NAME}#1/4") == head
    for k in (0, 2, 3):
        assert not await backend.checkpoints.get_position(f"{NAME}#{k}/4")
    assert {a for _, a, _ in projection.deliveries} == {a for a in streams if shard_of(a, 4) == 1}


async def test_a_parked_event_blocks_no_other_stream(backend: Backend) -> None:
    streams = [uuid4() for _ in range(12)]
    bad = streams[0]
    bad_shard = shard_of(bad, 4)
    await append_streams(backend, streams, 3)
    projection = Recorder(poison=frozenset({bad}))
    worker = ShardedRunner.from_backend(
        projection,
        backend,
        shards=4,
        ownership=FAST,
        retry=RetryPolicy(max_attempts=1, on_failure=FailureMode.SKIP),
    )
    worker.start()
    try:
        await until(lambda: len(projection.deliveries) >= len(streams) * 3 - 1)
    finally:
        await worker.stop()
    for agg in streams:
        got = [n for _, a, n in projection.deliveries if a == agg]
        assert got == ([0, 2] if agg == bad else [0, 1, 2])
    entries = await backend.dlq.get_failed_events(f"{NAME}#{bad_shard}/4")
    assert [e.event_type for e in entries] == ["rttest.ItemAdded"]
    for k in set(range(4)) - {bad_shard}:
        assert await backend.dlq.get_failed_events(f"{NAME}#{k}/4") == []
    projection.poison = frozenset()  # fixed: the shard's entry replays into the projection
    with handling_shard(Shard(bad_shard, 4)):
        result = await DLQReplayer(backend.dlq, backend.events).replay(projection, entries[0].id)
    assert result.ok, result.error
    assert [n for _, a, n in projection.deliveries if a == bad] == [0, 2, 1]


async def test_workers_split_and_rebalance(backend_url: str) -> None:
    async with open_backend(backend_url) as one, open_backend(backend_url) as two:
        a = ShardedRunner.from_backend(Recorder(), one, shards=4, ownership=Ownership(**_fast("a")))
        a.start()
        await until(lambda: a.owned == [0, 1, 2, 3])
        b = ShardedRunner.from_backend(Recorder(), two, shards=4, ownership=Ownership(**_fast("b")))
        b.start()
        await until(lambda: len(a.owned) == 2 and len(b.owned) == 2)
        assert set(a.owned).isdisjoint(b.owned)
        await a.stop()  # leaves: b takes everything
        await until(lambda: b.owned == [0, 1, 2, 3])
        await b.stop()


def _fast(owner: str) -> dict[str, object]:
    return {"ttl": 1.0, "renew_every": 0.2, "standby_poll": 0.05, "owner_id": owner}


async def test_sharding_needs_leases_and_a_plain_projection() -> None:
    async with open_backend(f"memory://{uuid4().hex}") as backend:
        with pytest.raises(ConfigurationError):
            ShardedRunner.from_backend(Recorder(), backend, shards=0)
        with pytest.raises(ConfigurationError):
            ShardedRunner.from_backend(Recorder(), backend, shards=2, shard=Shard(0, 2))


ALIVE = Ownership(ttl=3.0, renew_every=1.0, standby_poll=0.5, owner_id="alive")
TICK = ALIVE.standby_poll  # the rebalance period: every tick ends the worker loop's pause


async def _tick(clock: ManualClock, worker: ShardedRunner, repo: ProjectionLeases) -> None:
    """Advance the clock one rebalance period, then wait (a bound against a hang, not a
    speed check) until the worker's loop has ended its pass for it, every shard runner it
    started holds its shard, and each lease it holds was renewed within ``renew_every`` +
    one tick: the clock never runs ahead of the worker, however slow the machine."""
    passes = worker.passes
    clock.advance(TICK)

    async def caught_up() -> bool:
        if worker.passes <= passes or any(r.lease is None for r in worker.runners.values()):
            return False
        now, fresh = clock.now(), timedelta(seconds=ALIVE.renew_every + TICK)
        held = [
            lease
            for lease in await repo.get_leases()
            if lease.owner_id == "alive" and lease.released_at is None
        ]
        return all(now - lease.renewed_at < fresh for lease in held)

    async with asyncio.timeout(60):
        while not await caught_up():  # noqa: ASYNC110 - the state has no event to wait on
            await asyncio.sleep(0.01)
    # The pass was counted just before its pause queued its clock sleep; one turn of the
    # loop later that sleep is registered, so the next advance ends it.
    await asyncio.sleep(0)


async def test_heartbeats_of_workers_gone_are_ignored_then_deleted(backend: Backend) -> None:
    """A crashed worker's heartbeat counts while live, is ignored once expired and deleted
    once stale (STALE_PERIODS lease periods later); a clean stop deletes the worker's own.
    The clock moves a rebalance period at a time, each step once the worker caught up."""
    clock = ManualClock()
    repo = backend.checkpoints
    assert isinstance(repo, ProjectionLeases)
    ghost_name = f"{NAME}#workers/ghost"
    ghost = await repo.acquire_lease(ghost_name, "ghost", timedelta(seconds=3), now=clock.now())
    assert ghost is not None
    worker = ShardedRunner.from_backend(Recorder(), backend, shards=4, ownership=ALIVE, clock=clock)
    assert worker.rebalance_every == TICK
    worker.start()
    try:
        await until(lambda: worker.passes >= 1, timeout=60)  # joined, settling
        await asyncio.sleep(0)  # its first look's clock sleep is registered
        await _tick(clock, worker, repo)  # t = 0.5: the first look at the members
        await _tick(clock, worker, repo)  # t = 1.0: the same members: settled, a round
        assert worker.members == 2 and len(worker.owned) == 2, "the live ghost was not counted"
        while clock.monotonic() < 3.0:  # the ghost's heartbeat expires at 3 s: ignored
            await _tick(clock, worker, repo)
        assert worker.members == 1 and worker.owned == [0, 1, 2, 3]
        assert await repo.get_lease(ghost_name) == ghost, "deleted before it was stale"
        while clock.monotonic() < 3.0 + 3.0 * STALE_PERIODS:
            await _tick(clock, worker, repo)
        assert not stale_heartbeat(ghost, clock.now())  # stale only after 12 s
        assert await repo.get_lease(ghost_name) == ghost, "deleted before it was stale"
        await _tick(clock, worker, repo)  # now stale: this round deletes it
        assert stale_heartbeat(ghost, clock.now())
        assert await repo.get_lease(ghost_name) is None, "a stale heartbeat was kept"
        mine = await repo.get_lease(f"{NAME}#workers/alive")
        assert mine is not None and mine.is_live(clock.now())
        assert worker.owned == [0, 1, 2, 3], "a shard lease ran out while the worker was live"
    finally:
        await worker.stop()
    names = [lease.projection_name for lease in await repo.get_leases()]
    assert sorted(names) == worker.shard_names(), "a stopped worker's heartbeat was kept"


def _streams_in_shards(shards: list[int], count: int = 4) -> list[UUID]:
    """One new stream in each of ``shards`` (of ``count``), in that order."""
    found: list[UUID] = []
    for k in shards:
        agg = uuid4()
        while shard_of(agg, count) != k:
            agg = uuid4()
        found.append(agg)
    return found


async def test_replay_all_replays_every_shard_under_its_shard(backend: Backend) -> None:
    """replay_all of projection p finds the entries its shards parked (p#k/N), hands each
    to the handler under its own shard, and leaves other projections' entries alone."""
    bad = _streams_in_shards([1, 3])
    streams = [*bad, uuid4(), uuid4()]
    await append_streams(backend, streams, 3)
    projection = Recorder(poison=frozenset(bad))
    worker = ShardedRunner.from_backend(
        projection,
        backend,
        shards=4,
        ownership=FAST,
        retry=RetryPolicy(max_attempts=1, on_failure=FailureMode.SKIP),
    )
    worker.start()
    try:
        await until(lambda: len(projection.deliveries) >= len(streams) * 3 - 2)
    finally:
        await worker.stop()
    parked = {e.projection_name for e in await backend.dlq.get_failed_events(limit=100)}
    assert parked == {f"{NAME}#1/4", f"{NAME}#3/4"}
    stored = await backend.events.get_events(streams[2], "rttest.Cart")
    others = [f"{NAME}x#1/4", f"{NAME}#workers/w", f"{NAME}#4/4"]  # not p's shards
    for name in others:
        await backend.dlq.add_failed_event(
            stored.events[0].event_id, name, "rttest.ItemAdded", stored.events[0].to_dict(), "x"
        )
    projection.poison = frozenset()  # fixed
    one = ProjectionRunner.from_backend(projection, backend, shard=Shard(3, 4), ownership=False)
    only_3 = await one.replay_all()
    assert [r.ok for r in only_3] == [True], "a shard runner replays its own shard's entries"
    results = await DLQReplayer(backend.dlq, backend.events).replay_all(projection)
    assert [r.ok for r in results] == [True], [r.error for r in results]
    for agg, k in zip(bad, [1, 3], strict=True):
        assert [(s, n) for s, a, n in projection.deliveries if a == agg] == [
            (k, 0),
            (k, 2),
            (k, 1),
        ], "replayed under another shard"
    assert await backend.dlq.get_failed_events(f"{NAME}#1/4") == []
    left = {e.projection_name for e in await backend.dlq.get_failed_events(limit=100)}
    assert left == set(others)
    assert await worker.replay_all() == []


class RtCounted(DomainEvent):
    """An event that counts how often it is built (each decode of a stored row builds one)."""

    event_type: str = "rttest.Counted"
    n: int = 0
    built: ClassVar[int] = 0

    @model_validator(mode="after")
    def _count(self) -> RtCounted:
        RtCounted.built += 1
        return self


class CountedLog(Projection):
    """Records the streams it handled."""

    name = "rttest.counted"

    def __init__(self) -> None:
        self.streams: list[UUID] = []

    @handles(RtCounted)
    async def on_counted(self, event: RtCounted) -> None:
        self.streams.append(event.aggregate_id)


async def test_a_shard_reads_only_its_rows_where_the_store_filters(
    backend: Backend, backend_url: str
) -> None:
    """On SQLite and PostgreSQL (shard_reads) a shard's runner decodes its own shard's rows
    only (the log's last row, read to checkpoint past the others, is read lazily), not the
    whole log."""
    if backend_url.startswith("memory"):
        pytest.skip("the memory store keeps events decoded")
    streams = _streams_in_shards([0, 1, 2, 3] * 4)  # every shard holds some streams
    for agg in streams:
        events = [RtCounted(aggregate_id=agg, n=n) for n in range(3)]
        await backend.events.append_events(agg, "rttest.Cart", events, expected_version=0)
    head = await backend.events.get_global_position()
    shard = Shard(2, 4)
    mine = [agg for agg in streams if shard.holds(agg)]
    assert mine and len(mine) < len(streams)
    projection = CountedLog()
    runner = ProjectionRunner.from_backend(projection, backend, shard=shard, ownership=False)
    RtCounted.built = 0
    assert await runner.catch_up() == 3 * len(mine)
    assert RtCounted.built == 3 * len(mine), f"{RtCounted.built} rows decoded"
    assert sorted(set(projection.streams)) == sorted(mine)
    assert await backend.checkpoints.get_position(runner.name) == head
