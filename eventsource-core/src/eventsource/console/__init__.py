"""The web console: a small local web app to look inside a store (``eventsource console``).

Server-rendered pages over the role contracts (Starlette on uvicorn, the ``console`` extra):
the store at a glance, a stream browser, an event's JSON, projections with lag, owners and a
chart, the DLQ with replay and resolve, the outbox. It binds to 127.0.0.1 and is read-only
unless started with ``allow_writes``; then every write needs the token printed at start-up.
See docs/console.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._settings import ConsoleSettings

if TYPE_CHECKING:
    from starlette.applications import Starlette

__all__ = ["ConsoleSettings", "create_app", "serve"]


def create_app(settings: ConsoleSettings) -> Starlette:
    """The console's ASGI app for ``settings`` (the backend opens with the app's lifespan)."""
    from ._app import create_app as create

    return create(settings)


def serve(settings: ConsoleSettings, **uvicorn_options: Any) -> None:
    """Serve the console with uvicorn until interrupted, printing its address (and token)."""
    from ._server import serve as run

    run(settings, **uvicorn_options)
