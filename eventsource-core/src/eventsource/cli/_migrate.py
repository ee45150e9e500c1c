"""``eventsource migrate --from URL --to URL``."""

from __future__ import annotations

import enum
from typing import Annotated

import typer

from ._checks import at_least
from ._command import command
from ._context import Context

__all__ = ["register"]


class OnRefused(enum.StrEnum):
    """What to do at a source event the target refuses or nobody can decode."""

    STOP = "stop"
    SKIP = "skip"


def register(app: typer.Typer) -> None:
    """Add the ``migrate`` command."""
    command(
        app,
        "migrate",
        url=False,
        help="copy events and checkpoints to another backend",
        description="Copy every event (ids, stream versions and order kept) and every "
        "checkpoint from one backend to another. Resumable: rerun after an interruption and "
        "events already copied are skipped. Nothing else may write to the target meanwhile.",
    )(run)


async def run(
    ctx: Context,
    source: Annotated[str, typer.Option("--from", metavar="URL", help="source")],
    target: Annotated[str, typer.Option("--to", metavar="URL", help="target")],
    batch_size: Annotated[
        int,
        typer.Option("--batch-size", callback=at_least(1), metavar="N", help="events per batch"),
    ] = 1000,
    on_refused: Annotated[
        OnRefused,
        typer.Option(
            "--on-refused",
            help="at a source event the target refuses or nobody can decode: stop there (the "
            "default; rerun to resume) or skip it and the rest of its stream, listing them",
        ),
    ] = OnRefused.STOP,
) -> int:
    """Copy, printing progress to stderr."""
    from ..migration import migrate_backend

    source_url = ctx.url_from(source)
    target_url = ctx.url_from(target)

    def progress(done: int) -> None:
        if not ctx.json:
            ctx.err(f"{done} events...")

    report = await migrate_backend(
        source_url,
        target_url,
        batch_size=batch_size,
        progress=progress,
        on_refused=on_refused.value,
    )
    if ctx.json:
        ctx.emit_json({"from": str(source_url), "to": str(target_url), **report.to_dict()})
    else:
        ctx.out(
            f"Migrated {source_url} -> {target_url}: {report.events_copied} events copied, "
            f"{report.events_skipped} already there, {report.streams} streams, "
            f"{report.checkpoints_copied} checkpoints, in {report.elapsed_seconds:.2f}s."
        )
        if report.refused:
            ctx.out(f"{len(report.refused)} events not copied:")
            for refused in report.refused:
                reason = (refused.reason.splitlines() or [""])[0]
                ctx.out(f"  position {refused.global_position} ({refused.stream_id}): {reason}")
    return 1 if report.refused else 0
