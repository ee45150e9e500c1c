"""``eventsource dlq list|show|resolve``.

An entry parked for an undecodable (poison) event shows as kind ``undecodable``, with the
row's global position, stream and stored text (``show``: in full; ``list``: truncated).
Stored text, errors and tracebacks are printed through ``safe_text`` (control characters
escaped); ``--json`` output is JSON with every non-ASCII character escaped.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from .._exceptions import EntryNotFoundError
from ..repositories._entries import DLQEntry, DLQStatus
from ..runtime._undecodable import UndecodableEvent
from ._context import Commands, Context, to_jsonable
from ._safe_text import safe_text

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
        ctx.emit_json([_jsonable(e) for e in entries])
        return 0
    if not entries:
        ctx.out(f"No {args.status} entries.")
        return 0
    rows = []
    for e in entries:
        poison = UndecodableEvent.from_event_data(e.event_data)
        rows.append(
            (
                e.id,
                e.projection_name,
                _kind(poison),
                e.event_type,
                e.event_id,
                None if poison is None else poison.global_position,
                _stream(e, poison),
                e.retry_count,
                e.last_failed_at,
                _short(_error(e, poison)),
                None if poison is None else _short(poison.raw_payload, 40),
            )
        )
    ctx.table(
        rows,
        [
            "ID",
            "PROJECTION",
            "KIND",
            "EVENT TYPE",
            "EVENT ID",
            "POSITION",
            "STREAM",
            "RETRIES",
            "LAST FAILED",
            "ERROR",
            "RAW PAYLOAD",
        ],
    )
    return 0


async def run_show(ctx: Context) -> int:
    """Show one entry in full."""
    async with ctx.backend() as backend:
        entry = await backend.dlq.get_failed_event_by_id(ctx.args.id)
    if entry is None:
        raise EntryNotFoundError(f"no DLQ entry {ctx.args.id}")
    if ctx.json:
        ctx.emit_json(_jsonable(entry))
        return 0
    poison = UndecodableEvent.from_event_data(entry.event_data)
    where: list[tuple[str, Any]] = []
    if poison is not None:
        where = [
            ("event version", poison.event_version),
            ("global position", poison.global_position),
            ("stream", poison.stream_id),
            ("stream position", poison.stream_position),
        ]
    ctx.fields(
        [
            ("id", entry.id),
            ("status", entry.status.value),
            ("kind", _kind(poison, long=True)),
            ("projection", entry.projection_name),
            ("event", f"{entry.event_type} {entry.event_id}"),
            *where,
            ("retries", entry.retry_count),
            ("first failed", entry.first_failed_at),
            ("last failed", entry.last_failed_at),
            ("error", f"{entry.error_type}: {entry.error_message}"),
            ("resolved", entry.resolved_at),
            ("resolution", entry.resolution),
        ]
    )
    if poison is not None:
        ctx.out("raw payload (as stored):")
        ctx.out(safe_text(poison.raw_payload, multiline=True))
    else:
        ctx.out("event data:")
        ctx.out(json.dumps(to_jsonable(entry.event_data), indent=2, sort_keys=True))
    if entry.error_stacktrace:
        ctx.out("traceback:")
        ctx.out(safe_text(entry.error_stacktrace.rstrip(), multiline=True))
    return 0


async def run_resolve(ctx: Context) -> int:
    """Resolve one entry with a note."""
    async with ctx.backend() as backend:
        await backend.dlq.mark_resolved(ctx.args.id, ctx.args.note)
        entry = await backend.dlq.get_failed_event_by_id(ctx.args.id)
    if ctx.json:
        ctx.emit_json(entry)
    else:
        ctx.out(f"Resolved DLQ entry {ctx.args.id}: {safe_text(ctx.args.note)}")
    return 0


def _kind(poison: UndecodableEvent | None, *, long: bool = False) -> str:
    if poison is None:
        return "handler failure" if long else "handler"
    return "undecodable: the stored event cannot be decoded (poison)" if long else "undecodable"


def _error(entry: DLQEntry, poison: UndecodableEvent | None) -> str:
    """The entry's error for the list: for an undecodable event, why (the row's position and
    stream have columns of their own)."""
    if poison is not None:
        _, _, why = entry.error_message.partition(" cannot be decoded: ")
        if why:
            return why
    return f"{entry.error_type}: {entry.error_message}"


def _stream(entry: DLQEntry, poison: UndecodableEvent | None) -> str | None:
    """The entry's stream: the undecodable row's, else from the parked event's data."""
    if poison is not None:
        return poison.stream_id
    data = entry.event_data
    aggregate_id, aggregate_type = data.get("aggregate_id"), data.get("aggregate_type")
    return f"{aggregate_id}:{aggregate_type}" if aggregate_id and aggregate_type else None


def _jsonable(entry: DLQEntry) -> dict[str, Any]:
    """The entry as JSON, with its ``kind`` (``handler`` or ``undecodable``)."""
    data: dict[str, Any] = to_jsonable(entry)
    data["kind"] = _kind(UndecodableEvent.from_event_data(entry.event_data))
    return data


def _short(text: str, width: int = 60) -> str:
    line = safe_text(" ".join(text.split()))
    return line if len(line) <= width else line[: width - 3] + "..."
