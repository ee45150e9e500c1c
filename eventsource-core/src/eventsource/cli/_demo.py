"""``eventsource demo``: the main job, end to end, on a throwaway SQLite file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import typer

from ._command import command
from ._context import Context

if TYPE_CHECKING:
    from ..plugins._url import BackendURL

__all__ = ["DEMO_FILE", "register"]

#: The SQLite file the demo uses unless ``--url`` names another backend.
DEMO_FILE = "eventsource-demo.db"


def register(app: typer.Typer) -> None:
    """Add the ``demo`` command."""
    command(
        app,
        "demo",
        help="save, reload and read back an Order, with a checkpoint and an outbox entry",
        description=f"Run the main job end to end: create ./{DEMO_FILE} (removed first, so "
        "reruns start clean), save an Order aggregate, reload it, append an event, read all "
        "events back, record a checkpoint and publish an outbox entry. --url runs it on "
        "another backend instead (never removing anything there); $EVENTSOURCE_URL is not "
        "used.",
    )(run)


def _demo_url(ctx: Context) -> tuple[BackendURL, str]:
    """The URL to run on and how to describe it; a fresh default demo file."""
    from ..plugins._url import parse_url

    given = ctx.url_text
    if not given:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{DEMO_FILE}{suffix}").unlink(missing_ok=True)
        given = f"sqlite:///{DEMO_FILE}"
    url = parse_url(given)
    if url.scheme == "sqlite" and url.database and url.database != ":memory:":
        return url, os.path.abspath(url.database)
    return url, str(url)


async def run(ctx: Context) -> int:
    """Run the demo and describe each step."""
    from ..aggregates import AggregateRepository
    from ._demo_model import OrderAggregate, OrderShipped

    url, where = _demo_url(ctx)
    steps: list[dict[str, Any]] = []

    def say(step: str, text: str, **data: Any) -> None:
        steps.append({"step": step, **data})
        if not ctx.json:
            ctx.out(f"- {text}")

    async with ctx.backend(url, create=True) as backend:
        say("open", f"Opened {backend.name} backend at {where}", url=str(url))
        repo = AggregateRepository(backend.events, OrderAggregate, "Order")

        order = repo.create_new(uuid4())
        order.create(customer_id=uuid4(), email="customer@example.com")
        order.add_item("WIDGET-1", 2)
        saved = await repo.save(order)
        assert saved is not None
        say(
            "save",
            f"Saved Order {order.aggregate_id} with 2 events (version {saved.new_version})",
            order_id=order.aggregate_id,
            version=saved.new_version,
        )

        loaded = await repo.load(order.aggregate_id)
        state = loaded.state
        say(
            "load",
            f"Reloaded it from its events: status={state.status}, items={state.items}, "
            f"version {loaded.version}",
            state=state.model_dump(),
        )

        loaded.ship(tracking_number="TRACK-123")
        shipped = await repo.save(loaded)
        assert shipped is not None
        say(
            "append",
            f"Shipped it: appended a 3rd event at version {shipped.new_version} "
            f"(global position {shipped.global_position})",
            version=shipped.new_version,
            global_position=shipped.global_position,
        )

        say("read", "Read every event back in global order:")
        events = []
        async for stored in backend.events.read_all():
            events.append(stored)
            if not ctx.json:
                ctx.out(
                    f"    #{stored.global_position}  {stored.event_type:<20} "
                    f"v{stored.stream_position}  {stored.event_id}"
                )
        steps[-1]["events"] = [
            {"global_position": s.global_position, "event_type": s.event_type} for s in events
        ]

        last = events[-1]
        await backend.checkpoints.update_checkpoint(
            "OrderSummaryProjection", last.event_id, last.event_type
        )
        checkpoint = await backend.checkpoints.get_checkpoint_data("OrderSummaryProjection")
        assert checkpoint is not None
        say(
            "checkpoint",
            f"Projection 'OrderSummaryProjection' checkpointed at global position "
            f"{checkpoint.global_position} ({checkpoint.last_event_type})",
            position=checkpoint.global_position,
        )

        shipped_event = next(e for e in reversed(events) if isinstance(e.event, OrderShipped))
        outbox_id = await backend.outbox.add_event(shipped_event.event)
        claimed = await backend.outbox.get_pending_events(limit=10, worker_id="demo")
        for entry in claimed:
            await backend.outbox.mark_published(entry.id)
        stats = await backend.outbox.get_stats()
        say(
            "outbox",
            f"Outbox: queued entry {outbox_id} for {shipped_event.event_type}, a worker claimed "
            f"{len(claimed)} and published it ({stats.published_count} published, "
            f"{stats.pending_count} pending)",
            outbox_id=outbox_id,
            published=stats.published_count,
        )

    if ctx.json:
        ctx.emit_json({"backend": backend.name, "url": str(url), "steps": steps})
    else:
        ctx.out()
        ctx.out(f"Done. Look around: eventsource --url {url} info")
        ctx.out(f"                   eventsource --url {url} events list")
    return 0
