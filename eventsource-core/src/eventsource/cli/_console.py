"""``eventsource console``: serve the web console over the store (:mod:`eventsource.console`;
needs the ``console`` extra)."""

from __future__ import annotations

from typing import Annotated

import typer

from ._command import command
from ._context import Context

__all__ = ["register"]

_INSTALL = "pip install 'eventsource-core[console]'"


def register(app: typer.Typer) -> None:
    """Add the ``console`` command."""
    command(
        app,
        "console",
        help="serve a local web console over the store",
        description="Serve the web console (store at a glance, stream browser, events' JSON, "
        "projections with lag, owners and charts, the DLQ, the outbox) on 127.0.0.1 until "
        "Ctrl-C. Read-only unless --allow-writes; then every write (DLQ replay and resolve, "
        "outbox retry) "
        f"needs the token printed at start-up. Needs the console extra: {_INSTALL}.",
    )(run_console)


async def run_console(
    ctx: Context,
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="port (0 picks a free one)")
    ] = 8642,
    allow_writes: Annotated[
        bool,
        typer.Option(
            "--allow-writes", help="allow DLQ replay/resolve and outbox retry, each with the token"
        ),
    ] = False,
    projection: Annotated[
        list[str] | None,
        typer.Option(
            "--projection",
            metavar="MODULE:ATTR",
            help="a projection to replay DLQ entries into (repeatable)",
        ),
    ] = None,
    sample_interval: Annotated[
        float,
        typer.Option(
            "--sample-interval", min=0.1, help="seconds between samples of lag and throughput"
        ),
    ] = 5.0,
) -> int:
    """Serve the console until interrupted."""
    try:
        from ..console import ConsoleSettings
        from ..console._server import serve_async
    except ImportError as exc:
        return ctx.fail(exc, hint=f"install the console with: {_INSTALL}")
    settings = ConsoleSettings(
        ctx.url(),
        host=host,
        port=port,
        allow_writes=allow_writes,
        projections=tuple(projection or ()),
        sample_interval=sample_interval,
        sample_window=max(600.0, sample_interval),
    )
    await serve_async(settings)
    return 0
