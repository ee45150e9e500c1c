"""Clocks: where leases, retry backoff and timeouts read the time and wait.

Everything that waits for time to pass (an outbox claim's lease, the relay's backoff and
batch deadline, a projection runner's retry backoff and checkpoint interval) takes a
``clock=``. :class:`SystemClock` is the real time and the default; :class:`ManualClock` is a
test's clock, moved on by :meth:`ManualClock.advance`, so a lease test does not sleep on wall
time and holds on a busy machine::

    clock = ManualClock()
    relay = OutboxRelay.from_backend(backend, publish, clock=clock)
    await relay.run_once()
    clock.advance(30)  # every lease taken above has run out now
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from ._exceptions import InvalidArgumentError

__all__ = ["SYSTEM_CLOCK", "Clock", "ManualClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """The time as leases, backoff and timeouts see it."""

    def now(self) -> datetime:
        """The wall-clock time, timezone-aware (UTC): what lease expiries are stamped with."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back: what deadlines are measured on."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` on this clock."""
        ...

    def timeout_at(self, deadline: float) -> AbstractAsyncContextManager[asyncio.Timeout]:
        """A context that cancels its body at ``deadline`` (a :meth:`monotonic` reading),
        raising :class:`TimeoutError` out of it, as :func:`asyncio.timeout_at`; it gives the
        :class:`asyncio.Timeout`, whose ``expired()`` tells this deadline from a
        ``TimeoutError`` of the body's own."""
        ...


class SystemClock:
    """The real time: :func:`time.monotonic`, :func:`asyncio.sleep`, :func:`asyncio.timeout`."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def timeout_at(self, deadline: float) -> AbstractAsyncContextManager[asyncio.Timeout]:
        return asyncio.timeout(max(0.0, deadline - time.monotonic()))

    def __repr__(self) -> str:
        return "SystemClock()"


#: The clock used when none is given.
SYSTEM_CLOCK = SystemClock()


class ManualClock:
    """A clock that moves only when told to (for tests).

    :meth:`advance` moves it on, waking every :meth:`sleep` and expiring every
    :meth:`timeout_at` whose time has come; nothing else does, however long the test takes
    on a busy machine. :meth:`sleepers` waits until some task sleeps on it, so a test can
    advance the clock exactly when the code under test waits.
    """

    def __init__(self, start: datetime | None = None) -> None:
        if start is not None and start.tzinfo is None:
            raise InvalidArgumentError("ManualClock start must be timezone-aware")
        self._wall = start if start is not None else datetime.now(UTC)
        self._elapsed = 0.0
        self._order = itertools.count()
        self._sleeping: list[tuple[float, int, asyncio.Future[None]]] = []
        self._timeouts: dict[int, tuple[float, asyncio.Timeout]] = {}
        self._changed: asyncio.Condition | None = None

    def now(self) -> datetime:
        return self._wall + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        return self._elapsed

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def _notify(self) -> None:
        changed = self._condition()
        async with changed:
            changed.notify_all()

    async def sleep(self, seconds: float) -> None:
        """Wait until the clock has been advanced by ``seconds`` (at once when <= 0, after
        yielding to the loop once, as ``asyncio.sleep(0)``)."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleeping, (self._elapsed + seconds, next(self._order), future))
        await self._notify()
        await future

    def timeout_at(self, deadline: float) -> AbstractAsyncContextManager[asyncio.Timeout]:
        return self._timeout_at(deadline)

    @asynccontextmanager
    async def _timeout_at(self, deadline: float) -> AsyncIterator[asyncio.Timeout]:
        key = next(self._order)
        async with asyncio.timeout(None) as timeout:
            if deadline <= self._elapsed:
                timeout.reschedule(asyncio.get_running_loop().time())
            else:
                self._timeouts[key] = (deadline, timeout)
            try:
                await self._notify()
                yield timeout
            finally:
                self._timeouts.pop(key, None)

    def advance(self, seconds: float | timedelta) -> None:
        """Move the clock on by ``seconds``: due sleepers wake, due timeouts expire."""
        if isinstance(seconds, timedelta):
            seconds = seconds.total_seconds()
        if seconds < 0:
            raise InvalidArgumentError(f"a clock cannot go back: advance({seconds})")
        self._elapsed += seconds
        while self._sleeping and self._sleeping[0][0] <= self._elapsed:
            _, _, future = heapq.heappop(self._sleeping)
            if not future.done():
                future.set_result(None)
        for key, (deadline, timeout) in list(self._timeouts.items()):
            if deadline <= self._elapsed:
                del self._timeouts[key]
                timeout.reschedule(asyncio.get_running_loop().time())

    @property
    def waiting(self) -> int:
        """How many sleeps and timeouts are pending on this clock now."""
        sleeping = sum(1 for _, _, future in self._sleeping if not future.done())
        return sleeping + len(self._timeouts)

    async def sleepers(self, count: int = 1) -> None:
        """Wait (no timeout: bound it with ``asyncio.timeout``) until at least ``count``
        sleeps or timeouts are pending on this clock."""
        changed = self._condition()
        async with changed:
            await changed.wait_for(lambda: self.waiting >= count)

    def __repr__(self) -> str:
        return f"ManualClock(now={self.now().isoformat()}, monotonic={self._elapsed})"
