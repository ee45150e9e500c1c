"""``eventsource conformance URL``: certify the backend a URL names with the conformance kit.

Exit 0 when certified (tests ran, none failed), 1 when not (the failures are listed with the
kit's fix hints), 2 for a ``-k`` that selects nothing or does not parse, and the usual codes
for a bad URL (3), an unknown backend (4) or scratch storage that cannot be opened (6).
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .._exceptions import InvalidArgumentError
from ._checks import at_least
from ._command import command
from ._context import Context
from ._exit_codes import EXIT_ERROR, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from ..testing import CertificationReport

__all__ = ["register", "render"]

_KIT_MISSING = (
    "the conformance kit needs pytest and pytest-asyncio: pip install 'eventsource-core[testing]'"
)


def register(app: typer.Typer) -> None:
    """Add the ``conformance`` command."""
    command(
        app,
        "conformance",
        url=False,
        help="certify a backend with the conformance kit",
        description="Run the conformance kit against the backend URL names and print a "
        "certification report: passed, failed (with the kit's fix hints), skipped by "
        "capability, role or fixture. Each test runs on fresh scratch storage beside what URL "
        "names (a temporary SQLite file, a PostgreSQL schema, a memory name), removed after "
        "it; the store URL names is never opened. Exit 0 when certified, 1 when a test failed.",
    )(run)


async def run(
    ctx: Context,
    target: Annotated[str, typer.Argument(metavar="URL", help="a URL of the backend to certify")],
    keyword: Annotated[
        str | None,
        typer.Option(
            "-k",
            "--select",
            metavar="EXPR",
            help="only the kit tests matching this pytest -k expression (test or kit class "
            "names: 'CheckpointConformance or outbox')",
        ),
    ] = None,
    processes: Annotated[
        bool, typer.Option("--processes", help="also race writer processes (seconds more)")
    ] = False,
    plugins: Annotated[
        list[str] | None,
        typer.Option(
            "--plugin",
            metavar="MODULE",
            help="register this plugin module first (a backend not installed yet); repeatable",
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", callback=at_least(0), metavar="SECONDS", help="per kit test (0: none)"
        ),
    ] = 60.0,
) -> int:
    """Certify, then print the report (JSON with ``--json``)."""
    try:
        from ..testing import certify
    except ImportError:
        return ctx.error(_KIT_MISSING, "kit_not_installed", EXIT_ERROR)
    if plugins and "" not in sys.path:
        sys.path.insert(0, "")  # a plugin module in the current directory
    url = ctx.url_from(target)  # a malformed URL fails here, before the kit starts
    if not plugins:  # an unknown backend too (a --plugin one is registered by certify)
        from ..plugins._manager import get_registry

        get_registry().get_backend(url.scheme)
    if not ctx.json:
        ctx.err(f"running the conformance kit against {url} ...")
    try:
        with _Bar(ctx) as bar:
            report = await asyncio.to_thread(
                certify,
                url.render(hide_password=False),
                keyword=keyword,
                processes=processes,
                plugins=tuple(plugins or ()),
                timeout=timeout,
                progress=bar.update,
            )
    except InvalidArgumentError as exc:
        return ctx.error(str(exc), "usage", EXIT_USAGE)
    if ctx.json:
        ctx.emit_json(report.to_dict())
    else:
        render(ctx, report)
    return EXIT_OK if report.certified else EXIT_ERROR


class _Bar:
    """A Rich progress bar of the kit's tests on stderr, when stderr is a terminal."""

    def __init__(self, ctx: Context) -> None:
        self.progress: Any = None
        if ctx.json or not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            TextColumn("kit tests"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.task = self.progress.add_task("kit", total=None)

    def __enter__(self) -> _Bar:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def update(self, done: int, total: int) -> None:
        """Called by ``certify`` (from its thread) as tests finish."""
        if self.progress is not None:
            self.progress.update(self.task, completed=done, total=total)


def render(ctx: Context, report: CertificationReport) -> None:
    """The report for people: a table per kit class, the skips by cause, each failure with
    its fix hint, and the verdict."""
    ctx.out(f"Backend {report.backend} at {report.url}")
    ctx.out(f"capabilities: {', '.join(report.capabilities) or 'none'}")
    ctx.out()
    rows: list[list[object]] = [
        [name, counts["passed"], counts["failed"], counts["skipped"]]
        for name, counts in report.by_class().items()
    ]
    rows.append(["TOTAL", report.count("passed"), report.count("failed"), report.count("skipped")])
    ctx.table(rows, ["KIT CLASS", "PASSED", "FAILED", "SKIPPED"])
    by_cause: dict[str, Counter[str]] = {"capability": Counter(), "role": Counter()}
    reasons: Counter[str] = Counter()
    for skip in report.skips:
        if skip.kind in by_cause and skip.lacks:
            by_cause[skip.kind][skip.lacks] += 1
        else:
            reasons[skip.reason] += 1
    for kind, title in (("capability", "capability not declared"), ("role", "role not provided")):
        if by_cause[kind]:
            listed = ", ".join(f"{name} ({n})" for name, n in sorted(by_cause[kind].items()))
            ctx.out(f"Skipped, {title}: {listed}")
    for reason, n in sorted(reasons.items()):
        ctx.out(f"Skipped ({n}): {reason}")
    for error in report.errors:
        ctx.out(f"Error: {error}")
    if report.failures:
        ctx.out()
        ctx.out(f"Failed ({len(report.failures)}):")
        for failure in report.failures:
            ctx.out(f"  {failure.name} ({failure.kit_class})")
            if failure.where:
                ctx.out(f"    at {failure.where}")
            ctx.out(f"    {failure.message}")
            if failure.hint:
                ctx.out(f"    Fix: {failure.hint}")
    ctx.out()
    counts = (
        f"{report.count('passed')} passed, {report.count('failed')} failed, "
        f"{report.count('skipped')} skipped in {report.seconds:.1f}s"
    )
    selected = f" (selected: -k {report.selection!r})" if report.selection else ""
    verdict = "CERTIFIED" if report.certified else "NOT CERTIFIED"
    ctx.out(f"{verdict}: {report.backend}: {counts}{selected}")
