"""``eventsource upgrade URL``: convert an eventsource-py 0.5.0 database in place."""

from __future__ import annotations

import argparse

from ..legacy import LEGACY_VERSION, UpgradeProgress, upgrade
from ._context import Commands, Context

__all__ = ["register"]


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, not {value}")
    return value


def register(commands: Commands, parent: argparse.ArgumentParser) -> None:
    """Add the ``upgrade`` command."""
    command = commands.add_parser(
        "upgrade",
        parents=[parent],
        help=f"convert a database written by {LEGACY_VERSION} in place",
        description=f"Convert the {LEGACY_VERSION} database at URL (a SQLite file or a "
        "PostgreSQL schema) to this release's schema, in place: event ids, stream versions, "
        "global positions, checkpoints, outbox and DLQ entries are kept. Stop its writers "
        "first. Resumable: rerun after an interruption. Verified: row counts and a checksum "
        "over the ordered events must match before the swap (exit 1 otherwise).",
    )
    command.add_argument("target", metavar="URL", help="the database to convert")
    command.add_argument(
        "--batch-size", type=_positive, default=1000, metavar="N", help="rows per batch (1000)"
    )
    command.add_argument(
        "--keep-legacy",
        action="store_true",
        help="keep 0.5.0's tables after the conversion, renamed legacy050_*",
    )
    command.add_argument(
        "--restart",
        action="store_true",
        help="of an unfinished conversion, delete what was copied and copy again",
    )
    command.set_defaults(handler=run)


async def run(ctx: Context) -> int:
    """Convert, printing progress to stderr."""
    url = ctx.url_from(ctx.args.target)
    shown: dict[str, int] = {}

    def progress(step: UpgradeProgress) -> None:
        # about every tenth of a table, and its end
        every = max(1, step.total // 10)
        if ctx.json or (
            step.copied < step.total and step.copied - shown.get(step.table, 0) < every
        ):
            return
        shown[step.table] = step.copied
        ctx.err(f"{step.table}: {step.copied}/{step.total} copied")

    report = await upgrade(
        url,
        batch_size=ctx.args.batch_size,
        progress=progress,
        keep_legacy=ctx.args.keep_legacy,
        restart=ctx.args.restart,
    )
    if ctx.json:
        ctx.emit_json({"url": str(url), **report.to_dict()})
    elif report.state == "current":
        ctx.out(f"{report.location} already has this release's schema: nothing to convert.")
    else:
        counts = ", ".join(f"{n} {table}" for table, n in report.counts.items())
        ctx.out(
            f"Converted {report.location} from {LEGACY_VERSION}"
            f"{' (resumed)' if report.resumed else ''}: {counts}; verified (events checksum "
            f"{report.checksum[:16]}), in {report.elapsed_seconds:.2f}s."
        )
    return 0
