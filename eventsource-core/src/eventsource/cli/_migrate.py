"""``eventsource migrate --from URL --to URL``."""

from __future__ import annotations

import argparse

from ..migration import migrate_backend
from ._context import Commands, Context

__all__ = ["register"]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, not {value}")
    return value


def register(commands: Commands, parent: argparse.ArgumentParser) -> None:
    """Add the ``migrate`` command."""
    migrate = commands.add_parser(
        "migrate",
        parents=[parent],
        help="copy events and checkpoints to another backend",
        description="Copy every event (ids, stream versions and order kept) and every "
        "checkpoint from one backend to another. Resumable: rerun after an interruption and "
        "events already copied are skipped. Nothing else may write to the target meanwhile.",
    )
    migrate.add_argument("--from", dest="source", required=True, metavar="URL", help="source")
    migrate.add_argument("--to", dest="target", required=True, metavar="URL", help="target")
    migrate.add_argument(
        "--batch-size", type=_positive, default=1000, metavar="N", help="events per batch (1000)"
    )
    migrate.add_argument(
        "--on-refused",
        choices=["stop", "skip"],
        default="stop",
        help="at a source event the target refuses or nobody can decode: stop there (the "
        "default; rerun to resume) or skip it and the rest of its stream, listing them",
    )
    migrate.set_defaults(handler=run)


async def run(ctx: Context) -> int:
    """Copy, printing progress to stderr."""
    source = ctx.url_from(ctx.args.source)
    target = ctx.url_from(ctx.args.target)

    def progress(done: int) -> None:
        if not ctx.json:
            ctx.err(f"{done} events...")

    report = await migrate_backend(
        source,
        target,
        batch_size=ctx.args.batch_size,
        progress=progress,
        on_refused=ctx.args.on_refused,
    )
    if ctx.json:
        ctx.emit_json({"from": str(source), "to": str(target), **report.to_dict()})
    else:
        ctx.out(
            f"Migrated {source} -> {target}: {report.events_copied} events copied, "
            f"{report.events_skipped} already there, {report.streams} streams, "
            f"{report.checkpoints_copied} checkpoints, in {report.elapsed_seconds:.2f}s."
        )
        if report.refused:
            ctx.out(f"{len(report.refused)} events not copied:")
            for refused in report.refused:
                reason = (refused.reason.splitlines() or [""])[0]
                ctx.out(f"  position {refused.global_position} ({refused.stream_id}): {reason}")
    return 1 if report.refused else 0
