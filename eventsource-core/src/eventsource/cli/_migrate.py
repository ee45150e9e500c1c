"""``eventsource migrate SOURCE TARGET``: copy a store, show progress, verify the copy."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Annotated

import typer

from ._checks import at_least
from ._command import command
from ._context import Context
from ._exit_codes import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from ._words import counted

if TYPE_CHECKING:
    from ..migration import MigrationReport
    from ..plugins._url import BackendURL

__all__ = ["register"]


class OnRefused(enum.StrEnum):
    """What to do at a source event the target refuses or nobody can decode."""

    STOP = "stop"
    SKIP = "skip"


class Method(enum.StrEnum):
    """How events are copied."""

    AUTO = "auto"
    BULK = "bulk"
    APPEND = "append"


def register(app: typer.Typer) -> None:
    """Add the ``migrate`` command."""
    command(
        app,
        "migrate",
        url=False,
        help="copy a store to another backend, then verify the copy",
        description="Copy every event from SOURCE to TARGET (ids, stream versions, order and, "
        "between backends with bulk transfer, global positions, times, truncated and deleted "
        "streams kept), then what --with names (checkpoints by default, copied as they are; "
        "outbox and DLQ entries and snapshots on request), "
        "then verify: counts and a checksum over the ordered events of both sides, exit 1 if "
        "they differ. Resumable: rerun after an interruption (even a kill) and nothing is "
        "copied twice. Refuses a TARGET that is the SOURCE. Nothing else may write to the "
        "target meanwhile.",
    )(run)


async def run(
    ctx: Context,
    source: Annotated[str | None, typer.Argument(metavar="SOURCE", help="source URL")] = None,
    target: Annotated[str | None, typer.Argument(metavar="TARGET", help="target URL")] = None,
    source_option: Annotated[
        str | None, typer.Option("--from", metavar="URL", help="source (instead of SOURCE)")
    ] = None,
    target_option: Annotated[
        str | None, typer.Option("--to", metavar="URL", help="target (instead of TARGET)")
    ] = None,
    include: Annotated[
        str,
        typer.Option(
            "--with",
            metavar="LIST",
            help="what to copy besides the events, comma-separated: checkpoints, outbox, "
            "dlq, snapshots; or none",
        ),
    ] = "checkpoints",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="count what would be copied; write nothing")
    ] = False,
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help="compare both sides after the copy")
    ] = True,
    batch_size: Annotated[
        int,
        typer.Option(
            "--batch-size", callback=at_least(1), metavar="N", help="events per transaction"
        ),
    ] = 5000,
    method: Annotated[
        Method,
        typer.Option(
            "--method",
            help="bulk: rows as stored (both backends need bulk transfer); append: through "
            "append_events (any backend; positions numbered anew); auto: bulk when it can",
        ),
    ] = Method.AUTO,
    on_refused: Annotated[
        OnRefused,
        typer.Option(
            "--on-refused",
            help="at a source event the target refuses or nobody can decode: stop there (the "
            "default; rerun to resume) or skip it and the rest of its stream, listing them",
        ),
    ] = OnRefused.STOP,
) -> int:
    """Copy, showing progress on stderr, then verify."""
    from ..migration import INCLUDABLE, migrate_backend
    from ._progress import ProgressDisplay

    urls = _urls(ctx, source, target, source_option, target_option)
    if isinstance(urls, int):
        return urls
    source_url, target_url = urls
    chosen = [part.strip() for part in include.split(",") if part.strip()]
    if chosen == ["none"]:
        chosen = []
    unknown = sorted(set(chosen) - set(INCLUDABLE))
    if unknown:
        return ctx.error(
            f"--with cannot copy {', '.join(unknown)} (choose from "
            f"{', '.join(INCLUDABLE)}, or none)",
            "usage",
            EXIT_USAGE,
        )
    with ProgressDisplay(ctx) as display:
        report = await migrate_backend(
            source_url,
            target_url,
            batch_size=batch_size,
            progress=display,
            on_refused=on_refused.value,
            include=chosen,
            method=method.value,
            dry_run=dry_run,
            verify=verify,
        )
    failed = bool(report.refused) or (
        report.verification is not None and not report.verification.ok
    )
    if ctx.json:
        ctx.emit_json({"from": str(source_url), "to": str(target_url), **report.to_dict()})
    else:
        _describe(ctx, report, str(source_url), str(target_url), chosen)
    return EXIT_ERROR if failed else EXIT_OK


def _urls(
    ctx: Context,
    source: str | None,
    target: str | None,
    source_option: str | None,
    target_option: str | None,
) -> tuple[BackendURL, BackendURL] | int:
    """SOURCE and TARGET from the arguments, ``--from`` / ``--to`` standing in for either."""
    positional = [text for text in (source, target) if text is not None]
    given_source = source_option if source_option is not None else _pop(positional)
    given_target = target_option if target_option is not None else _pop(positional)
    if given_source is None or given_target is None or positional:
        return ctx.error(
            "give one SOURCE and one TARGET: eventsource migrate SOURCE TARGET (or --from URL "
            "--to URL)",
            "usage",
            EXIT_USAGE,
        )
    return ctx.url_from(given_source), ctx.url_from(given_target)


def _pop(items: list[str]) -> str | None:
    return items.pop(0) if items else None


def _entries(report: MigrationReport, chosen: list[str]) -> str:
    """ ", 3 outbox entries, 1 DLQ entries" for what was asked for."""
    text = ""
    if "outbox" in chosen:
        text += f", {counted(report.outbox_copied, 'outbox entry', 'outbox entries')}"
    if "dlq" in chosen:
        text += f", {counted(report.dlq_copied, 'DLQ entry', 'DLQ entries')}"
    if "snapshots" in chosen:
        text += f", {counted(report.snapshots_copied, 'snapshot')}"
    return text


def _describe(
    ctx: Context, report: MigrationReport, source: str, target: str, chosen: list[str]
) -> None:
    how = f"{report.method} copy"
    if report.dry_run:
        ctx.out(
            f"Dry run {source} -> {target} ({how}): {counted(report.events_copied, 'event')} "
            f"to copy, {report.events_skipped} already there, "
            f"{counted(report.marks_copied, 'deleted-stream mark')}, "
            f"{counted(report.checkpoints_copied, 'checkpoint')}{_entries(report, chosen)}. "
            "Nothing was written."
        )
        return
    ctx.out(
        f"Migrated {source} -> {target} ({how}): {counted(report.events_copied, 'event')} "
        f"copied, {report.events_skipped} already there, {counted(report.streams, 'stream')}, "
        f"{counted(report.marks_copied, 'deleted-stream mark')}, "
        f"{counted(report.checkpoints_copied, 'checkpoint')}"
        f"{_entries(report, chosen)}, in {report.elapsed_seconds:.2f}s "
        f"({report.rate:,.0f} events/s)."
    )
    if report.refused:
        ctx.out(f"{counted(len(report.refused), 'event')} not copied:")
        for refused in report.refused:
            reason = (refused.reason.splitlines() or [""])[0]
            ctx.out(f"  position {refused.global_position} ({refused.stream_id}): {reason}")
    check = report.verification
    if check is None:
        return
    if check.ok:
        ctx.out(
            f"Verified: {counted(check.source_count, 'event')} on both sides, checksum "
            f"{check.source_checksum[:16]}."
        )
    else:
        ctx.out(
            f"VERIFICATION FAILED: source {counted(check.source_count, 'event')} (checksum "
            f"{check.source_checksum[:16]}), target {counted(check.target_count, 'event')} "
            f"(checksum {check.target_checksum[:16]})."
        )
