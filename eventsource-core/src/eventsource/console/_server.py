"""Serving the console with uvicorn: open the store, bind, print where it listens (and the
token) once it accepts connections, serve until interrupted."""

from __future__ import annotations

import os
import socket
import sys
from typing import Any

import uvicorn
from starlette.applications import Starlette

from ..plugins._backend import open_backend
from ._app import create_app
from ._settings import ConsoleSettings

__all__ = ["serve", "serve_async", "startup_lines"]


def startup_lines(settings: ConsoleSettings, url: str, port: int) -> list[str]:
    """What the console prints when it starts: its address, the store (``url``, password
    masked), its mode, and the token."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    lines = [f"eventsource console: http://{host}:{port}/ (store {url})"]
    if settings.allow_writes:
        lines.append(f"writes allowed; token: {settings.token}")
        lines.append("  (enter it at /unlock, or send it as the X-Console-Token header)")
    else:
        lines.append("read-only (start with --allow-writes to act on DLQ and outbox entries)")
    return lines


class _Server(uvicorn.Server):
    """uvicorn's server, printing the start-up lines once it accepts connections and ending
    the live streams when it stops (so they do not hold up the shutdown)."""

    def __init__(self, config: uvicorn.Config, app: Starlette, lines: list[str]) -> None:
        super().__init__(config)
        self.app = app
        self.lines = lines

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            for line in self.lines:
                print(line, flush=True)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.app.state.closing.set()
        await super().shutdown(sockets)


async def serve_async(settings: ConsoleSettings, **uvicorn_options: Any) -> None:
    """Open the store (an existing one: a missing store, an unknown backend or an unreachable
    database raise before anything listens), bind, and serve until interrupted."""
    if "" not in sys.path and os.getcwd() not in sys.path:  # --projection from the cwd
        sys.path.insert(0, os.getcwd())
    async with open_backend(settings.url, create=False) as backend:
        app = create_app(settings, backend=backend)
        family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((settings.host, settings.port))
            except OSError as exc:  # a taken port, an address not of this machine
                where = f"{settings.host}:{settings.port}"
                raise OSError(f"cannot listen on {where}: {exc.strerror}") from None
            port = sock.getsockname()[1]
            options: dict[str, Any] = {"log_level": "warning", "timeout_graceful_shutdown": 2}
            options.update(uvicorn_options)
            server = _Server(
                uvicorn.Config(app, **options), app, startup_lines(settings, str(backend.url), port)
            )
            await server.serve(sockets=[sock])


def serve(settings: ConsoleSettings, **uvicorn_options: Any) -> None:
    """:func:`serve_async` in a new event loop (Ctrl-C stops it)."""
    import asyncio

    asyncio.run(serve_async(settings, **uvicorn_options))
