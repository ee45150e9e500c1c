"""``eventsource streams delete|restore|truncate|scavenge``: stream lifecycle for operators
(docs/lifecycle.md). Each prints how many events it removed or restored."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

import typer

from ._checks import RETENTION_DAYS, at_least, at_most_days, more_than
from ._command import command
from ._context import Context
from ._exit_codes import EXIT_USAGE

__all__ = ["register"]

group = typer.Typer(no_args_is_help=True, help="delete, restore and truncate streams")

AggregateId = Annotated[UUID, typer.Argument(metavar="ID", help="the stream's aggregate id")]
AggregateType = Annotated[str, typer.Argument(metavar="TYPE", help="its aggregate type")]


def register(app: typer.Typer) -> None:
    """Add the ``streams`` command group."""
    app.add_typer(group, name="streams")


def _report(ctx: Context, key: str, count: int) -> int:
    if ctx.json:
        ctx.emit_json({key: count})
    else:
        ctx.out(f"{key}: {count}")
    return 0


@command(group, "delete", help="delete a stream (soft unless --hard); records it")
async def run_delete(
    ctx: Context,
    aggregate_id: AggregateId,
    aggregate_type: AggregateType,
    hard: Annotated[bool, typer.Option("--hard", help="remove the events for good")] = False,
) -> int:
    """Delete the stream."""
    async with ctx.backend() as backend:
        count = await backend.events.delete_stream(aggregate_id, aggregate_type, hard=hard)
    return _report(ctx, "deleted", count)


@command(group, "restore", help="bring back a soft-deleted stream")
async def run_restore(
    ctx: Context, aggregate_id: AggregateId, aggregate_type: AggregateType
) -> int:
    """Restore a soft-deleted stream."""
    async with ctx.backend() as backend:
        count = await backend.events.restore_stream(aggregate_id, aggregate_type)
    return _report(ctx, "restored", count)


@command(group, "truncate", help="remove a stream's events below a version")
async def run_truncate(
    ctx: Context,
    aggregate_id: AggregateId,
    aggregate_type: AggregateType,
    before: Annotated[int, typer.Option("--before", callback=at_least(1), metavar="VERSION")],
) -> int:
    """Truncate the stream."""
    async with ctx.backend() as backend:
        count = await backend.events.truncate_stream(aggregate_id, aggregate_type, before=before)
    return _report(ctx, "removed", count)


@command(
    group,
    "scavenge",
    help="apply retention policies (stored ones, or one given here)",
    description="Truncate streams to what the retention policies keep; a stream's last event "
    "stays. Without arguments: every policy stored in the database ('streams retention "
    "set'). With TYPE: only TYPE's stored policy, or the one --max-count (its last N events) "
    "and/or --max-age (the events of the last DAYS days, by occurred_at) give.",
)
async def run_scavenge(
    ctx: Context,
    aggregate_type: Annotated[
        str | None, typer.Argument(metavar="[TYPE]", help="only this aggregate type")
    ] = None,
    max_count: Annotated[
        int | None, typer.Option("--max-count", callback=at_least(1), metavar="N")
    ] = None,
    max_age: Annotated[
        float | None,
        typer.Option(
            "--max-age",
            callback=at_most_days(more_than(0), RETENTION_DAYS),
            metavar="DAYS",
        ),
    ] = None,
) -> int:
    """Apply retention policies now."""
    from ..stores._lifecycle import RetentionPolicy

    given = max_count is not None or max_age is not None
    if aggregate_type is None and given:
        return ctx.error("--max-count and --max-age need a TYPE", "usage", EXIT_USAGE)
    async with ctx.backend() as backend:
        store = backend.events
        if aggregate_type is None:
            count = await store.scavenge()
        else:
            if given:
                age = None if max_age is None else timedelta(days=max_age)
                store.set_retention(aggregate_type, RetentionPolicy(age, max_count))
            count = await store.scavenge(aggregate_types=[aggregate_type])
    return _report(ctx, "removed", count)
