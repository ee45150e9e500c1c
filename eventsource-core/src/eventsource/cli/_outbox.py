"""``eventsource outbox stats|list|retry|cleanup``."""

from __future__ import annotations

import enum
from datetime import timedelta
from typing import Annotated
from uuid import UUID

import typer

from ._checks import CLEANUP_DAYS, at_least, at_most_days
from ._command import command
from ._context import Context
from ._words import counted

__all__ = ["register"]

group = typer.Typer(no_args_is_help=True, help="the transactional outbox")


class Status(enum.StrEnum):
    """An outbox entry's status (eventsource.repositories.OutboxStatus)."""

    PENDING = "pending"
    FAILED = "failed"
    PUBLISHED = "published"


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
    "list",
    help="pending, failed or published entries",
    description="List outbox entries of one status (pending by default), oldest first, "
    "without claiming any: id, event type and id, aggregate, retries, created, last error.",
)
async def run_list(
    ctx: Context,
    status: Annotated[
        Status, typer.Option("--status", help="entries with this status")
    ] = Status.PENDING,
    limit: Annotated[
        int, typer.Option("--limit", callback=at_least(0), metavar="N", help="at most N")
    ] = 100,
) -> int:
    """List entries of one status."""
    async with ctx.backend() as backend:
        entries = await backend.outbox.list_entries(status.value, limit)
    if ctx.json:
        ctx.emit_json(entries)
        return 0
    if not entries:
        ctx.out(f"No {status.value} entries.")
        return 0
    ctx.table(
        [
            (
                e.id,
                e.event_type,
                e.event_id,
                f"{e.aggregate_id}:{e.aggregate_type}",
                e.retry_count,
                e.created_at,
                e.claimed_by,
                e.last_error,
            )
            for e in entries
        ],
        ["ID", "EVENT TYPE", "EVENT ID", "AGGREGATE", "RETRIES", "CREATED", "CLAIMED BY", "ERROR"],
    )
    return 0


@command(
    group,
    "retry",
    help="give failed entries back as pending",
    description="Give failed outbox entry ID (or, with --all, every failed entry) back as "
    "pending, so a relay publishes it again now; its retry count and last error are kept. "
    "An entry that is not failed is refused (exit 1).",
)
async def run_retry(
    ctx: Context,
    outbox_id: Annotated[
        UUID | None, typer.Argument(metavar="ID", help="the entry (or --all)")
    ] = None,
    all_entries: Annotated[bool, typer.Option("--all", help="every failed entry")] = False,
) -> int:
    """Retry one failed entry or all."""
    if (outbox_id is None) == (not all_entries):
        raise typer.BadParameter("give an entry ID or --all (not both)", param_hint="ID")
    async with ctx.backend() as backend:
        count = await backend.outbox.retry_failed(outbox_id)
    if ctx.json:
        ctx.emit_json({"retried": count})
    else:
        entries = counted(count, "failed outbox entry", "failed outbox entries")
        ctx.out(f"{entries} {'is' if count == 1 else 'are'} pending again.")
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
            "--days",
            callback=at_most_days(at_least(0), CLEANUP_DAYS),
            metavar="N",
            help="published more than N days ago",
        ),
    ],
) -> int:
    """Delete old published entries."""
    async with ctx.backend() as backend:
        count = await backend.outbox.cleanup_published(timedelta(days=days))
    if ctx.json:
        ctx.emit_json({"deleted": count, "older_than_days": days})
    else:
        entries = counted(count, "outbox entry", "outbox entries")
        ctx.out(f"Deleted {entries} published more than {days:g} days ago.")
    return 0
