"""``eventsource dlq list|show|resolve``."""

from __future__ import annotations

import argparse
import json

from .._exceptions import EntryNotFoundError
from ..repositories._entries import DLQStatus
from ._context import Commands, Context, to_jsonable

__all__ = ["register"]


def register(commands: Commands, parent: argparse.ArgumentParser) -> None:
    """Add the ``dlq`` command group."""
    dlq = commands.add_parser("dlq", parents=[parent], help="the dead-letter queue")
    group = dlq.add_subparsers(title="dlq commands", metavar="COMMAND", required=True)
    listing = group.add_parser("list", parents=[parent], help="failed events")
    listing.add_argument("--projection", metavar="P", help="only this projection")
    listing.add_argument(
        "--status",
        choices=[s.value for s in DLQStatus],
        default=DLQStatus.FAILED.value,
        help="entries with this status (failed)",
    )
    listing.add_argument("--limit", type=int, default=100, metavar="N", help="at most N (100)")
    listing.set_defaults(handler=run_list)
    show = group.add_parser("show", parents=[parent], help="one entry with its traceback")
    show.add_argument("id", type=int, metavar="ID", help="DLQ entry id")
    show.set_defaults(handler=run_show)
    resolve = group.add_parser("resolve", parents=[parent], help="mark an entry resolved")
    resolve.add_argument("id", type=int, metavar="ID", help="DLQ entry id")
    resolve.add_argument("--note", required=True, metavar="TEXT", help="what was done")
    resolve.set_defaults(handler=run_resolve)


async def run_list(ctx: Context) -> int:
    """List entries of one status."""
    args = ctx.args
    async with ctx.backend() as backend:
        entries = await backend.dlq.get_failed_events(
            projection_name=args.projection, status=args.status, limit=args.limit
        )
    if ctx.json:
        ctx.emit_json(entries)
        return 0
    if not entries:
        ctx.out(f"No {args.status} entries.")
        return 0
    ctx.table(
        [
            (
                e.id,
                e.projection_name,
                e.event_type,
                e.event_id,
                e.retry_count,
                e.last_failed_at,
                _short(f"{e.error_type}: {e.error_message}"),
            )
            for e in entries
        ],
        ["ID", "PROJECTION", "EVENT TYPE", "EVENT ID", "RETRIES", "LAST FAILED", "ERROR"],
    )
    return 0


async def run_show(ctx: Context) -> int:
    """Show one entry in full."""
    async with ctx.backend() as backend:
        entry = await backend.dlq.get_failed_event_by_id(ctx.args.id)
    if entry is None:
        raise EntryNotFoundError(f"no DLQ entry {ctx.args.id}")
    if ctx.json:
        ctx.emit_json(entry)
        return 0
    ctx.fields(
        [
            ("id", entry.id),
            ("status", entry.status.value),
            ("projection", entry.projection_name),
            ("event", f"{entry.event_type} {entry.event_id}"),
            ("retries", entry.retry_count),
            ("first failed", entry.first_failed_at),
            ("last failed", entry.last_failed_at),
            ("error", f"{entry.error_type}: {entry.error_message}"),
            ("resolved", entry.resolved_at),
            ("resolution", entry.resolution),
        ]
    )
    ctx.out("event data:")
    ctx.out(json.dumps(to_jsonable(entry.event_data), indent=2, sort_keys=True))
    if entry.error_stacktrace:
        ctx.out("traceback:")
        ctx.out(entry.error_stacktrace.rstrip())
    return 0


async def run_resolve(ctx: Context) -> int:
    """Resolve one entry with a note."""
    async with ctx.backend() as backend:
        await backend.dlq.mark_resolved(ctx.args.id, ctx.args.note)
        entry = await backend.dlq.get_failed_event_by_id(ctx.args.id)
    if ctx.json:
        ctx.emit_json(entry)
    else:
        ctx.out(f"Resolved DLQ entry {ctx.args.id}: {ctx.args.note}")
    return 0


def _short(text: str, width: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 3] + "..."
