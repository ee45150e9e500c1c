"""The console tests' store: orders with one hostile payload, two projections' checkpoints,
DLQ entries and outbox entries; and the projection the console replays DLQ entries into.

``seed(url)`` fills a store; the console (another process) imports ``OrdersProjection`` with
``--projection console.model:OrdersProjection``, which records each event it handles in the
file named by ``$CONSOLE_REPLAY_LOG``.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

from eventsource import DomainEvent, open_backend
from eventsource.repositories import ProjectionLeases

HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>"


class ConsoleOrderPlaced(DomainEvent):
    """An order was placed."""

    event_type: str = "consoletest.OrderPlaced"
    customer: str


class ConsoleItemAdded(DomainEvent):
    """An item was added to an order."""

    event_type: str = "consoletest.ItemAdded"
    sku: str


@dataclass
class Seeded:
    """What :func:`seed` wrote."""

    orders: list[UUID]
    hostile_stream: str
    hostile_position: int
    global_position: int
    dlq_ids: dict[str, int]
    failed_outbox: UUID


async def seed(url: str, *, orders: int = 6) -> Seeded:
    """Fill the store at ``url``: ``orders`` orders of 3 events, one whose customer is
    :data:`HOSTILE`; checkpoints "orders" (5 behind), "emails" (up to date, owned by
    worker-a) and the shards "search#0/2" (up to date, owned by worker-b) and "search#1/2"
    (8 behind); DLQ entries "replay" and "resolve" of "orders" and one of "emails"; two
    pending outbox entries and a failed one."""
    ids: list[UUID] = []
    async with open_backend(url) as backend:
        store = backend.events
        for n in range(orders):
            aggregate_id = uuid4()
            customer = HOSTILE if n == 1 else f"customer-{n}"
            events = [
                ConsoleOrderPlaced(aggregate_id=aggregate_id, customer=customer),
                ConsoleItemAdded(aggregate_id=aggregate_id, sku="apple", aggregate_version=2),
                ConsoleItemAdded(aggregate_id=aggregate_id, sku="pear", aggregate_version=3),
            ]
            await store.append_events(aggregate_id, "ConsoleOrder", events, 0)
            ids.append(aggregate_id)
        position = await store.get_global_position()
        stored = [e async for e in store.read_all()]
        hostile = next(e for e in stored if getattr(e.event, "customer", "") == HOSTILE)
        behind = stored[-6]
        await backend.checkpoints.update_checkpoint(
            "orders", behind.event_id, behind.event_type, behind.global_position
        )
        await backend.checkpoints.update_checkpoint(
            "emails", stored[-1].event_id, stored[-1].event_type, stored[-1].global_position
        )
        # a sharded projection: two shard checkpoints; "emails" and shard 0 have live owners
        for shard, event in (("search#0/2", stored[-1]), ("search#1/2", stored[-9])):
            await backend.checkpoints.update_checkpoint(
                shard, event.event_id, event.event_type, event.global_position
            )
        leases = backend.checkpoints
        assert isinstance(leases, ProjectionLeases)
        await leases.acquire_lease("emails", "worker-a", timedelta(hours=1))
        await leases.acquire_lease("search#0/2", "worker-b", timedelta(hours=1))
        dlq_ids = {}
        for key, projection, event in (
            ("replay", "orders", stored[0]),
            ("resolve", "orders", hostile),
            ("emails", "emails", stored[6]),
        ):
            dlq_ids[key] = await backend.dlq.add_failed_event(
                event.event_id,
                projection,
                event.event_type,
                event.event.model_dump(mode="json"),
                error=RuntimeError(f"{projection} handler failed: {HOSTILE}"),
            )
        failed = await backend.outbox.add_event(stored[2].event)
        claimed = await backend.outbox.get_pending_events(1, worker_id="seed")
        assert [e.id for e in claimed] == [failed]
        await backend.outbox.mark_failed(failed, f"broker refused: {HOSTILE}")
        for event in stored[:2]:
            await backend.outbox.add_event(event.event)
    return Seeded(ids, hostile.stream_id, hostile.global_position, position, dlq_ids, failed)


class OrdersProjection:
    """The "orders" projection: records what it handles in ``$CONSOLE_REPLAY_LOG``."""

    name = "orders"
    event_types = None

    async def handle(self, event: DomainEvent) -> None:
        """Record the event's id (a line in the log file)."""
        log = Path(os.environ["CONSOLE_REPLAY_LOG"])
        line = f"{event.event_id} {type(event).__name__}\n"
        await asyncio.to_thread(lambda: log.open("a").write(line) and None)
