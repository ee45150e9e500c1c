"""Group commit: appends that wait at the same time in one store share one transaction.

A store has at most one append transaction in flight. An append that finds none runs at once,
alone, in its caller's task: a lone append waits for nothing. Appends that arrive while one is
in flight queue up; when it ends, a task sends everything queued as ONE batch (one connection,
one lock hold, one round trip, one commit and so one WAL flush), and each append still gets its
own outcome. There are no timers: a batch is whatever piled up behind the previous commit.

Cancellation: a caller cancelled while queued is dropped (nothing written); once its batch is
sent the batch goes on without it, so its append may still commit (as any cancelled write may),
and the other appends of the batch are unaffected.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["GroupCommit", "RunAlone"]

A = TypeVar("A")
R = TypeVar("R")


class RunAlone(Exception):
    """A batch runner's signal: the batch failed as a whole, wrote nothing, and the cause may
    belong to one append only; each append is rerun alone, in its caller's task."""


@dataclass(slots=True)
class _Waiter(Generic[A]):
    args: A
    deadline: float  # loop time by which the append must have the global-order lock
    future: asyncio.Future[Any]


_ALONE = object()


class GroupCommit(Generic[A, R]):
    """Runs a store's appends one transaction at a time, batching the ones that queue meanwhile.

    ``solo(args)`` runs one append; ``batch(args_list, lock_timeout)`` runs several in one
    transaction and returns an outcome per append, a result or the exception for that caller
    alone (a batch-wide failure is raised, and reaches every caller of the batch; raising
    :class:`RunAlone` reruns each append alone). ``lock_timeout`` is what is left of the most
    impatient append's own ``lock_timeout``, counted from when it queued.
    """

    def __init__(
        self,
        solo: Callable[[A], Awaitable[R]],
        batch: Callable[[list[A], float], Awaitable[list[R | BaseException]]],
        *,
        lock_timeout: float,
        max_batch: int = 100,
    ) -> None:
        self._solo = solo
        self._batch = batch
        self.lock_timeout = lock_timeout
        self.max_batch = max_batch
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: list[_Waiter[A]] = []
        self._busy = False
        self._drainer: asyncio.Task[None] | None = None
        #: Batches of two appends or more sent so far, the appends in them, the largest.
        self.batches = 0
        self.batched_appends = 0
        self.largest_batch = 0

    @property
    def queued(self) -> int:
        """Appends waiting for the next batch."""
        return len(self._queue)

    async def append(self, args: A) -> R:
        """Run one append, alone now or in the next batch; its own result or error."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # first use, or the store moved to another event loop
            self._loop, self._queue, self._busy = loop, [], False
        if not self._busy:
            self._busy = True
            try:
                return await self._solo(args)
            finally:
                self._hand_over()
        waiter = _Waiter(args, loop.time() + self.lock_timeout, loop.create_future())
        self._queue.append(waiter)
        outcome = await waiter.future
        if outcome is _ALONE:
            return await self._solo(args)
        result: R = outcome
        return result

    def _hand_over(self) -> None:
        """The append in flight ended: send what queued meanwhile, or go idle."""
        if self._queue:
            self._drainer = asyncio.ensure_future(self._drain())
        else:
            self._busy = False

    async def _drain(self) -> None:
        try:
            while True:
                # A caller cancelled while queued is dropped: nothing of it was sent.
                self._queue = [w for w in self._queue if not w.future.done()]
                if not self._queue:
                    return
                batch = self._queue[: self.max_batch]
                del self._queue[: self.max_batch]
                await self._run(batch)
        finally:
            for waiter in self._queue:  # only if this task was cancelled: each runs alone
                _settle(waiter.future, _ALONE)
            self._queue = []
            self._busy = False
            self._drainer = None

    async def _run(self, batch: list[_Waiter[A]]) -> None:
        if len(batch) > 1:
            self.batches += 1
            self.batched_appends += len(batch)
            self.largest_batch = max(self.largest_batch, len(batch))
        now = asyncio.get_running_loop().time()
        lock_timeout = max(0.001, min(w.deadline for w in batch) - now)
        try:
            outcomes = await self._batch([w.args for w in batch], lock_timeout)
        except RunAlone:
            for w in batch:
                _settle(w.future, _ALONE)
            return
        except Exception as exc:
            for w in batch:
                _fail(w.future, _own_copy(exc))
            return
        except BaseException:
            for w in batch:
                w.future.cancel()
            raise
        for w, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                _fail(w.future, outcome)
            else:
                _settle(w.future, outcome)


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():  # its caller may have been cancelled meanwhile
        future.set_result(value)


def _fail(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


def _own_copy(exc: Exception) -> Exception:
    """A copy of a batch-wide error for one caller, so callers do not share a traceback."""
    try:
        mine = copy.copy(exc)
    except Exception:
        return exc
    mine.__cause__ = exc.__cause__
    return mine
