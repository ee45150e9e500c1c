"""The outbox relay: many workers publish each entry exactly once; retries, failures, leases."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from eventsource import Backend, ConfigurationError, StorageError, open_backend
from eventsource.clock import ManualClock
from eventsource.repositories import OutboxEntry, OutboxStatus
from eventsource.runtime import Backoff, OutboxRelay

from ._events import RtItemAdded

FAST = Backoff(initial=0.01, maximum=0.02, jitter=0)


async def fill_outbox(backend: Backend, count: int, per_batch: int = 200) -> None:
    """Append ``count`` events with their outbox entries (the transactional outbox)."""
    done = 0
    while done < count:
        size = min(per_batch, count - done)
        agg = uuid4()
        events = [RtItemAdded(aggregate_id=agg, n=done + i) for i in range(size)]
        await backend.events.append_events(agg, "rttest.Cart", events, -1, outbox=True)
        done += size


@contextlib.asynccontextmanager
async def open_many(url: str, count: int) -> AsyncIterator[list[Backend]]:
    """``count`` backends over one database: separate connections racing each other."""
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(open_backend(url)) for _ in range(count)]


async def wait_until_settled(backend: Backend, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        stats = await backend.outbox.get_stats()
        if stats.pending_count == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"outbox not settled: {await backend.outbox.get_stats()}")


async def test_many_workers_publish_each_entry_exactly_once(backend_url: str) -> None:
    published: Counter[UUID] = Counter()
    in_flight: set[UUID] = set()
    overlaps: list[UUID] = []

    async def publish(entry: OutboxEntry) -> None:
        if entry.id in in_flight:
            overlaps.append(entry.id)
        in_flight.add(entry.id)
        await asyncio.sleep(0)
        published[entry.id] += 1
        in_flight.discard(entry.id)

    async with open_many(backend_url, 4) as backends:
        await fill_outbox(backends[0], 2000)
        relays = [
            OutboxRelay.from_backend(
                b, publish, worker_id=f"w{i}", batch_size=50, poll_interval=0.02
            )
            for i, b in enumerate(backends)
        ]
        for relay in relays:
            relay.start()
        try:
            await wait_until_settled(backends[0], timeout=60)
        finally:
            for relay in relays:
                await relay.stop()
        stats = await backends[0].outbox.get_stats()
    assert overlaps == []
    assert len(published) == 2000
    assert set(published.values()) == {1}
    assert stats.published_count == 2000 and stats.pending_count == 0
    counts = [r.stats().published for r in relays]
    assert sum(counts) == 2000
    assert sum(1 for c in counts if c) >= 2  # the work was actually shared


async def test_failures_are_retried_with_backoff_then_marked_failed(backend: Backend) -> None:
    await fill_outbox(backend, 6)
    attempts: Counter[int] = Counter()

    async def flaky(entry: OutboxEntry) -> None:
        n = entry.event_data["n"]
        attempts[n] += 1
        if n == 2 and attempts[n] <= 2:
            raise ConnectionError("broker unavailable")
        if n == 4:
            raise ValueError("rejected by the broker")

    clock = ManualClock()
    backend.outbox.clock = clock
    backoff = Backoff(initial=15, maximum=15, jitter=0)
    relay = OutboxRelay.from_backend(backend, flaky, max_attempts=3, backoff=backoff, clock=clock)
    first = await relay.run_once()
    assert (first.claimed, first.published, first.retried) == (6, 4, 2)
    # Released with retry_after: not claimable before the backoff has passed.
    assert (await relay.run_once()).claimed == 0
    clock.advance(14.9)
    assert (await relay.run_once()).claimed == 0
    for _ in range(2):
        clock.advance(0.1 + 15)
        await relay.run_once()
    stats = await backend.outbox.get_stats()
    assert (stats.published_count, stats.failed_count, stats.pending_count) == (5, 1, 0)
    assert attempts[2] == 3 and attempts[4] == 3
    relay_stats = relay.stats()
    assert relay_stats.published == 5 and relay_stats.failed == 1 and relay_stats.retried == 4
    assert relay_stats.last_error is not None


async def test_failed_entry_records_its_error(backend: Backend) -> None:
    entry_id = await backend.outbox.add_event(RtItemAdded(aggregate_id=uuid4(), n=1))

    async def broken(entry: OutboxEntry) -> None:
        raise ValueError("no such topic")

    relay = OutboxRelay.from_backend(backend, broken, max_attempts=1)
    assert (await relay.run_once()).failed == 1
    entry = await backend.outbox.get_entry(entry_id)
    assert entry.status is OutboxStatus.FAILED
    assert entry.last_error is not None and "no such topic" in entry.last_error


class _UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str")


async def test_a_publisher_error_that_cannot_be_printed_is_recorded(backend: Backend) -> None:
    entry_id = await backend.outbox.add_event(RtItemAdded(aggregate_id=uuid4(), n=1))

    async def broken(entry: OutboxEntry) -> None:
        raise _UnprintableError()

    relay = OutboxRelay.from_backend(backend, broken, max_attempts=1)
    assert (await relay.run_once()).failed == 1
    entry = await backend.outbox.get_entry(entry_id)
    assert entry.status is OutboxStatus.FAILED
    assert entry.last_error == "_UnprintableError: _UnprintableError()"


async def test_crashed_workers_claims_are_published_after_their_lease(backend_url: str) -> None:
    published: Counter[UUID] = Counter()

    async def publish(entry: OutboxEntry) -> None:
        published[entry.id] += 1

    clock = ManualClock()
    async with open_many(backend_url, 2) as (crashed, alive):
        crashed.outbox.clock = alive.outbox.clock = clock
        await fill_outbox(crashed, 30)
        # A worker claims everything and dies without publishing.
        claimed = await crashed.outbox.get_pending_events(
            100, worker_id="crashed", lease=timedelta(seconds=30)
        )
        assert len(claimed) == 30
        relay = OutboxRelay.from_backend(alive, publish, clock=clock)
        assert (await relay.run_once()).claimed == 0  # still leased
        clock.advance(29.9)
        assert (await relay.run_once()).claimed == 0
        clock.advance(0.1)
        assert await relay.drain(timeout=10) == 30
    assert set(published) == {e.id for e in claimed}
    assert set(published.values()) == {1}


async def test_a_publish_outliving_its_lease_is_cut_off(backend_url: str) -> None:
    """A publish still running lease_margin before its claim runs out is cut off and the
    entry released; another worker claims it only after the lease, so no two publishes of
    one entry ever overlap."""
    clock = ManualClock()
    starts: Counter[UUID] = Counter()
    active: set[UUID] = set()
    overlaps: list[UUID] = []
    done: Counter[UUID] = Counter()

    async def slow_first(entry: OutboxEntry) -> None:
        if entry.id in active:
            overlaps.append(entry.id)
        active.add(entry.id)
        starts[entry.id] += 1
        try:
            if starts[entry.id] == 1:
                await clock.sleep(3600)  # far longer than the lease
            done[entry.id] += 1
        finally:
            active.discard(entry.id)

    lease, margin = timedelta(seconds=30), timedelta(seconds=2)
    async with open_many(backend_url, 2) as backends:
        for b in backends:
            b.outbox.clock = clock
        entry_id = await backends[0].outbox.add_event(RtItemAdded(aggregate_id=uuid4(), n=1))
        one, two = [
            OutboxRelay.from_backend(
                b, slow_first, lease=lease, lease_margin=margin, backoff=FAST, clock=clock
            )
            for b in backends
        ]
        first = asyncio.create_task(one.run_once())
        await asyncio.wait_for(clock.sleepers(2), 30)  # the deadline and the slow publish
        assert (await two.run_once()).claimed == 0  # claimed by the first worker
        clock.advance(lease - margin)
        result = await asyncio.wait_for(first, 30)
        assert (result.claimed, result.published, result.retried) == (1, 0, 1)
        clock.advance(FAST.maximum)  # the retry's backoff
        assert (await two.run_once()).published == 1
        entry = await backends[0].outbox.get_entry(entry_id)
    assert overlaps == []
    assert done[entry_id] == 1 and starts[entry_id] == 2
    assert entry.status is OutboxStatus.PUBLISHED and entry.retry_count == 1


async def test_stopping_mid_batch_hands_the_rest_back(backend: Backend) -> None:
    await fill_outbox(backend, 10)
    relay = OutboxRelay.from_backend(backend, "null", batch_size=10)
    seen: list[int] = []

    async def stop_after_three(entry: OutboxEntry) -> None:
        seen.append(entry.event_data["n"])
        if len(seen) == 3:
            relay.request_stop()

    relay.publisher = stop_after_three
    result = await relay.run_once()
    assert (result.claimed, result.published) == (10, 3)
    other = OutboxRelay.from_backend(backend, "null")
    assert (await other.run_once()).published == 7  # no wait for the lease


async def test_named_publishers(backend: Backend, caplog: pytest.LogCaptureFixture) -> None:
    await fill_outbox(backend, 3)
    caplog.set_level(logging.INFO, logger="rttest.outbox")
    relay = OutboxRelay.from_backend(backend, "log", publisher_options={"logger": "rttest.outbox"})
    assert await relay.drain() == 3
    assert sum("rttest.ItemAdded" in r.getMessage() for r in caplog.records) == 3


async def test_bad_relay_configuration_is_refused(backend: Backend) -> None:
    with pytest.raises(ConfigurationError):
        OutboxRelay.from_backend(backend, "no-such-publisher")
    with pytest.raises(ConfigurationError):
        OutboxRelay.from_backend(backend, "null", batch_size=0)
    with pytest.raises(ConfigurationError):
        OutboxRelay.from_backend(backend, "null", lease=timedelta(0))
    with pytest.raises(ConfigurationError):
        OutboxRelay.from_backend(backend, 42)  # type: ignore[arg-type]


async def test_a_storage_error_reading_the_head_does_not_end_the_relay(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run() reads the store's head before each batch; a StorageError there is ridden out
    like any other storage error (logged, retried after backoff), not fatal."""
    await fill_outbox(backend, 3)
    store = backend.events
    real = store.get_global_position
    failures = 2

    async def flaky() -> int:
        nonlocal failures
        if failures:
            failures -= 1
            raise StorageError("database briefly unreachable")
        return await real()

    monkeypatch.setattr(store, "get_global_position", flaky)
    relay = OutboxRelay.from_backend(backend, "null", backoff=FAST, poll_interval=0.01)
    task = relay.start()
    try:
        await wait_until_settled(backend, timeout=5)
        assert not task.done(), task.exception() if task.done() else None
    finally:
        await relay.stop(timeout=5)
    assert failures == 0
    assert relay.stats().published == 3
