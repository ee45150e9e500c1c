"""``eventsource checkpoints list|reset``."""

from __future__ import annotations

import argparse

from .._exceptions import EntryNotFoundError
from ._context import Commands, Context

__all__ = ["register"]


def register(commands: Commands, parent: argparse.ArgumentParser) -> None:
    """Add the ``checkpoints`` command group."""
    checkpoints = commands.add_parser(
        "checkpoints", parents=[parent], help="projection checkpoints"
    )
    group = checkpoints.add_subparsers(
        title="checkpoints commands", metavar="COMMAND", required=True
    )
    listing = group.add_parser(
        "list",
        parents=[parent],
        help="every projection's checkpoint and lag",
        description="List each projection's checkpoint: global position, last event, "
        "events processed, and how many events it is behind.",
    )
    listing.set_defaults(handler=run_list)
    reset = group.add_parser(
        "reset",
        parents=[parent],
        help="forget a projection's checkpoint (it restarts from the beginning)",
    )
    reset.add_argument("name", metavar="NAME", help="projection name")
    reset.set_defaults(handler=run_reset)


async def run_list(ctx: Context) -> int:
    """List checkpoints with their lag."""
    async with ctx.backend() as backend:
        rows = []
        for data in await backend.checkpoints.get_all_checkpoints():
            lag = await backend.checkpoints.get_lag_metrics(data.projection_name)
            rows.append((data, lag.lag_events if lag is not None else None))
    if ctx.json:
        ctx.emit_json([{**data.to_dict(), "lag_events": lag} for data, lag in rows])
        return 0
    if not rows:
        ctx.out("No checkpoints.")
        return 0
    ctx.table(
        [
            (
                d.projection_name,
                d.global_position,
                lag,
                d.events_processed,
                d.last_event_type,
                d.last_event_id,
                d.updated_at,
            )
            for d, lag in rows
        ],
        ["PROJECTION", "POSITION", "LAG", "PROCESSED", "LAST TYPE", "LAST EVENT", "UPDATED"],
    )
    return 0


async def run_reset(ctx: Context) -> int:
    """Reset one checkpoint; an unknown name is an error."""
    name = ctx.args.name
    async with ctx.backend() as backend:
        data = await backend.checkpoints.get_checkpoint_data(name)
        if data is None:
            raise EntryNotFoundError(f"no checkpoint for projection {name!r}")
        await backend.checkpoints.reset_checkpoint(name)
    if ctx.json:
        ctx.emit_json({"reset": name, "was_at": data.global_position})
    else:
        ctx.out(f"Reset checkpoint {name!r} (was at global position {data.global_position}).")
    return 0
