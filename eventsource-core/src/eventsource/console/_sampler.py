"""Lag and throughput over the last minutes, sampled by the server and kept in memory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass

from ..clock import SYSTEM_CLOCK, Clock
from ..inspection import split_projection_name
from ..plugins._backend import Backend

__all__ = ["Sample", "Sampler"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sample:
    """One look at the store: when (the clock's monotonic seconds), its global position, and
    each projection's checkpoint position."""

    at: float
    global_position: int
    positions: dict[str, int]

    def parts(self, projection: str) -> dict[str, int]:
        """The checkpoint positions of ``projection``: its own, or its shards' (``p#k/N``)."""
        return {
            name: position
            for name, position in self.positions.items()
            if split_projection_name(name)[0] == projection
        }

    def lag(self, projection: str) -> int | None:
        """How many positions ``projection`` was behind (its furthest behind shard), or None
        when it had no checkpoint."""
        parts = self.parts(projection)
        return max(0, self.global_position - min(parts.values())) if parts else None


class Sampler:
    """Samples ``backend`` every ``interval`` seconds, keeping ``window`` seconds of samples.

    :meth:`sample` takes one sample now (the background task calls it; tests call it on a
    :class:`~eventsource.clock.ManualClock`); :meth:`series` gives a projection's lag and
    throughput (positions per second between two samples) over the window.
    """

    def __init__(
        self, backend: Backend, interval: float, window: float, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.backend = backend
        self.interval = interval
        self.clock = clock
        self.samples: deque[Sample] = deque(maxlen=max(2, int(window / interval) + 1))
        self._task: asyncio.Task[None] | None = None

    async def sample(self) -> Sample:
        """Read the global position and every checkpoint's position; keep and return them."""
        position = await self.backend.events.get_global_position()
        checkpoints = await self.backend.checkpoints.get_all_checkpoints()
        taken = Sample(
            self.clock.monotonic(),
            position,
            {c.projection_name: c.global_position or 0 for c in checkpoints},
        )
        self.samples.append(taken)
        return taken

    def series(self, projection: str | None) -> tuple[list[tuple[float, float]], ...]:
        """``(lag, throughput)`` points ``(seconds before the last sample, value)`` for
        ``projection`` (its shards' summed); for None, the store's own append rate as
        throughput and no lag."""
        samples = list(self.samples)
        if not samples:
            return [], []
        end = samples[-1].at
        lag: list[tuple[float, float]] = []
        rate: list[tuple[float, float]] = []
        for before, now in zip([None, *samples], samples, strict=False):
            if projection is not None:
                value = now.lag(projection)
                if value is not None:
                    lag.append((now.at - end, float(value)))
            if before is None or now.at <= before.at:
                continue
            if projection is None:
                moved = now.global_position - before.global_position
            else:
                a, b = before.parts(projection), now.parts(projection)
                if not a or not b:
                    continue
                moved = sum(max(0, b[name] - a.get(name, b[name])) for name in b)
            rate.append((now.at - end, moved / (now.at - before.at)))
        return lag, rate

    def start(self) -> None:
        """Start sampling in the background (idempotent)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop the background sampling."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                await self.sample()
            except Exception as exc:  # a failed look is logged; the next one may succeed
                log.warning("console: sampling the store failed: %s", exc)
            await self.clock.sleep(self.interval)
