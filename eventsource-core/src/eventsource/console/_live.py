"""The console's live stream (``/live``, server-sent events): it tells the open page when to
fetch itself again, so each message costs one render of the page (the overview runs
:func:`~eventsource.inspection.inspect_store`). Messages are throttled to one per sample
interval: appends in between are told as one, with the latest head."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from typing import Any

from ..clock import Clock
from ..stores._contract import EventStore

__all__ = ["changes"]


async def _until(awaitable: Awaitable[object], closing: asyncio.Future[Any]) -> bool:
    """Await ``awaitable`` unless ``closing`` is done first; False (it cancelled) then."""
    task = asyncio.ensure_future(awaitable)
    await asyncio.wait({task, closing}, return_when=asyncio.FIRST_COMPLETED)
    if closing.done():
        task.cancel()
        return False
    return True


async def changes(
    store: EventStore, interval: float, clock: Clock, closing: asyncio.Event
) -> AsyncIterator[str]:
    """``change`` messages until ``closing`` is set: ``data: <head>`` after appends, ``data:
    tick <head>`` after ``interval`` seconds without one (other changes, to checkpoints, the
    DLQ or the outbox, show then). Never two within ``interval`` seconds of ``clock``: an
    append sooner waits out the rest, and whatever was appended meanwhile is in its head."""
    position = await store.get_global_position()
    stopping = asyncio.ensure_future(closing.wait())
    sent: float | None = None
    try:
        while True:
            waiting = asyncio.ensure_future(store.wait_for_events(position, interval))
            if not await _until(waiting, stopping):
                return
            if waiting.result():
                rest = 0.0 if sent is None else sent + interval - clock.monotonic()
                if rest > 0 and not await _until(clock.sleep(rest), stopping):
                    return
                position = await store.get_global_position()
                message = f"event: change\ndata: {position}\n\n"
            else:
                message = f"event: change\ndata: tick {position}\n\n"
            sent = clock.monotonic()
            yield message
    finally:
        stopping.cancel()
