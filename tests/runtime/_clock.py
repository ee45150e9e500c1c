"""A manual clock for the ownership tests: time moves only when a test advances it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta


class TestClock:
    """``now``/``monotonic``/``sleep`` (the runner's lease clock); :meth:`advance` wakes every
    sleeper whose time has come; :meth:`sleepers` waits until ``count`` tasks sleep."""

    __test__ = False  # not a pytest class

    def __init__(self) -> None:
        self._start = datetime(2030, 1, 1, tzinfo=UTC)
        self._elapsed = 0.0
        self._sleeping: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        return self._elapsed

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (self._elapsed + seconds, future)
        self._sleeping.append(entry)
        try:
            await future
        finally:
            if entry in self._sleeping:
                self._sleeping.remove(entry)

    def advance(self, seconds: float) -> None:
        self._elapsed += seconds
        for due, future in list(self._sleeping):
            if due <= self._elapsed and not future.done():
                future.set_result(None)

    async def sleepers(self, count: int = 1) -> None:
        while True:
            if sum(1 for _, f in self._sleeping if not f.done()) >= count:
                return
            await asyncio.sleep(0.001)
