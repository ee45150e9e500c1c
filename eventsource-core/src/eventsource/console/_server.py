"""Serving the console with uvicorn: print where it listens (and the token), then serve."""

from __future__ import annotations

import socket
import sys
from typing import Any

import uvicorn

from ._app import create_app
from ._settings import ConsoleSettings

__all__ = ["serve", "startup_lines"]


def startup_lines(settings: ConsoleSettings, port: int) -> list[str]:
    """What the console prints when it starts: its address, its mode, and the token."""
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    lines = [f"eventsource console: http://{host}:{port}/ (store {settings.url})"]
    if settings.allow_writes:
        lines.append(f"writes allowed; token: {settings.token}")
        lines.append("  (enter it at /unlock, or send it as the X-Console-Token header)")
    else:
        lines.append("read-only (start with --allow-writes to replay or resolve DLQ entries)")
    return lines


class _Server(uvicorn.Server):
    """uvicorn's server, printing the start-up lines once it accepts connections."""

    def __init__(self, config: uvicorn.Config, lines: list[str]) -> None:
        super().__init__(config)
        self.lines = lines

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            for line in self.lines:
                print(line, flush=True)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.config.app.state.closing.set()  # end the live streams first
        await super().shutdown(sockets)


def serve(settings: ConsoleSettings, **uvicorn_options: Any) -> None:
    """Bind, print the start-up lines, serve until interrupted (Ctrl-C)."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    port = sock.getsockname()[1]
    app = create_app(settings)
    options: dict[str, Any] = {"log_level": "warning", "timeout_graceful_shutdown": 2}
    options.update(uvicorn_options)
    config = uvicorn.Config(app, **options)
    server = _Server(config, startup_lines(settings, port))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    sys.stdout.flush()
