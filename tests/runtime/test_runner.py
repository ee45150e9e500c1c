"""The projection runner end to end: catch-up, live, checkpoints, shutdown, rebuild, stats."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from uuid import uuid4

import pytest

from eventsource import Backend, ConfigurationError, DomainEvent, InvalidStateError, open_backend
from eventsource.runtime import (
    Backoff,
    FailureMode,
    Projection,
    ProjectionRunner,
    ProjectionStoppedError,
    RebuildProgress,
    RetryPolicy,
    RunnerState,
    SubscriptionRunner,
    handles,
    projection,
)

from ._events import RtItemAdded, RtNoteWritten, append_items


class ItemLog(Projection):
    """Remembers every ``n`` it sees, in order."""

    name = "rttest.ItemLog"

    def __init__(self) -> None:
        self.seen: list[int] = []

    @handles(RtItemAdded)
    async def on_item(self, event: RtItemAdded) -> None:
        self.seen.append(event.n)

    async def reset(self) -> None:
        self.seen.clear()


async def test_catches_up_over_thousands_then_sees_new_events_live(backend: Backend) -> None:
    await append_items(backend.events, 3000, per_batch=500)
    log = ItemLog()
    runner = ProjectionRunner.from_backend(log, backend)
    runner.start()
    try:
        assert await runner.wait_for_position(3000, timeout=30)
        assert log.seen == list(range(3000))
        assert runner.stats().state is RunnerState.LIVE or await _until_live(runner)
        # Live: new events arrive while the runner waits.
        for i in range(5):
            result = await _append_one(backend, 3000 + i)
            assert await runner.wait_for_position(result, timeout=5)
        assert log.seen == list(range(3005))
    finally:
        await runner.stop()
    assert await backend.checkpoints.get_position(log.name) == 3005
    stats = runner.stats()
    assert stats.state is RunnerState.STOPPED
    assert stats.events_handled == 3005
    assert stats.position == 3005
    assert stats.lag == 0


async def _append_one(backend: Backend, n: int) -> int:
    agg = uuid4()
    result = await backend.events.append_events(
        agg, "rttest.Cart", [RtItemAdded(aggregate_id=agg, n=n)], -1
    )
    return result.global_position


async def _until_live(runner: ProjectionRunner) -> bool:
    for _ in range(200):
        if runner.stats().state is RunnerState.LIVE:
            return True
        await asyncio.sleep(0.01)
    return False


async def test_resumes_after_the_checkpoint_without_redelivering(backend: Backend) -> None:
    await append_items(backend.events, 250)
    first = ItemLog()
    assert await ProjectionRunner.from_backend(first, backend).catch_up() == 250
    await append_items(backend.events, 50, start=250)
    second = ItemLog()
    assert await ProjectionRunner.from_backend(second, backend).catch_up() == 50
    assert second.seen == list(range(250, 300))  # from_position is exclusive
    assert await backend.checkpoints.get_position(first.name) == 300


async def test_only_wanted_types_are_delivered_and_others_do_not_spin(backend: Backend) -> None:
    agg = uuid4()
    await backend.events.append_events(
        agg,
        "rttest.Cart",
        [RtNoteWritten(aggregate_id=agg, text=str(i)) for i in range(20)],
        -1,
    )
    log = ItemLog()
    store = backend.events
    reads = 0
    original = store.read_all

    def counting_read_all(options=None):  # type: ignore[no-untyped-def]
        nonlocal reads
        reads += 1
        return original(options)

    store.read_all = counting_read_all  # type: ignore[method-assign]
    waits = 0
    three_waits = asyncio.Event()
    original_wait = store.wait_for_events

    async def counting_wait(after_position: int, timeout: float) -> bool:
        nonlocal waits
        waits += 1
        if waits >= 3:
            three_waits.set()
        return await original_wait(after_position, timeout)

    store.wait_for_events = counting_wait  # type: ignore[method-assign]
    runner = ProjectionRunner.from_backend(log, backend, wait_timeout=0.05)
    runner.start()
    try:
        assert await runner.wait_for_position(20, timeout=30)
        assert runner.stats().events_handled == 0
        # Two waits timed out with nothing new; a busy loop would have re-read the notes.
        await asyncio.wait_for(three_waits.wait(), 30)
        assert reads == 1, reads  # timed-out waits do not re-read
        position = await _append_one(backend, 7)
        assert await runner.wait_for_position(position, timeout=5)
        assert log.seen == [7]
    finally:
        await runner.stop()


async def test_graceful_stop_finishes_the_in_flight_event(backend: Backend) -> None:
    await append_items(backend.events, 10)
    started = asyncio.Event()
    release = asyncio.Event()
    seen: list[int] = []

    async def slow(event: DomainEvent) -> None:
        assert isinstance(event, RtItemAdded)
        if event.n == 3:
            started.set()
            await release.wait()
        seen.append(event.n)

    runner = ProjectionRunner.from_backend(
        projection("rttest.slow", slow, [RtItemAdded]), backend, checkpoint_every=1000
    )
    runner.start()
    await asyncio.wait_for(started.wait(), 5)
    stopping = asyncio.create_task(runner.stop(timeout=5))
    await asyncio.sleep(0.05)
    assert not stopping.done()  # it waits for the in-flight event
    release.set()
    await stopping
    assert seen == [0, 1, 2, 3]
    assert await backend.checkpoints.get_position("rttest.slow") == 4


async def test_abandoned_event_is_not_checkpointed(backend: Backend) -> None:
    await append_items(backend.events, 10)
    started = asyncio.Event()
    seen: list[int] = []

    async def stuck(event: DomainEvent) -> None:
        assert isinstance(event, RtItemAdded)
        if event.n == 5:
            started.set()
            await asyncio.sleep(60)
        seen.append(event.n)

    runner = ProjectionRunner.from_backend(
        projection("rttest.stuck", stuck, [RtItemAdded]), backend, checkpoint_every=1000
    )
    runner.start()
    await asyncio.wait_for(started.wait(), 5)
    await runner.stop(timeout=0.05)  # abandon
    assert seen == [0, 1, 2, 3, 4]
    assert await backend.checkpoints.get_position("rttest.stuck") == 5
    assert runner.stats().state is RunnerState.STOPPED


async def test_rebuild_replays_from_the_start_with_progress(backend: Backend) -> None:
    await append_items(backend.events, 2500, per_batch=500)
    log = ItemLog()
    runner = ProjectionRunner.from_backend(log, backend)
    await runner.catch_up()
    log.seen.append(-1)  # a corrupted read model that the rebuild must clear
    reports: list[RebuildProgress] = []
    assert await runner.rebuild(progress=reports.append, every=1000) == 2500
    assert log.seen == list(range(2500))
    assert [r.handled for r in reports] == [1000, 2000, 2500]
    assert reports[-1].done and reports[-1].fraction == 1.0
    assert not reports[0].done and 0 < reports[0].fraction < 1


async def test_rebuild_while_running_is_refused_but_subscription_rebuild_restarts(
    backend: Backend,
) -> None:
    await append_items(backend.events, 100)
    log = ItemLog()
    async with SubscriptionRunner([log], backend=backend) as subs:
        assert await subs.wait_for_position(100, timeout=5)
        with pytest.raises(InvalidStateError):
            await subs.runner(log.name).rebuild()
        assert await subs.rebuild(log.name) == 100
        assert log.seen == list(range(100))
        position = await _append_one(backend, 100)
        assert await subs.wait_for_position(position, timeout=5)
        assert log.seen == list(range(101))


async def test_many_projections_each_keep_their_own_checkpoint(backend: Backend) -> None:
    await append_items(backend.events, 300)
    totals: dict[str, int] = {"a": 0, "b": 0}

    def adder(key: str):  # type: ignore[no-untyped-def]
        async def handle(event: DomainEvent) -> None:
            assert isinstance(event, RtItemAdded)
            totals[key] += event.n

        return handle

    a = projection("rttest.sum-a", adder("a"), [RtItemAdded])
    b = projection("rttest.sum-b", adder("b"), ["rttest.ItemAdded"])
    async with SubscriptionRunner([a, b], backend=backend) as subs:
        assert await subs.wait_for_position(300, timeout=10)
        stats = subs.stats()
    assert totals == {"a": sum(range(300)), "b": sum(range(300))}
    assert {s.events_handled for s in stats.values()} == {300}
    assert await backend.checkpoints.get_position("rttest.sum-a") == 300
    assert await backend.checkpoints.get_position("rttest.sum-b") == 300
    lag = await subs.runner("rttest.sum-a").lag()
    assert lag is not None and lag.lag_events == 0


async def test_stats_report_lag_and_throughput(backend: Backend) -> None:
    await append_items(backend.events, 500)
    runner = ProjectionRunner.from_backend(ItemLog(), backend)
    before = runner.stats()
    assert before.state is RunnerState.IDLE and before.events_handled == 0
    await runner.catch_up()
    after = runner.stats()
    assert after.events_handled == 500 and after.lag == 0
    assert after.throughput > 0
    assert after.last_handled_at is not None
    await append_items(backend.events, 20, start=500)
    await runner.catch_up()
    assert runner.stats().events_handled == 520


async def test_bad_configuration_is_refused(backend: Backend) -> None:
    with pytest.raises(ConfigurationError):
        ProjectionRunner.from_backend(object(), backend)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        ProjectionRunner.from_backend(ItemLog(), backend, checkpoint_every=0)
    with pytest.raises(ConfigurationError):
        SubscriptionRunner([ItemLog(), ItemLog()], backend=backend)
    with pytest.raises(ConfigurationError):
        SubscriptionRunner([ItemLog()])
    runner = ProjectionRunner.from_backend(ItemLog(), backend)
    runner.start()
    try:
        with pytest.raises(InvalidStateError):
            runner.start()
    finally:
        await runner.stop()


async def test_runner_rides_out_a_locked_database(tmp_path: Path) -> None:
    pytest.importorskip("eventsource_sqlite")
    db = tmp_path / "locked.db"
    async with open_backend(f"sqlite:///{db}?busy_timeout=20") as backend:
        await append_items(backend.events, 10)
        log = ItemLog()
        runner = ProjectionRunner.from_backend(
            log,
            backend,
            checkpoint_every=1,
            storage_backoff=Backoff(initial=0.02, maximum=0.05, jitter=0),
        )
        # Another connection holds the write lock: checkpoint writes fail for a while.
        locker = sqlite3.connect(db, isolation_level=None)
        try:
            locker.execute("BEGIN IMMEDIATE")
            runner.start()
            for _ in range(250):
                if runner.stats().storage_errors >= 2:
                    break
                await asyncio.sleep(0.02)
            assert runner.stats().storage_errors >= 2
            assert runner.stats().state is not RunnerState.FAILED
        finally:
            locker.rollback()
            locker.close()
        assert await runner.wait_for_position(10, timeout=5)
        await runner.stop()
        assert log.seen == list(range(10))  # nothing lost, nothing repeated
        assert await backend.checkpoints.get_position(log.name) == 10
        stats = runner.stats()
        assert stats.last_error is not None and "lock" in stats.last_error.lower()


async def test_subscription_catch_up_waits_for_every_projection_when_one_fails(
    backend: Backend,
) -> None:
    """When one projection's catch-up fails, SubscriptionRunner.catch_up still waits for the
    others (no catch-up left running in the background), records the error, then raises it."""
    await append_items(backend.events, 20)
    slow_seen: list[int] = []

    async def slow(event: DomainEvent) -> None:
        assert isinstance(event, RtItemAdded)
        await asyncio.sleep(0.005)
        slow_seen.append(event.n)

    async def broken(event: DomainEvent) -> None:
        raise RuntimeError("read model down")

    stop_at_once = RetryPolicy(max_attempts=1, on_failure=FailureMode.STOP)
    subs = SubscriptionRunner(
        [
            projection("rttest.slow", slow, [RtItemAdded]),
            projection("rttest.broken", broken, retry_policy=stop_at_once),
        ],
        backend=backend,
    )
    with pytest.raises(ProjectionStoppedError):
        await subs.catch_up()
    assert not subs.runner("rttest.slow").running, "a catch-up was left running"
    assert slow_seen == list(range(20))
    assert isinstance(subs.errors()["rttest.broken"], ProjectionStoppedError)
