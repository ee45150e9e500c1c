"""0.5.0's :class:`InMemoryEventBus`: in-process dispatch, for tests and single processes."""

from __future__ import annotations

import asyncio
from typing import Any

from ..events import DomainEvent
from ._base import EventBus

__all__ = ["InMemoryEventBus"]


class InMemoryEventBus(EventBus):
    """Dispatches published events to this process's handlers.

    Events are handled one after another; each event's handlers run concurrently, and a
    handler's error is logged and counted, never raised. ``background=True`` hands the
    dispatch to a task and returns at once (:meth:`shutdown` waits for those tasks).
    ``tracer`` and ``enable_tracing`` are accepted for 0.5.0 compatibility and unused.
    """

    def __init__(self, *, tracer: Any = None, enable_tracing: bool = True) -> None:
        super().__init__()
        self._published: list[DomainEvent] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._stats = dict.fromkeys(
            (
                "events_published",
                "handlers_invoked",
                "handler_errors",
                "background_tasks_created",
                "background_tasks_completed",
            ),
            0,
        )

    async def publish(self, events: list[DomainEvent], background: bool = False) -> None:
        """Dispatch ``events`` in order (in a background task with ``background=True``)."""
        if background:
            task = asyncio.create_task(self._dispatch_all(list(events)))
            self._tasks.add(task)
            self._stats["background_tasks_created"] += 1
            task.add_done_callback(self._task_done)
            return
        await self._dispatch_all(events)

    async def _dispatch_all(self, events: list[DomainEvent]) -> None:
        for event in events:
            self._published.append(event)
            self._stats["events_published"] += 1
            invoked, errors = await self.dispatch(event)
            self._stats["handlers_invoked"] += invoked
            self._stats["handler_errors"] += errors

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._stats["background_tasks_completed"] += 1

    @property
    def published_events(self) -> list[DomainEvent]:
        """Every event published so far (a copy)."""
        return list(self._published)

    def clear_published_events(self) -> None:
        """Forget the published events."""
        self._published.clear()

    def clear_subscribers(self) -> None:
        """Remove every subscription, wildcards included."""
        self._handlers.clear()
        self._wildcard.clear()

    def get_subscriber_count(self, event_type: type[DomainEvent] | None = None) -> int:
        """Subscriptions to ``event_type`` (or to every class, wildcards excluded)."""
        if event_type is not None:
            return len(self._handlers.get(event_type, []))
        return sum(len(handlers) for handlers in self._handlers.values())

    def get_wildcard_subscriber_count(self) -> int:
        """Wildcard subscriptions."""
        return len(self._wildcard)

    def get_stats(self) -> dict[str, int]:
        """Counters: events_published, handlers_invoked, handler_errors,
        background_tasks_created, background_tasks_completed."""
        return dict(self._stats)

    def get_background_task_count(self) -> int:
        """Background dispatches still running."""
        return len(self._tasks)

    async def shutdown(self, timeout: float = 30.0) -> None:
        """Wait up to ``timeout`` seconds for background dispatches, then cancel the rest."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
