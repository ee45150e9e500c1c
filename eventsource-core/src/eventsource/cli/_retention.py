"""``eventsource streams retention set|clear|list``: the retention policies stored in the
database, which every ``scavenge`` applies (docs/lifecycle.md)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from ._checks import RETENTION_DAYS, at_least, at_most_days, more_than
from ._command import command
from ._context import Context
from ._exit_codes import EXIT_USAGE

__all__ = ["register"]

group = typer.Typer(no_args_is_help=True, help="the retention policies scavenge applies")

AggregateType = Annotated[str, typer.Argument(metavar="TYPE", help="the aggregate type")]
HEADERS = ["TYPE", "MAX COUNT", "MAX AGE (DAYS)"]


def register(app: typer.Typer) -> None:
    """Add ``retention`` to the ``streams`` group."""
    from ._streams import group as streams

    streams.add_typer(group, name="retention")


def _days(age: timedelta | None) -> float | None:
    return None if age is None else age / timedelta(days=1)


@command(group, "set", help="store TYPE's policy (replacing the one stored)")
async def run_set(
    ctx: Context,
    aggregate_type: AggregateType,
    max_count: Annotated[
        int | None,
        typer.Option("--max-count", callback=at_least(1), metavar="N", help="keep the last N"),
    ] = None,
    max_age: Annotated[
        float | None,
        typer.Option(
            "--max-age",
            callback=at_most_days(more_than(0), RETENTION_DAYS),
            metavar="DAYS",
            help="keep the last DAYS days",
        ),
    ] = None,
) -> int:
    """Store a retention policy."""
    from ..stores._lifecycle import RetentionPolicy

    if max_count is None and max_age is None:
        return ctx.error("give --max-count and/or --max-age", "usage", EXIT_USAGE)
    age = None if max_age is None else timedelta(days=max_age)
    policy = RetentionPolicy(age, max_count)
    async with ctx.backend() as backend:
        await backend.events.save_retention(aggregate_type, policy)
    if ctx.json:
        ctx.emit_json(
            {
                "aggregate_type": aggregate_type,
                "max_count": max_count,
                "max_age_days": _days(policy.max_age),
            }
        )
    else:
        ctx.out(f"stored: {aggregate_type}")
    return 0


@command(group, "clear", help="remove TYPE's stored policy")
async def run_clear(ctx: Context, aggregate_type: AggregateType) -> int:
    """Remove a stored retention policy."""
    async with ctx.backend() as backend:
        had = aggregate_type in await backend.events.load_retention()
        await backend.events.save_retention(aggregate_type, None)
    if ctx.json:
        ctx.emit_json({"aggregate_type": aggregate_type, "removed": had})
    else:
        ctx.out(f"removed: {aggregate_type}" if had else f"no policy stored for {aggregate_type}")
    return 0


@command(group, "list", help="the stored policies")
async def run_list(ctx: Context) -> int:
    """List the stored retention policies."""
    async with ctx.backend() as backend:
        policies = await backend.events.load_retention()
    rows = [(t, p.max_count, _days(p.max_age)) for t, p in policies.items()]
    if ctx.json:
        ctx.emit_json(
            [{"aggregate_type": t, "max_count": c, "max_age_days": d} for t, c, d in rows]
        )
    elif not rows:
        ctx.out("no retention policies stored")
    else:
        ctx.table(rows, HEADERS)
    return 0
