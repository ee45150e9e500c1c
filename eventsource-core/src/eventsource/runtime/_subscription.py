"""Several projections side by side over one store, each with its own checkpoint."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any, Self

from .._exceptions import ConfigurationError
from ..plugins._backend import Backend
from ..repositories._contracts import CheckpointRepository, DLQRepository
from ..stores._contract import EventStore
from ._dlq import ReplayResult
from ._metrics import ProjectionStats
from ._projection import ProjectionLike
from ._runner import ProgressCallback, ProjectionRunner

__all__ = ["SubscriptionRunner"]

log = logging.getLogger("eventsource.runtime")


class SubscriptionRunner:
    """Runs several projections side by side over one store, each with its own checkpoint.

    ``async with SubscriptionRunner(projections, backend=backend):`` starts them all and stops
    them on exit. A projection that stops with an error does not stop the others; its error is
    in :meth:`errors` and its stats show ``failed``.
    """

    def __init__(
        self,
        projections: Iterable[ProjectionLike],
        *,
        backend: Backend | None = None,
        store: EventStore | None = None,
        checkpoints: CheckpointRepository | None = None,
        dlq: DLQRepository | None = None,
        **options: Any,
    ) -> None:
        if backend is not None:
            store, checkpoints, dlq = backend.events, backend.checkpoints, backend.dlq
        if store is None or checkpoints is None or dlq is None:
            raise ConfigurationError(
                "SubscriptionRunner needs backend=... or all of store=, checkpoints=, dlq="
            )
        self.runners: dict[str, ProjectionRunner] = {}
        for item in projections:
            runner = ProjectionRunner(
                item, store=store, checkpoints=checkpoints, dlq=dlq, **options
            )
            if runner.name in self.runners:
                raise ConfigurationError(f"two projections are named {runner.name!r}")
            self.runners[runner.name] = runner
        if not self.runners:
            raise ConfigurationError("SubscriptionRunner needs at least one projection")
        self._errors: dict[str, BaseException] = {}

    def runner(self, name: str) -> ProjectionRunner:
        """The runner of projection ``name``."""
        try:
            return self.runners[name]
        except KeyError:
            raise ConfigurationError(
                f"no projection {name!r}; running: {', '.join(self.runners)}"
            ) from None

    def stats(self) -> dict[str, ProjectionStats]:
        """Each projection's :class:`ProjectionStats`, by name."""
        return {name: runner.stats() for name, runner in self.runners.items()}

    def errors(self) -> dict[str, BaseException]:
        """The errors that stopped projections, by name."""
        return dict(self._errors)

    async def start(self) -> None:
        """Start every projection in the background."""
        for runner in self.runners.values():
            task = runner.start()
            task.add_done_callback(self._record(runner.name))

    def _record(self, name: str) -> Callable[[asyncio.Task[None]], None]:
        def done(task: asyncio.Task[None]) -> None:
            if not task.cancelled() and task.exception() is not None:
                exc = task.exception()
                assert exc is not None
                self._errors[name] = exc
                log.error("projection %r stopped: %s", name, exc)

        return done

    async def stop(self, timeout: float | None = 10.0) -> None:
        """Stop every projection (see :meth:`ProjectionRunner.stop`); errors go to
        :meth:`errors`, not raised."""
        for runner in self.runners.values():
            runner.request_stop()
        results = await asyncio.gather(
            *(runner.stop(timeout) for runner in self.runners.values()), return_exceptions=True
        )
        for name, result in zip(self.runners, results, strict=True):
            if isinstance(result, BaseException):
                self._errors[name] = result

    async def catch_up(self) -> dict[str, int]:
        """Catch every projection up to now, concurrently; events handled by name.

        A projection whose catch-up fails does not cut the others short: every catch-up
        finishes, the errors go to :meth:`errors`, and the first one is then raised.
        """
        results = await asyncio.gather(
            *(r.catch_up() for r in self.runners.values()), return_exceptions=True
        )
        counts: dict[str, int] = {}
        failures: list[BaseException] = []
        for name, result in zip(self.runners, results, strict=True):
            if isinstance(result, BaseException):
                self._errors[name] = result
                failures.append(result)
            else:
                counts[name] = result
        if failures:
            raise failures[0]
        return counts

    async def wait_for_position(self, position: int, timeout: float) -> bool:
        """Wait until every running projection has reached ``position``."""
        results = await asyncio.gather(
            *(r.wait_for_position(position, timeout) for r in self.runners.values())
        )
        return all(results)

    async def rebuild(
        self, name: str, *, progress: ProgressCallback | None = None, every: int = 1000
    ) -> int:
        """Rebuild one projection, stopping and restarting it around the rebuild if it runs."""
        runner = self.runner(name)
        was_running = runner.running
        if was_running:
            await runner.stop()
        count = await runner.rebuild(progress=progress, every=every)
        if was_running:
            runner.start().add_done_callback(self._record(name))
        return count

    async def replay(self, dlq_id: int, *, resolution: str = "replayed") -> ReplayResult:
        """Replay DLQ entry ``dlq_id`` into the projection that parked it."""
        any_runner = next(iter(self.runners.values()))
        entry = await any_runner.replayer().entry(dlq_id)
        return await self.runner(entry.projection_name).replay(dlq_id, resolution=resolution)

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
