"""One owner per projection: runners stand by, take over, and are fenced once deposed."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from eventsource import (
    Backend,
    ConfigurationError,
    OwnershipLostError,
    ProjectionOwnedError,
    open_backend,
)
from eventsource.clock import ManualClock
from eventsource.runtime import Ownership, ProjectionRunner, RunnerState
from eventsource.runtime._ownership import OwnershipKeeper
from eventsource.spi import ProjectionLeases

from ._events import RtItemAdded, append_items
from .test_runner import ItemLog

FAST = Ownership(ttl=3.0, renew_every=1.0, standby_poll=0.05)


async def _until(predicate: object, timeout: float = 20.0) -> None:
    async with asyncio.timeout(timeout):
        while True:
            if predicate():  # type: ignore[operator]
                return
            await asyncio.sleep(0.01)


def _leases(backend: Backend) -> ProjectionLeases:
    repo = backend.checkpoints
    assert isinstance(repo, ProjectionLeases)
    return repo


async def test_a_second_runner_stands_by_and_takes_over_when_the_owner_stops(
    backend: Backend, backend_url: str
) -> None:
    async with open_backend(backend_url) as other:
        first, second = ItemLog(), ItemLog()
        a = ProjectionRunner.from_backend(first, backend, ownership=FAST, checkpoint_every=10)
        b = ProjectionRunner.from_backend(second, other, ownership=FAST, checkpoint_every=10)
        a.start()
        await _until(lambda: a.lease is not None)
        b.start()
        await _until(lambda: b.stats().state is RunnerState.STANDBY)
        await append_items(backend.events, 50)
        assert await a.wait_for_position(50, timeout=20)
        assert second.seen == [] and b.lease is None
        owners = await _leases(backend).get_leases()
        assert [(x.projection_name, x.owner_id) for x in owners] == [(a.name, a.owner_id)]
        await a.stop()
        await _until(lambda: b.lease is not None)
        assert b.lease is not None and a.lease is None
        assert b.lease.token > owners[0].token
        await append_items(backend.events, 50, start=50)
        assert await b.wait_for_position(100, timeout=20)
        await b.stop()
    assert first.seen == list(range(50)), "the owner delivered after it stopped"
    assert second.seen == list(range(50, 100)), "the standby did not resume from the checkpoint"
    assert await backend.checkpoints.get_position(a.name) == 100


async def test_a_deposed_owner_writes_no_checkpoint_and_stands_by(
    backend: Backend, backend_url: str
) -> None:
    clock = ManualClock()
    log = ItemLog()
    runner = ProjectionRunner.from_backend(
        log, backend, ownership=FAST, clock=clock, checkpoint_every=1
    )
    runner.start()
    try:
        await _until(lambda: runner.lease is not None)
        held = runner.lease
        assert held is not None
        async with open_backend(backend_url) as other:
            # Another owner takes over (as if the lease had expired: judged at a later now).
            thief = await _leases(other).acquire_lease(
                runner.name, "thief", timedelta(seconds=3), now=clock.now() + timedelta(hours=1)
            )
            assert thief is not None and thief.token > held.token
            await append_items(backend.events, 5)
            await _until(lambda: runner.stats().state is RunnerState.STANDBY and log.seen)
            assert runner.lease is None
            assert await backend.checkpoints.get_position(runner.name) is None, (
                "the deposed owner wrote a checkpoint"
            )
            assert len(log.seen) == 1, "it went on delivering after its checkpoint was refused"
            await _leases(other).release_lease(thief, now=clock.now() + timedelta(hours=1))
        await clock.sleepers()
        clock.advance(FAST.standby_poll)  # the standby asks again, and owns it
        assert await runner.wait_for_position(5, timeout=20)
        assert runner.lease is not None and runner.lease.token > thief.token
    finally:
        await runner.stop()
    assert log.seen == [0, *range(5)]  # the refused batch (one event) delivered again
    assert await backend.checkpoints.get_position(runner.name) == 5


async def test_the_owner_stops_delivering_once_its_lease_runs_out(backend: Backend) -> None:
    clock = ManualClock()
    keeper = OwnershipKeeper(_leases(backend), "rttest.keeper", FAST, clock)
    stop = asyncio.Event()
    lease = await keeper.acquire(stop)
    assert lease is not None and keeper.check() == lease
    clock.advance(FAST.ttl)  # no renewal got through in time
    with pytest.raises(OwnershipLostError):
        keeper.check()
    assert keeper.lease is None and keeper.lost.is_set() and keeper.losses == 1
    await keeper.release()


async def test_the_owner_renews_in_the_background(backend: Backend) -> None:
    clock = ManualClock()
    keeper = OwnershipKeeper(_leases(backend), "rttest.keeper", FAST, clock)
    lease = await keeper.acquire(asyncio.Event())
    assert lease is not None
    for _ in range(5):
        await clock.sleepers()
        clock.advance(FAST.renew_every)
        await _until(
            lambda: (
                keeper.lease is not None
                and keeper.lease.expires_at == clock.now() + timedelta(seconds=FAST.ttl)
            )
        )
    assert keeper.check().token == lease.token
    stored = await _leases(backend).get_lease("rttest.keeper")
    assert stored is not None and stored.expires_at == clock.now() + timedelta(seconds=FAST.ttl)
    await keeper.release()
    released = await _leases(backend).get_lease("rttest.keeper")
    assert released is not None and released.released_at is not None


async def test_catch_up_and_rebuild_are_refused_while_another_runner_owns(
    backend: Backend, backend_url: str
) -> None:
    await append_items(backend.events, 10)
    owner = ProjectionRunner.from_backend(ItemLog(), backend, ownership=FAST)
    owner.start()
    try:
        assert await owner.wait_for_position(10, timeout=20)
        async with open_backend(backend_url) as other:
            late = ItemLog()
            patient = Ownership(ttl=0.3, renew_every=0.1, standby_poll=0.05)
            intruder = ProjectionRunner.from_backend(late, other, ownership=patient)
            with pytest.raises(ProjectionOwnedError) as caught:
                await intruder.catch_up()
            assert caught.value.owner_id == owner.owner_id
            with pytest.raises(ProjectionOwnedError):
                await intruder.rebuild()
            assert late.seen == [] and not intruder.running
    finally:
        await owner.stop()
    assert await backend.checkpoints.get_position(owner.name) == 10, "the rebuild reset it"


async def test_catch_up_after_a_crash_waits_for_the_dead_owners_lease(
    backend: Backend,
) -> None:
    await append_items(backend.events, 4)
    clock = ManualClock()
    dead = await _leases(backend).acquire_lease(
        "rttest.ItemLog", "crashed", timedelta(seconds=FAST.ttl), now=clock.now()
    )
    assert dead is not None
    log = ItemLog()
    runner = ProjectionRunner.from_backend(log, backend, ownership=FAST, clock=clock)
    catching_up = asyncio.ensure_future(runner.catch_up())
    await clock.sleepers()
    assert not catching_up.done() and log.seen == []
    clock.advance(FAST.ttl)  # the dead owner's lease runs out
    assert await catching_up == 4
    assert log.seen == list(range(4))
    stored = await _leases(backend).get_lease("rttest.ItemLog")
    assert stored is not None and stored.token > dead.token and stored.released_at is not None


async def test_ownership_false_takes_no_lease(backend: Backend) -> None:
    await append_items(backend.events, 3)
    runner = ProjectionRunner.from_backend(ItemLog(), backend, ownership=False)
    assert await runner.catch_up() == 3
    assert runner.lease is None and runner.owner_id is None
    assert await _leases(backend).get_leases() == []


def test_ownership_options_are_checked() -> None:
    with pytest.raises(ConfigurationError):
        Ownership(ttl=1.0, renew_every=1.0)
    with pytest.raises(ConfigurationError):
        Ownership(standby_poll=0)


async def test_a_fenced_sqlite_projection_refuses_a_deposed_owner(tmp_path: Path) -> None:
    sqlite_projection = pytest.importorskip("eventsource_sqlite").SQLiteProjection

    class Seen(sqlite_projection):  # type: ignore[misc,valid-type]
        name = "rttest.fenced"

        def setup(self, conn: object) -> None:
            conn.execute("CREATE TABLE IF NOT EXISTS seen (n INTEGER)")  # type: ignore[attr-defined]

        def apply(self, conn: object, event: object, global_position: int | None) -> None:
            conn.execute("INSERT INTO seen VALUES (?)", (event.n,))  # type: ignore[attr-defined]

    db = tmp_path / "fenced.db"
    old_event = RtItemAdded(aggregate_id=uuid4(), n=1)
    new_event = RtItemAdded(aggregate_id=uuid4(), n=2)
    async with Seen(db) as old, Seen(db) as new:
        await old.fence(1)
        await old.handle_at(old_event, 1)
        await new.fence(2)
        with pytest.raises(OwnershipLostError):
            await old.handle_at(new_event, 2)
        with pytest.raises(OwnershipLostError):
            await old.store_position(3)
        with pytest.raises(OwnershipLostError):
            await old.fence(1)
        await new.handle_at(new_event, 2)
        assert await new.load_position() == 2
        await new.reset()
        with pytest.raises(OwnershipLostError):  # a rebuild keeps the fence
            await old.handle_at(old_event, 1)


async def test_forget_lease_racing_renew_never_forgets_a_renewed_lease(
    backend: Backend, backend_url: str
) -> None:
    """``forget_lease`` (cutoff: the lease's expiry) on one connection while the owner's keeper
    renews the lease on another: either the lease is gone and the keeper raises
    :class:`OwnershipLostError`, or the renewal won and the renewed lease is stored; never a
    renewed lease that forget_lease reported as forgotten."""
    if backend_url.startswith("memory://"):
        pytest.skip("a memory:// database has no second connection")
    ttl = timedelta(seconds=FAST.ttl)
    outcomes = {"forgotten": 0, "renewed": 0}
    async with open_backend(backend_url) as other:
        reaper = _leases(other)
        for i in range(30):
            name = f"rttest.race-{i}"
            clock = ManualClock()
            keeper = OwnershipKeeper(_leases(backend), name, FAST, clock)
            lease = await keeper.acquire(asyncio.Event())
            assert lease is not None and lease.expires_at == clock.now() + ttl
            await clock.sleepers()
            clock.advance(FAST.renew_every)  # the keeper's renewal starts ...
            forgotten = await reaper.forget_lease(lease, expired_before=lease.expires_at)
            await _until(lambda k=keeper, held=lease: k.lost.is_set() or k.lease is not held)
            stored = await reaper.get_lease(name)
            if forgotten:
                outcomes["forgotten"] += 1
                assert stored is None, f"{name}: forgotten, yet the row is there"
                assert keeper.lost.is_set(), f"{name}: renewed a lease forget_lease deleted"
                with pytest.raises(OwnershipLostError):
                    keeper.check()
            else:
                outcomes["renewed"] += 1
                assert not keeper.lost.is_set(), f"{name}: neither forgotten nor renewed"
                assert stored is not None and stored == keeper.check()
                assert stored.expires_at == clock.now() + ttl > lease.expires_at
            await keeper.release()
    assert sum(outcomes.values()) == 30, outcomes
