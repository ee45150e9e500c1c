"""The lifecycle ProjectionRunner and OutboxRelay share (BackgroundWorker): one run at a time,
stop with a timeout, a cancelled stop() caller, settling writes that are never cut in half,
and waits on an injectable clock."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from eventsource import Backend, DomainEvent, InvalidStateError, WorkerBusyError
from eventsource.clock import ManualClock
from eventsource.repositories import OutboxEntry, OutboxStatus
from eventsource.runtime import (
    BackgroundWorker,
    Backoff,
    FailureMode,
    OutboxRelay,
    ProjectionRunner,
    ProjectionStoppedError,
    RetryPolicy,
    projection,
)

from ._events import RtItemAdded, append_items

#: Generous bound for things that happen at once; only a hang reaches it.
BOUND = 30


async def _add_entry(backend: Backend, n: int = 1) -> Any:
    return await backend.outbox.add_event(RtItemAdded(aggregate_id=uuid4(), n=n))


async def _until(predicate: Any) -> None:
    """Yield to the loop until ``predicate()`` holds (no wall-clock wait)."""
    for _ in range(100_000):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"{predicate} never held")


def test_both_workers_share_the_base() -> None:
    assert issubclass(ProjectionRunner, BackgroundWorker)
    assert issubclass(OutboxRelay, BackgroundWorker)
    assert issubclass(WorkerBusyError, InvalidStateError)


# -- one run at a time -------------------------------------------------------------------------


async def test_a_second_relay_run_is_refused_while_one_runs(backend: Backend) -> None:
    relay = OutboxRelay.from_backend(backend, "null", clock=ManualClock())
    first = asyncio.create_task(relay.run())
    await _until(lambda: relay.running)
    with pytest.raises(WorkerBusyError, match="relay:"):
        await relay.run()
    with pytest.raises(WorkerBusyError):
        relay.start()
    assert not first.done(), "the refused run disturbed the running one"
    relay.request_stop()
    await asyncio.wait_for(first, BOUND)
    assert not relay.running
    task = relay.start()  # idle again: it may run once more
    await relay.stop()
    assert task.done() and not relay.running


async def test_a_second_runner_run_or_catch_up_is_refused_while_one_runs(
    backend: Backend,
) -> None:
    await append_items(backend.events, 3)
    runner = ProjectionRunner.from_backend(projection("rt.busy", _ignore, [RtItemAdded]), backend)
    task = runner.start()
    await _until(lambda: runner.running)
    for second in (runner.run, runner.catch_up):
        with pytest.raises(WorkerBusyError, match=r"projection:rt\.busy"):
            await second()
    with pytest.raises(WorkerBusyError):
        runner.start()
    assert await runner.wait_for_position(3, timeout=BOUND)
    await runner.stop()
    assert task.done() and not task.cancelled() and task.exception() is None
    assert await runner.catch_up() == 0  # stopped: it may run again


async def _ignore(event: DomainEvent) -> None:
    return None


# -- stop --------------------------------------------------------------------------------------


async def test_stop_reraises_the_error_that_ended_the_worker(backend: Backend) -> None:
    await append_items(backend.events, 1)

    async def broken(event: DomainEvent) -> None:
        raise RuntimeError("read model down")

    runner = ProjectionRunner.from_backend(
        projection("rt.broken", broken, [RtItemAdded]),
        backend,
        retry=RetryPolicy(max_attempts=1, on_failure=FailureMode.STOP),
    )
    task = runner.start()
    await asyncio.wait({task}, timeout=BOUND)
    with pytest.raises(ProjectionStoppedError):
        await runner.stop()


async def test_stop_timeout_cancels_a_stuck_publish_and_hands_the_batch_back(
    backend: Backend,
) -> None:
    entry_id = await _add_entry(backend)
    entered = asyncio.Event()

    async def stuck(entry: OutboxEntry) -> None:
        entered.set()
        await asyncio.Event().wait()

    relay = OutboxRelay.from_backend(backend, stuck, clock=ManualClock())
    task = relay.start()
    await asyncio.wait_for(entered.wait(), BOUND)
    await relay.stop(timeout=0)
    assert task.cancelled() and not relay.running
    entry = await backend.outbox.get_entry(entry_id)
    assert entry.status is OutboxStatus.PENDING and entry.retry_count == 0


async def test_a_cancelled_stop_caller_gets_its_cancellation_while_the_worker_unwinds(
    backend: Backend,
) -> None:
    """stop(timeout=0) cancels the worker and waits for it to unwind; cancelling the caller
    of stop() then must cancel the caller (not be swallowed as if it were the worker's)."""
    await _add_entry(backend)
    entered, unwinding, unwound = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def slow_to_unwind(entry: OutboxEntry) -> None:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            unwinding.set()
            await unwound.wait()  # cleaning up takes a while
            raise

    relay = OutboxRelay.from_backend(backend, slow_to_unwind, clock=ManualClock())
    task = relay.start()
    await asyncio.wait_for(entered.wait(), BOUND)
    stopper = asyncio.create_task(relay.stop(timeout=0))
    await asyncio.wait_for(unwinding.wait(), BOUND)
    stopper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopper
    assert stopper.cancelled()
    assert not task.done(), "the caller's cancellation was passed on to the worker"
    unwound.set()
    await asyncio.wait({task}, timeout=BOUND)
    assert task.cancelled()


async def test_a_cancelled_graceful_stop_caller_is_cancelled_and_the_worker_still_stops(
    backend: Backend,
) -> None:
    await _add_entry(backend)
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(entry: OutboxEntry) -> None:
        entered.set()
        await release.wait()

    relay = OutboxRelay.from_backend(backend, slow, clock=ManualClock())
    task = relay.start()
    await asyncio.wait_for(entered.wait(), BOUND)
    stopper = asyncio.create_task(relay.stop(timeout=None))
    await _until(lambda: relay.stop_requested)
    stopper.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stopper
    release.set()  # the in-flight publish finishes; the requested stop ends the worker
    await asyncio.wait_for(task, BOUND)
    assert relay.stats().published == 1
    assert (await backend.outbox.get_stats()).published_count == 1


# -- settling writes ---------------------------------------------------------------------------


async def test_a_publish_cut_off_by_the_deadline_is_released_in_full(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The release after a timed-out publish runs outside the batch's deadline: a release
    that takes longer than the time left is finished, not cut off half way."""
    clock = ManualClock()
    backend.outbox.clock = clock
    entry_id = await _add_entry(backend)
    outbox = backend.outbox
    real_release = outbox.release
    releasing = asyncio.Event()

    async def slow_release(*args: Any, **kwargs: Any) -> None:
        releasing.set()
        await clock.sleep(5)  # a write that outlasts the deadline by far
        await real_release(*args, **kwargs)

    monkeypatch.setattr(outbox, "release", slow_release)

    async def stuck(entry: OutboxEntry) -> None:
        await asyncio.Event().wait()

    relay = OutboxRelay(
        outbox,
        stuck,
        lease=timedelta(seconds=10),
        lease_margin=timedelta(seconds=2),
        backoff=Backoff(initial=1, maximum=1, jitter=0),
        clock=clock,
    )
    batch = asyncio.create_task(relay.run_once())
    await asyncio.wait_for(clock.sleepers(1), BOUND)  # the publish's deadline is armed
    clock.advance(7.9)
    await asyncio.sleep(0)
    assert not releasing.is_set(), "cut off before lease - lease_margin"
    clock.advance(0.1)
    await asyncio.wait_for(releasing.wait(), BOUND)
    await asyncio.wait_for(clock.sleepers(1), BOUND)
    clock.advance(5)
    result = await asyncio.wait_for(batch, BOUND)
    assert (result.claimed, result.published, result.retried) == (1, 0, 1)
    entry = await outbox.get_entry(entry_id)
    assert entry.status is OutboxStatus.PENDING and entry.claimed_by is None
    assert entry.retry_count == 1
    assert entry.last_error is not None and "timed out" in entry.last_error
    # Released with the backoff as retry_after, on the same clock.
    assert await outbox.get_pending_events(10) == []
    clock.advance(1)
    assert [e.id for e in await outbox.get_pending_events(10)] == [entry_id]


async def test_a_mark_failed_in_flight_when_the_worker_is_cancelled_finishes(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry_id = await _add_entry(backend)
    outbox = backend.outbox
    real_mark_failed = outbox.mark_failed
    writing, go_on = asyncio.Event(), asyncio.Event()

    async def slow_mark_failed(outbox_id: Any, error: str) -> None:
        writing.set()
        await go_on.wait()
        await real_mark_failed(outbox_id, error)

    monkeypatch.setattr(outbox, "mark_failed", slow_mark_failed)

    async def rejecting(entry: OutboxEntry) -> None:
        raise ValueError("rejected by the broker")

    relay = OutboxRelay.from_backend(backend, rejecting, max_attempts=1, clock=ManualClock())
    task = relay.start()
    await asyncio.wait_for(writing.wait(), BOUND)
    stopper = asyncio.create_task(relay.stop(timeout=0))
    await _until(lambda: task.cancelling() > 0)
    assert not stopper.done(), "stop() returned while the write was still in flight"
    go_on.set()
    await asyncio.wait_for(stopper, BOUND)
    assert task.cancelled()
    entry = await outbox.get_entry(entry_id)
    assert entry.status is OutboxStatus.FAILED
    assert entry.last_error is not None and "rejected by the broker" in entry.last_error


# -- waits on the clock ------------------------------------------------------------------------


async def test_runner_retry_backoff_runs_on_the_clock(backend: Backend) -> None:
    await append_items(backend.events, 1)
    clock = ManualClock()
    attempts: list[int] = []

    async def flaky(event: DomainEvent) -> None:
        attempts.append(len(attempts))
        if len(attempts) == 1:
            raise RuntimeError("read model briefly down")

    runner = ProjectionRunner.from_backend(
        projection("rt.flaky", flaky, [RtItemAdded]),
        backend,
        retry=RetryPolicy(max_attempts=3, backoff=Backoff(initial=60, maximum=60, jitter=0)),
        clock=clock,
        ownership=False,  # the backoff is the only wait on the clock (no lease renewals)
    )
    runner.start()
    try:
        await asyncio.wait_for(clock.sleepers(1), BOUND)  # the backoff after attempt 1
        clock.advance(59)
        await asyncio.sleep(0)
        assert attempts == [0] and runner.position == 0
        clock.advance(1)
        assert await runner.wait_for_position(1, timeout=BOUND)
        assert attempts == [0, 1] and runner.stats().retries == 1
    finally:
        await runner.stop()


async def test_a_stop_ends_a_backoff_without_moving_the_clock(backend: Backend) -> None:
    await append_items(backend.events, 1)
    clock = ManualClock()

    async def broken(event: DomainEvent) -> None:
        raise RuntimeError("down")

    runner = ProjectionRunner.from_backend(
        projection("rt.down", broken, [RtItemAdded]),
        backend,
        retry=RetryPolicy(max_attempts=5, backoff=Backoff(initial=3600, jitter=0)),
        clock=clock,
        ownership=False,  # the backoff is the only wait on the clock (no lease renewals)
    )
    task = runner.start()
    await asyncio.wait_for(clock.sleepers(1), BOUND)
    await runner.stop(timeout=BOUND)
    assert task.done() and not task.cancelled()
    assert clock.monotonic() == 0 and runner.position == 0  # abandoned, not checkpointed
    assert await backend.checkpoints.get_position("rt.down") in (None, 0)


async def test_relay_polls_on_the_clock(backend: Backend) -> None:
    clock = ManualClock()
    published: list[int] = []

    async def publish(entry: OutboxEntry) -> None:
        published.append(entry.event_data["n"])

    # No store: only the clock's poll interval wakes the idle worker.
    relay = OutboxRelay(backend.outbox, publish, poll_interval=10, clock=clock)
    relay.start()
    try:
        await asyncio.wait_for(clock.sleepers(1), BOUND)  # idle: nothing to publish
        await _add_entry(backend, 7)
        await asyncio.sleep(0)
        assert published == []
        clock.advance(10)
        await _until(lambda: published == [7])
    finally:
        await relay.stop()
