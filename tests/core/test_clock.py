"""eventsource.clock: the system clock, and a manual clock that moves only when told to."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from eventsource import InvalidArgumentError
from eventsource.clock import SYSTEM_CLOCK, Clock, ManualClock, SystemClock


def test_both_clocks_are_clocks() -> None:
    assert isinstance(SYSTEM_CLOCK, Clock) and isinstance(SYSTEM_CLOCK, SystemClock)
    assert isinstance(ManualClock(), Clock)


async def test_system_clock_reads_real_time() -> None:
    before = datetime.now(UTC)
    now = SYSTEM_CLOCK.now()
    assert now.tzinfo is not None and now >= before
    first = SYSTEM_CLOCK.monotonic()
    await SYSTEM_CLOCK.sleep(0)
    assert SYSTEM_CLOCK.monotonic() >= first


async def test_system_clock_timeout_at_a_past_deadline_expires() -> None:
    with pytest.raises(TimeoutError):
        async with SYSTEM_CLOCK.timeout_at(SYSTEM_CLOCK.monotonic() - 1) as timeout:
            await asyncio.Event().wait()
    assert timeout.expired()
    async with SYSTEM_CLOCK.timeout_at(SYSTEM_CLOCK.monotonic() + 3600) as timeout:
        await asyncio.sleep(0)
    assert not timeout.expired()


async def test_manual_clock_moves_only_on_advance() -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    clock = ManualClock(start)
    assert clock.now() == start and clock.monotonic() == 0
    clock.advance(1.5)
    clock.advance(timedelta(seconds=0.5))
    assert clock.now() == start + timedelta(seconds=2) and clock.monotonic() == 2
    with pytest.raises(InvalidArgumentError):
        clock.advance(-1)
    with pytest.raises(InvalidArgumentError):
        ManualClock(datetime(2030, 1, 1))


async def test_manual_sleep_wakes_when_advanced_past_it_in_order() -> None:
    clock = ManualClock()
    woke: list[str] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(name)

    tasks = [
        asyncio.create_task(sleeper("late", 10)),
        asyncio.create_task(sleeper("early", 5)),
    ]
    await asyncio.wait_for(clock.sleepers(2), 30)
    assert clock.waiting == 2
    clock.advance(4.9)
    await asyncio.sleep(0)
    assert woke == []
    clock.advance(0.1)
    await asyncio.wait_for(tasks[1], 30)
    assert woke == ["early"] and not tasks[0].done()
    clock.advance(100)
    await asyncio.wait_for(tasks[0], 30)
    assert woke == ["early", "late"] and clock.waiting == 0
    await clock.sleep(0)  # no advance needed for a zero sleep


async def test_a_cancelled_manual_sleep_is_no_longer_waiting() -> None:
    clock = ManualClock()
    task = asyncio.create_task(clock.sleep(60))
    await asyncio.wait_for(clock.sleepers(1), 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert clock.waiting == 0
    clock.advance(60)  # waking a cancelled sleeper is harmless


async def test_manual_timeout_expires_on_advance_only() -> None:
    clock = ManualClock()
    gate = asyncio.Event()

    async def guarded() -> None:
        async with clock.timeout_at(10):
            await gate.wait()

    task = asyncio.create_task(guarded())
    await asyncio.wait_for(clock.sleepers(1), 30)
    clock.advance(9)
    await asyncio.sleep(0)
    assert not task.done()
    clock.advance(1)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(task, 30)
    assert clock.waiting == 0


async def test_manual_timeout_at_a_past_deadline_expires_at_once_and_body_may_finish() -> None:
    clock = ManualClock()
    clock.advance(5)
    with pytest.raises(TimeoutError):
        async with clock.timeout_at(5):
            await asyncio.Event().wait()
    async with clock.timeout_at(60) as timeout:
        await asyncio.sleep(0)
    assert not timeout.expired() and clock.waiting == 0
