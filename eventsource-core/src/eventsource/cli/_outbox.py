"""``eventsource outbox stats|cleanup``."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from ._checks import at_least
from ._command import command
from ._context import Context

__all__ = ["register"]

group = typer.Typer(no_args_is_help=True, help="the transactional outbox")


def register(app: typer.Typer) -> None:
    """Add the ``outbox`` command group."""
    app.add_typer(group, name="outbox")


@command(group, "stats", help="outbox entries by status")
async def run_stats(ctx: Context) -> int:
    """Print outbox counts."""
    async with ctx.backend() as backend:
        stats = await backend.outbox.get_stats()
    if ctx.json:
        ctx.emit_json(stats)
    else:
        ctx.fields(
            [
                ("pending", stats.pending_count),
                ("  claimed", stats.claimed_count),
                ("published", stats.published_count),
                ("failed", stats.failed_count),
                ("oldest pending", stats.oldest_pending_at),
            ]
        )
    return 0


@command(
    group,
    "cleanup",
    help="delete entries published more than N days ago",
    description="Delete the outbox entries published more than --days days ago (pending and "
    "failed entries are kept); prints how many.",
)
async def run_cleanup(
    ctx: Context,
    days: Annotated[
        float,
        typer.Option(
            "--days", callback=at_least(0), metavar="N", help="published more than N days ago"
        ),
    ],
) -> int:
    """Delete old published entries."""
    async with ctx.backend() as backend:
        count = await backend.outbox.cleanup_published(timedelta(days=days))
    if ctx.json:
        ctx.emit_json({"deleted": count, "older_than_days": days})
    else:
        ctx.out(f"Deleted {count} outbox entries published more than {days:g} days ago.")
    return 0
