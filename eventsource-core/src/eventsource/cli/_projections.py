"""``eventsource projections list|rebuild``.

Pause and resume are not offered: a :class:`~eventsource.runtime.ProjectionRunner` runs in
its own process and has no remote control to ask it; stop it there (its lease is released)
and start it again.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from ._command import command
from ._confirm import confirmed
from ._context import Context
from ._status import owners_text
from ._words import counted

if TYPE_CHECKING:
    from ..runtime._runner import RebuildProgress

__all__ = ["register"]

group = typer.Typer(no_args_is_help=True, help="projections: list them, rebuild one")


def register(app: typer.Typer) -> None:
    """Add the ``projections`` command group."""
    app.add_typer(group, name="projections")


@command(
    group,
    "list",
    help="every projection: state, position, lag, owners, shards",
    description="List the projections known from their checkpoints and ownership leases "
    "(shards p#k/N grouped under p): state (running, stopped, stale or unknown), position, "
    "lag, events processed, owners and open DLQ entries.",
)
async def run_list(ctx: Context) -> int:
    """List projections."""
    from ..inspection import projections_overview

    async with ctx.backend() as backend:
        projections = await projections_overview(backend.checkpoints, backend.dlq)
    if ctx.json:
        ctx.emit_json(projections)
        return 0
    if not projections:
        ctx.out("No projections.")
        return 0
    ctx.table(
        [
            (
                p.name,
                p.state,
                p.position,
                p.lag_events,
                p.events_processed,
                owners_text(p),
                len(p.shards) or None,
                p.dlq_open,
                p.updated_at,
            )
            for p in projections
        ],
        [
            "PROJECTION",
            "STATE",
            "POSITION",
            "LAG",
            "PROCESSED",
            "OWNER",
            "SHARDS",
            "DLQ",
            "UPDATED",
        ],
    )
    return 0


@command(
    group,
    "rebuild",
    help="reset a projection and run it to the head, with progress",
    description="Import the projection MODULE:ATTR from your code (a projection, its class "
    "or a factory; the current directory is on the import path), call its reset() when it "
    "has one, forget its checkpoint and hand it every event up to the head, showing "
    "progress (events, rate, time left) on stderr. Asks first; --yes skips the question "
    "(needed without a terminal). Refused while another runner owns the projection.",
)
async def run_rebuild(
    ctx: Context,
    projection: Annotated[
        str, typer.Argument(metavar="MODULE:ATTR", help="the projection to rebuild")
    ],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="do not ask (needed without a terminal)")
    ] = False,
) -> int:
    """Rebuild one projection."""
    from ..runtime._runner import ProjectionRunner
    from ._projection_spec import load_projection

    target = load_projection(projection, "MODULE:ATTR")
    if not confirmed(f"Rebuild {target.name!r} from the first event?", yes=yes):
        return ctx.error(
            f"not rebuilt: confirm with --yes to rebuild {target.name!r}", "refused", 1
        )
    async with ctx.backend() as backend:
        head = await backend.events.get_global_position()
        runner = ProjectionRunner.from_backend(target, ctx.lenient(backend))
        with _Bar(ctx, target.name, head) as bar:
            handled = await runner.rebuild(
                progress=bar.update, every=max(1, min(1000, head // 100))
            )
        position = runner.position
    if ctx.json:
        ctx.emit_json({"rebuilt": target.name, "handled": handled, "position": position})
    else:
        ctx.out(
            f"Rebuilt {target.name!r}: {counted(handled, 'event')} handled, "
            f"at global position {position}."
        )
    return 0


class _Bar:
    """A Rich progress bar on stderr (events, rate, time left), when stderr is a terminal."""

    def __init__(self, ctx: Context, name: str, total: int) -> None:
        self.progress = None
        if ctx.json or not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self.task = self.progress.add_task(f"rebuild {name}", total=max(total, 1), rate="")

    def __enter__(self) -> _Bar:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def update(self, step: RebuildProgress) -> None:
        if self.progress is None:
            return
        speed = self.progress.tasks[0].speed
        rate = f"{speed:,.0f} events/s" if speed else ""
        self.progress.update(
            self.task, completed=step.position, total=max(step.target_position, 1), rate=rate
        )
