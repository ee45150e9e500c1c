"""``eventsource dlq list|show|resolve``.

An entry parked for an undecodable (poison) event shows as kind ``undecodable``, with the
row's global position, stream and stored text (``show``: in full; ``list``: truncated).
Stored text, errors and tracebacks are printed through ``safe_text`` (control characters
escaped); ``--json`` output is JSON with every non-ASCII character escaped.
"""

from __future__ import annotations

import enum
import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .._exceptions import EntryNotFoundError
from ._checks import at_least
from ._command import command
from ._context import Context, to_jsonable
from ._exit_codes import EXIT_ERROR
from ._safe_text import safe_text

if TYPE_CHECKING:
    from ..repositories._entries import DLQEntry
    from ..runtime._undecodable import UndecodableEvent

__all__ = ["register"]

group = typer.Typer(no_args_is_help=True, help="the dead-letter queue")


class Status(enum.StrEnum):
    """A DLQ entry's status (eventsource.repositories.DLQStatus)."""

    FAILED = "failed"
    RETRYING = "retrying"
    RESOLVED = "resolved"


EntryId = Annotated[int, typer.Argument(metavar="ID", callback=at_least(1), help="DLQ entry id")]
PROJECTION_HELP = "the projection, as MODULE:ATTR (a projection, its class or a factory)"


def _a_note(note: str) -> str:
    """The note without surrounding blanks; a blank one is a usage error (as in the console)."""
    if not note.strip():
        raise typer.BadParameter("give a note: what was done")
    return note.strip()


def register(app: typer.Typer) -> None:
    """Add the ``dlq`` command group."""
    app.add_typer(group, name="dlq")


def _poison(entry: DLQEntry) -> UndecodableEvent | None:
    from ..runtime._undecodable import UndecodableEvent

    return UndecodableEvent.from_event_data(entry.event_data)


@command(group, "list", help="failed events")
async def run_list(
    ctx: Context,
    projection: Annotated[
        str | None, typer.Option("--projection", metavar="P", help="only this projection")
    ] = None,
    status: Annotated[
        Status, typer.Option("--status", help="entries with this status")
    ] = Status.FAILED,
    limit: Annotated[
        int, typer.Option("--limit", callback=at_least(0), metavar="N", help="at most N")
    ] = 100,
) -> int:
    """List entries of one status."""
    from ..inspection import dlq_entry_stream

    async with ctx.backend() as backend:
        entries = await backend.dlq.get_failed_events(
            projection_name=projection, status=status.value, limit=limit
        )
    if ctx.json:
        ctx.emit_json([_jsonable(e) for e in entries])
        return 0
    if not entries:
        ctx.out(f"No {status.value} entries.")
        return 0
    rows = []
    for e in entries:
        poison = _poison(e)
        rows.append(
            (
                e.id,
                e.projection_name,
                _kind(poison),
                e.event_type,
                e.event_id,
                None if poison is None else poison.global_position,
                dlq_entry_stream(e, poison),
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


@command(
    group,
    "show",
    help="one entry with its traceback (and the raw payload of an undecodable event)",
)
async def run_show(ctx: Context, dlq_id: EntryId) -> int:
    """Show one entry in full."""
    async with ctx.backend() as backend:
        entry = await backend.dlq.get_failed_event_by_id(dlq_id)
    if entry is None:
        raise EntryNotFoundError(f"no DLQ entry {dlq_id}")
    if ctx.json:
        ctx.emit_json(_jsonable(entry))
        return 0
    poison = _poison(entry)
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


@command(
    group,
    "resolve",
    help="mark an entry resolved, with a note",
    description="Mark DLQ entry ID resolved (without replaying it), with --note saying what "
    "was done. An entry already resolved is refused (its note kept) unless --force.",
)
async def run_resolve(
    ctx: Context,
    dlq_id: EntryId,
    note: Annotated[
        str,
        typer.Option("--note", metavar="TEXT", callback=_a_note, help="what was done"),
    ],
    force: Annotated[
        bool, typer.Option("--force", help="resolve again, replacing the note")
    ] = False,
) -> int:
    """Resolve one entry with a note (:meth:`DLQReplayer.resolve`)."""
    from .._exceptions import InvalidStateError
    from ..runtime._dlq import DLQReplayer

    async with ctx.backend() as backend:
        try:
            await DLQReplayer(backend.dlq, backend.events).resolve(dlq_id, note, force=force)
        except InvalidStateError as exc:  # already resolved
            return ctx.error(f"{exc}; --force replaces its note", "refused", EXIT_ERROR)
        entry = await backend.dlq.get_failed_event_by_id(dlq_id)
    if ctx.json:
        ctx.emit_json(entry)
    else:
        ctx.out(f"Resolved DLQ entry {dlq_id}: {safe_text(note)}")
    return 0


@command(
    group,
    "replay",
    help="hand parked events to their projection again",
    description="Replay DLQ entry ID (or, with --all, every failed entry of the projection, "
    "oldest first) into the projection named by --projection MODULE:ATTR, imported from your "
    "code (the current directory is on the import path). A replay that succeeds resolves the "
    "entry; one that fails leaves it failed with the new error. Exit 1 if any failed.",
)
async def run_replay(
    ctx: Context,
    projection: Annotated[
        str, typer.Option("--projection", metavar="MODULE:ATTR", help=PROJECTION_HELP)
    ],
    dlq_id: Annotated[
        int | None,
        typer.Argument(metavar="ID", callback=at_least(1), help="the entry (or --all)"),
    ] = None,
    all_entries: Annotated[
        bool, typer.Option("--all", help="every failed entry of the projection")
    ] = False,
    note: Annotated[
        str, typer.Option("--note", metavar="TEXT", help="resolution of replayed entries")
    ] = "replayed",
) -> int:
    """Replay one entry or all of a projection's."""
    from ..runtime._dlq import DLQReplayer
    from ._projection_spec import load_projection

    if (dlq_id is None) == (not all_entries):
        raise typer.BadParameter("give an entry ID or --all (not both)", param_hint="ID")
    target = load_projection(projection, "--projection")
    async with ctx.backend() as backend:
        replayer = DLQReplayer(backend.dlq, ctx.lenient(backend).events)
        if dlq_id is not None:
            results = [await replayer.replay(target, dlq_id, resolution=note)]
        else:
            results = await replayer.replay_all(target, resolution=note)
    failed = [r for r in results if not r.ok]
    if ctx.json:
        ctx.emit_json(
            [
                {
                    "dlq_id": r.dlq_id,
                    "event_id": r.event_id,
                    "ok": r.ok,
                    "error": None if r.error is None else f"{type(r.error).__name__}: {r.error}",
                }
                for r in results
            ]
        )
    else:
        for r in results:
            outcome = "resolved" if r.ok else f"failed again: {type(r.error).__name__}: {r.error}"
            ctx.out(f"DLQ entry {r.dlq_id} (event {r.event_id}): {safe_text(outcome)}")
        ctx.out(
            f"Replayed {len(results)}: {len(results) - len(failed)} resolved, {len(failed)} failed."
        )
    return EXIT_ERROR if failed else 0


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


def _jsonable(entry: DLQEntry) -> dict[str, Any]:
    """The entry as JSON, with its ``kind`` (``handler`` or ``undecodable``)."""
    data: dict[str, Any] = to_jsonable(entry)
    data["kind"] = _kind(_poison(entry))
    return data


def _short(text: str, width: int = 60) -> str:
    line = safe_text(" ".join(text.split()))
    return line if len(line) <= width else line[: width - 3] + "..."
