"""Fill an outbox, relay it with several workers through real publishers (optionally cutting
the broker connection mid-run), and record what was confirmed and what was marked."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from eventsource import Backend
from eventsource.repositories import OutboxEntry, OutboxStats
from eventsource.runtime import Backoff, OutboxRelay

from ._events import BrOrderPlaced

BATCH = 100


async def fill(backend: Backend, count: int) -> set[UUID]:
    """``count`` pending outbox entries (one per event, 100 per aggregate); their event ids."""
    ids: set[UUID] = set()
    for start in range(0, count, BATCH):
        aggregate_id = uuid.uuid4()
        events = [
            BrOrderPlaced(aggregate_id=aggregate_id, sku=f"SKU-{start + i}", quantity=start + i)
            for i in range(min(BATCH, count - start))
        ]
        await backend.events.append_events(aggregate_id, "Order", events, 0, outbox=True)
        ids.update(event.event_id for event in events)
    return ids


class CheckedOutbox:
    """The backend's outbox, refusing nothing but recording any entry marked published whose
    publish had not returned (been confirmed by the broker) before."""

    def __init__(self, outbox: Any, confirmed: set[UUID]) -> None:
        self._outbox = outbox
        self.confirmed = confirmed
        self.marked_unconfirmed: list[UUID] = []
        self.marked = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._outbox, name)

    async def mark_published_many(self, outbox_ids: Sequence[UUID]) -> int:
        self.marked_unconfirmed.extend(i for i in outbox_ids if i not in self.confirmed)
        self.marked += len(outbox_ids)
        result: int = await self._outbox.mark_published_many(outbox_ids)
        return result

    async def mark_published(self, outbox_id: UUID) -> None:
        await self.mark_published_many([outbox_id])


def confirming(publisher: Callable[[OutboxEntry], Awaitable[None]], confirmed: set[UUID]) -> Any:
    """``publisher``, adding each entry's id to ``confirmed`` once its publish returned."""

    async def publish(entry: OutboxEntry) -> None:
        await publisher(entry)
        confirmed.add(entry.id)

    return publish


@dataclass
class RelayRun:
    """What a run left: the outbox's counts, entries marked published unconfirmed, cuts."""

    stats: OutboxStats
    marked_unconfirmed: list[UUID]
    cuts: int = 0
    retried: int = 0
    errors: list[str] = field(default_factory=list)


async def relay_all(
    backend: Backend,
    publishers: Sequence[Callable[[OutboxEntry], Awaitable[None]]],
    total: int,
    *,
    cut: Callable[[], Any] | None = None,
    cut_every: int = 0,
    cuts: int = 0,
    max_attempts: int = 50,
    timeout: float = 600.0,
) -> RelayRun:
    """Relay ``total`` entries with one worker per publisher until each is published or
    failed; when ``cut`` is given, call it ``cuts`` times, each once ``cut_every`` more entries
    were marked published."""
    confirmed: set[UUID] = set()
    outbox = CheckedOutbox(backend.outbox, confirmed)
    relays = [
        OutboxRelay(
            outbox,  # type: ignore[arg-type]
            confirming(publisher, confirmed),
            worker_id=f"relay-{index}",
            batch_size=BATCH,
            lease=timedelta(seconds=60),
            max_attempts=max_attempts,
            backoff=Backoff(initial=0.02, maximum=0.5, jitter=0),
            poll_interval=0.02,
            store=backend.events,
        )
        for index, publisher in enumerate(publishers)
    ]
    for relay in relays:
        relay.start()
    done_cuts = 0
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    try:
        while loop.time() < end:
            stats = await backend.outbox.get_stats()
            if stats.published_count + stats.failed_count >= total:
                break
            if (
                cut is not None
                and done_cuts < cuts
                and outbox.marked >= cut_every * (done_cuts + 1)
            ):
                done_cuts += 1
                result = cut()
                if asyncio.iscoroutine(result):
                    await result
            await asyncio.sleep(0.01)
    finally:
        for relay in relays:
            await relay.stop()
    return RelayRun(
        stats=await backend.outbox.get_stats(),
        marked_unconfirmed=outbox.marked_unconfirmed,
        cuts=done_cuts,
        retried=sum(relay.stats().retried for relay in relays),
        errors=[relay.stats().last_error or "" for relay in relays],
    )
