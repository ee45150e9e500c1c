"""The lifecycle the projection runner and the outbox relay share: run or start, request a
stop, stop with a timeout, one run at a time, pauses on an injectable clock."""

from __future__ import annotations

import abc
import asyncio
import inspect
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

from .._exceptions import WorkerBusyError
from ..clock import SYSTEM_CLOCK, Clock

__all__ = ["BackgroundWorker", "finish_write"]

T = TypeVar("T")


class BackgroundWorker(abc.ABC):
    """A loop that runs until asked to stop, in the caller's task (:meth:`run`) or in a
    background task of its own (:meth:`start`).

    - One run at a time: a second :meth:`run` or :meth:`start` while one is active raises
      :class:`~eventsource.WorkerBusyError` and leaves the running one alone.
    - :meth:`request_stop` asks the loop to end after its current unit of work and returns
      at once; :meth:`stop` does the same and waits for a :meth:`start`-ed task to end, up to
      ``timeout`` seconds, then cancels it. The error that ended the task is re-raised; a
      cancellation aimed at the caller of :meth:`stop` reaches the caller (the task, asked to
      stop, still ends on its own).
    - Every pause (backoff, polling) is taken on :attr:`clock` and ends early on a stop.

    Subclasses implement :meth:`_work` (the loop; it checks :attr:`stop_requested`) and may
    extend :meth:`_leave` (called once the loop has ended, however it ended).
    """

    def __init__(self, *, clock: Clock | None = None) -> None:
        #: Where pauses, backoff and deadlines read the time.
        self.clock: Clock = clock if clock is not None else SYSTEM_CLOCK
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._busy = False

    # -- what a worker defines ---------------------------------------------------------------

    @property
    @abc.abstractmethod
    def worker_name(self) -> str:
        """How errors, logs and the background task name this worker."""

    @abc.abstractmethod
    async def _work(self) -> None:
        """The loop: run until :attr:`stop_requested` (or a fatal error)."""

    async def _leave(self) -> None:
        """Called when the loop has ended, however it ended; marks the worker idle."""
        self._busy = False

    def _stopping(self) -> None:
        """Called by :meth:`stop` while a started task is still running."""
        return None

    # -- the lifecycle -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while a :meth:`start`-ed task or a :meth:`run` call is active."""
        return self._busy

    @property
    def stop_requested(self) -> bool:
        """True once a stop was requested (until the next run begins)."""
        return self._stop.is_set()

    def _enter(self) -> None:
        """Mark the worker busy, refusing a second concurrent run."""
        if self._busy:
            raise WorkerBusyError(f"{self.worker_name} is already running")
        self._busy = True
        self._stop.clear()

    async def _entered(self) -> None:
        try:
            await self._work()
        finally:
            await self._leave()

    async def run(self) -> None:
        """Run in the caller's task until :meth:`stop` or :meth:`request_stop`; re-raises
        the error that ended the loop."""
        self._enter()
        await self._entered()

    def start(self) -> asyncio.Task[None]:
        """Run in a background task (returned); :meth:`stop` ends it."""
        self._enter()
        self._task = asyncio.create_task(self._entered(), name=self.worker_name)
        return self._task

    def request_stop(self) -> None:
        """Ask the worker to stop after its current unit of work; returns at once."""
        self._stop.set()

    async def stop(self, timeout: float | None = 10.0) -> None:
        """Request a stop and wait for the :meth:`start`-ed task to end; after ``timeout``
        seconds (None: no limit) cancel it and wait for it to unwind.

        Re-raises the error that ended the task, if any. If the caller is cancelled while
        waiting, the cancellation propagates (the stop stays requested).
        """
        self.request_stop()
        task = self._task
        if task is None:
            return
        if not task.done():
            self._stopping()
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            task.cancel()
            # asyncio.wait never raises the task's own CancelledError, only the caller's.
            await asyncio.wait({task})
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]

    async def _pause(self, seconds: float, *also: Awaitable[Any]) -> bool:
        """Wait ``seconds`` on the clock, or until a stop is requested, or until one of
        ``also`` (say, a wait for new events) completes with a true value; True if a stop was
        requested.

        An awaitable of ``also`` that completes false (a wait that ran out on its own bound)
        or fails is dropped: the pause goes on until the clock or the stop ends it, so a
        failing wait never turns a backoff into a busy loop.
        """
        if self._stop.is_set():
            for aw in also:
                if inspect.iscoroutine(aw):
                    aw.close()  # never started: nothing to wait for
            return True
        stopper = asyncio.ensure_future(self._stop.wait())
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        extra = [asyncio.ensure_future(aw) for aw in also]
        pending: set[asyncio.Future[Any]] = {stopper, sleeper, *extra}
        try:
            while True:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                if stopper in done or sleeper in done or any(map(_succeeded, done)):
                    break
        finally:
            for future in (stopper, sleeper, *extra):
                if not future.done():
                    future.cancel()
            await asyncio.gather(stopper, sleeper, *extra, return_exceptions=True)
        return self._stop.is_set()


def _succeeded(future: asyncio.Future[Any]) -> bool:
    return not future.cancelled() and future.exception() is None and bool(future.result())


async def finish_write(write: Coroutine[Any, Any, T]) -> T:
    """Await ``write`` so that a cancellation of the caller does not cut it off half way:
    the write runs to its end (it commits, or fails and rolls back) and then the
    cancellation is re-raised."""
    task = asyncio.ensure_future(write)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            await asyncio.wait({task})
        if not task.cancelled():
            task.exception()  # retrieved: the cancellation is what the caller gets
        raise
