"""``eventsource upgrade URL``: convert an eventsource-py 0.5.0 database in place."""

from __future__ import annotations

from typing import Annotated

import typer

from ._checks import at_least
from ._command import command
from ._context import Context

__all__ = ["register"]

#: The release whose databases ``upgrade`` converts (eventsource.legacy.LEGACY_VERSION).
_LEGACY = "eventsource-py 0.5.0"


def register(app: typer.Typer) -> None:
    """Add the ``upgrade`` command."""
    command(
        app,
        "upgrade",
        url=False,
        help=f"convert a database written by {_LEGACY} in place",
        description=f"Convert the {_LEGACY} database at URL (a SQLite file or a PostgreSQL "
        "schema) to this release's schema, in place: event ids, stream versions, global "
        "positions, checkpoints, outbox and DLQ entries are kept. Stop its writers first. "
        "Resumable: rerun after an interruption. Verified: row counts and a checksum over the "
        "ordered events must match before the swap (exit 1 otherwise).",
    )(run)


async def run(
    ctx: Context,
    target: Annotated[str, typer.Argument(metavar="URL", help="the database to convert")],
    batch_size: Annotated[
        int, typer.Option("--batch-size", callback=at_least(1), metavar="N", help="rows per batch")
    ] = 1000,
    keep_legacy: Annotated[
        bool,
        typer.Option(
            "--keep-legacy", help="keep 0.5.0's tables after the conversion, renamed legacy050_*"
        ),
    ] = False,
    restart: Annotated[
        bool,
        typer.Option(
            "--restart", help="of an unfinished conversion, delete what was copied and copy again"
        ),
    ] = False,
) -> int:
    """Convert, printing progress to stderr."""
    from ..legacy import LEGACY_VERSION, UpgradeProgress, upgrade

    url = ctx.url_from(target)
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
        url, batch_size=batch_size, progress=progress, keep_legacy=keep_legacy, restart=restart
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
