"""The Typer application: the root options, then every command module's commands.

To add a command module: write ``cli/_NAME.py`` with ``def register(app: typer.Typer) ->
None`` (see :mod:`._command`), and add ``"_NAME"`` to :data:`COMMAND_MODULES` below. That one
line is the only place commands are registered.
"""

from __future__ import annotations

import importlib
from typing import Annotated

import typer

from ._command import URL_HELP

__all__ = ["COMMAND_MODULES", "build_app"]

#: Every command module, in the order their commands are listed by ``eventsource --help``.
COMMAND_MODULES = (
    "_status",
    "_info",
    "_events",
    "_upcast",
    "_checkpoints",
    "_projections",
    "_dlq",
    "_outbox",
    "_streams",
    "_retention",
    "_migrate",
    "_upgrade",
    "_backends",
    "_conformance",
    "_demo",
    "_console",
)

_HELP = """Inspect and operate an eventsource event store.

The backend URL comes from --url (before or after the command), else $EVENTSOURCE_URL, else
sqlite:///events.db.

\b
Examples: memory://  sqlite:///events.db  postgresql://user@host:5432/app

\b
Exit codes: 0 ok, 1 operational error, 2 usage error, 3 malformed URL,
            4 unknown or missing backend, 5 no store at the URL,
            6 database unreachable or unusable, 130 interrupted."""


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"eventsource {version('eventsource-core')}")
        raise typer.Exit(0)


def _root(
    typer_context: typer.Context,
    url: Annotated[str | None, typer.Option("--url", metavar="URL", help=URL_HELP)] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="machine-readable JSON output (errors too)")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="also log plugin loading problems")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="show the version and exit"
        ),
    ] = False,
) -> None:
    typer_context.obj = {"url": url, "json": json_output, "verbose": verbose}


def build_app() -> typer.Typer:
    """The ``eventsource`` application with every command module registered."""
    app = typer.Typer(
        name="eventsource",
        help=_HELP,
        no_args_is_help=True,
        add_completion=True,
        rich_markup_mode=None,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_root)
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{name}").register(app)
    return app
