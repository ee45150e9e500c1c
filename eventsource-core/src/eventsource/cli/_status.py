"""``eventsource status``: the store at a glance, from :mod:`eventsource.inspection`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from .._limits import COUNT_LIMIT
from ._command import command
from ._context import Context
from ._words import counted

if TYPE_CHECKING:
    from ..inspection import ProjectionStatus

__all__ = ["owners_text", "register"]


def register(app: typer.Typer) -> None:
    """Add the ``status`` command."""
    command(
        app,
        "status",
        help="the store at a glance: events, projections, outbox, DLQ",
        description="One screen: the backend, its head (global position), how many events "
        f"and streams it holds (counted up to {COUNT_LIMIT:,} events), each projection's "
        "checkpoint, lag, state, owners and shards, open DLQ entries, outbox pending and failed.",
    )(run)


def owners_text(projection: ProjectionStatus) -> str:
    """Who runs a projection: its owner, or for shards ``k/N owned, W workers``."""
    if projection.shards:
        owned = sum(1 for s in projection.shards if s.owner and s.owner.state == "running")
        shards = counted(len(projection.shards), "shard")
        return f"{owned}/{shards} owned, {counted(len(projection.workers), 'worker')}"
    if projection.owners:
        return projection.owners[0].owner_id
    return "-"


async def run(ctx: Context) -> int:
    """Print the status."""
    from ..inspection import inspect_store

    async with ctx.backend() as backend:
        status = await inspect_store(backend)
    if ctx.json:
        ctx.emit_json(status.to_dict())
        return 0
    store, outbox, dlq = status.store, status.outbox, status.dlq
    held = (
        f"{counted(store.events, 'event')} in {counted(store.streams or 0, 'stream')}"
        if store.events is not None
        else f"events not counted (more than {COUNT_LIMIT:,})"
    )
    ctx.fields(
        [
            ("store", f"{store.backend} at {store.url}"),
            ("head", f"global position {store.global_position}, {held}"),
            (
                "outbox",
                f"{outbox.pending} pending ({outbox.claimed} claimed), {outbox.failed} failed, "
                f"{outbox.published} published",
            ),
            (
                "dlq",
                f"{dlq.open} open ({dlq.failed} failed, {dlq.retrying} retrying), "
                f"{dlq.resolved} resolved",
            ),
            ("projections", len(status.projections)),
        ]
    )
    if status.projections:
        ctx.out()
        ctx.table(
            [
                (
                    p.name,
                    p.state,
                    p.position,
                    p.lag_events,
                    owners_text(p),
                    p.owners[0].since if len(p.owners) == 1 and not p.shards else None,
                    p.dlq_open,
                )
                for p in status.projections
            ],
            ["PROJECTION", "STATE", "POSITION", "LAG", "OWNER", "SINCE", "DLQ"],
        )
    return 0
