"""``eventsource outbox stats``."""

from __future__ import annotations

import argparse

from ._context import Commands, Context

__all__ = ["register"]


def register(commands: Commands, parent: argparse.ArgumentParser) -> None:
    """Add the ``outbox`` command group."""
    outbox = commands.add_parser("outbox", parents=[parent], help="the transactional outbox")
    group = outbox.add_subparsers(title="outbox commands", metavar="COMMAND", required=True)
    stats = group.add_parser("stats", parents=[parent], help="outbox entries by status")
    stats.set_defaults(handler=run_stats)


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
