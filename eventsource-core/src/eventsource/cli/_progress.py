"""A migration's progress on stderr: a Rich progress bar (done/total, rate, ETA) on a
terminal; elsewhere a few plain lines (about every tenth of the total, or every ``every``
seconds when the total is not known, and the last), never one per batch."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ._context import Context

if TYPE_CHECKING:
    from ..migration import MigrationProgress

__all__ = ["ProgressDisplay", "describe"]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = round(seconds)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def describe(step: MigrationProgress) -> str:
    """One plain line: ``12000/100000 events (12%), 21,500 events/s, ETA 0:04``."""
    total = "?" if step.total is None else str(step.total)
    share = "" if step.fraction is None else f" ({step.fraction:.0%})"
    line = f"{step.done}/{total} events{share}"
    if step.copied:
        line += f", {step.rate:,.0f} events/s, ETA {_duration(step.eta_seconds)}"
    return line


class ProgressDisplay:
    """Shows :class:`MigrationProgress` updates; use as a context manager around the run."""

    def __init__(self, ctx: Context, *, every: float = 5.0) -> None:
        self.ctx = ctx
        self.every = every
        self.terminal = not ctx.json and _is_terminal()
        self._bar: Any = None
        self._task: Any = None
        self._shown_at = 0.0
        self._shown_done = -1
        self._last: MigrationProgress | None = None

    def __enter__(self) -> ProgressDisplay:
        if self.terminal:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(
                TextColumn("copying"),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[rate]}"),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(file=sys.stderr),
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task("events", total=None, rate="")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif (
            not self.ctx.json
            and self._last is not None
            and self._last.done != self._shown_done
            and exc is None
        ):
            self._line(self._last)

    def __call__(self, step: MigrationProgress) -> None:
        """The engine's progress callback."""
        self._last = step
        if self.ctx.json:
            return
        if self._bar is not None:
            self._bar.update(
                self._task,
                completed=step.done,
                total=step.total,
                rate=f"{step.rate:,.0f} events/s",
            )
            return
        now = time.monotonic()
        # a tenth of a known total; without one (the append path), only every `every` seconds
        tenth = max(1, step.total // 10) if step.total is not None else None
        finished = step.total is not None and step.done >= step.total
        due = (tenth is not None and step.done - self._shown_done >= tenth) or (
            now - self._shown_at >= self.every
        )
        if (self._shown_done < 0 or finished or due) and step.done != self._shown_done:
            self._line(step)
            self._shown_at = now

    def _line(self, step: MigrationProgress) -> None:
        self._shown_done = step.done
        self.ctx.err(describe(step))


def _is_terminal() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
