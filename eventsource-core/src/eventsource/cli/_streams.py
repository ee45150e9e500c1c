"""``eventsource streams delete|restore|truncate|scavenge``: stream lifecycle for operators
(docs/lifecycle.md). Each prints how many events it removed or restored."""

from __future__ import annotations

import argparse
from datetime import timedelta
from uuid import UUID

from ..stores._lifecycle import RetentionPolicy
from ._context import Commands, Context

__all__ = ["register"]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, not {value}")
    return value


def _days(text: str) -> timedelta:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, not {text}")
    return timedelta(days=value)


def register(commands: Commands, parent: argparse.ArgumentParser) -> None:
    """Add the ``streams`` command group."""
    streams = commands.add_parser("streams", parents=[parent], help="delete and truncate streams")
    group = streams.add_subparsers(title="streams commands", metavar="COMMAND", required=True)

    def stream_command(name: str, text: str) -> argparse.ArgumentParser:
        command = group.add_parser(name, parents=[parent], help=text, description=text)
        command.add_argument("aggregate_id", type=UUID, metavar="ID")
        command.add_argument("aggregate_type", metavar="TYPE")
        return command

    delete = stream_command("delete", "delete a stream (soft unless --hard); records it")
    delete.add_argument("--hard", action="store_true", help="remove the events for good")
    delete.set_defaults(handler=run_delete)
    stream_command("restore", "bring back a soft-deleted stream").set_defaults(handler=run_restore)
    truncate = stream_command("truncate", "remove a stream's events below a version")
    truncate.add_argument("--before", type=_positive, required=True, metavar="VERSION")
    truncate.set_defaults(handler=run_truncate)
    scavenge = group.add_parser(
        "scavenge",
        parents=[parent],
        help="apply a retention policy to every stream of a type",
        description="Truncate every stream of TYPE to its last --max-count events and/or "
        "the events of the last --max-age days (by occurred_at); a stream's last event stays.",
    )
    scavenge.add_argument("aggregate_type", metavar="TYPE")
    scavenge.add_argument("--max-count", type=_positive, metavar="N")
    scavenge.add_argument("--max-age", type=_days, metavar="DAYS")
    scavenge.set_defaults(handler=run_scavenge)


def _report(ctx: Context, key: str, count: int) -> int:
    if ctx.json:
        ctx.emit_json({key: count})
    else:
        ctx.out(f"{key}: {count}")
    return 0


async def run_delete(ctx: Context) -> int:
    """Delete the stream."""
    args = ctx.args
    async with ctx.backend() as backend:
        count = await backend.events.delete_stream(
            args.aggregate_id, args.aggregate_type, hard=args.hard
        )
    return _report(ctx, "deleted", count)


async def run_restore(ctx: Context) -> int:
    """Restore a soft-deleted stream."""
    args = ctx.args
    async with ctx.backend() as backend:
        count = await backend.events.restore_stream(args.aggregate_id, args.aggregate_type)
    return _report(ctx, "restored", count)


async def run_truncate(ctx: Context) -> int:
    """Truncate the stream."""
    args = ctx.args
    async with ctx.backend() as backend:
        count = await backend.events.truncate_stream(
            args.aggregate_id, args.aggregate_type, before=args.before
        )
    return _report(ctx, "removed", count)


async def run_scavenge(ctx: Context) -> int:
    """Apply one retention policy now."""
    args = ctx.args
    if args.max_count is None and args.max_age is None:
        ctx.err("give --max-count and/or --max-age")
        return 2
    async with ctx.backend() as backend:
        store = backend.events
        store.set_retention(args.aggregate_type, RetentionPolicy(args.max_age, args.max_count))
        count = await store.scavenge()
    return _report(ctx, "removed", count)
