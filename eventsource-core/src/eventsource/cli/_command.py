"""``@command(group, "name")``: a command function becomes a Typer command with the common
options (``--url``, ``--json``, ``-v``) and the common error handling.

A command is ``async def run(ctx: Context, <its own Typer parameters>) -> int``. The options
given after the command name win over the same ones given before it (``eventsource --url X
info`` and ``eventsource info --url X`` both work); without either, ``$EVENTSOURCE_URL``,
else ``sqlite:///events.db``. An error of the library ends the command with one line on
stderr (JSON with ``--json``) and the exit code of :mod:`._exit_codes`, never a traceback.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import typing
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import typer

from .._exceptions import EventSourceError, StoreNotFoundError
from ._context import Context
from ._exit_codes import EXIT_BROKEN_PIPE, EXIT_INTERRUPTED

__all__ = ["URL_HELP", "CommandFunction", "command", "options_of"]

CommandFunction = Callable[..., Coroutine[Any, Any, int]]

URL_HELP = "backend URL [env: EVENTSOURCE_URL; default: sqlite:///events.db]"
#: Said after a store that does not exist: commands other than init and demo never create one.
_CREATE_HINT = "create it with 'eventsource --url URL init'"
_COMMON = "Common options"

_URL = inspect.Parameter(
    "url",
    inspect.Parameter.KEYWORD_ONLY,
    default=None,
    annotation=Annotated[
        str | None,
        typer.Option("--url", metavar="URL", help=URL_HELP, rich_help_panel=_COMMON),
    ],
)
_JSON = inspect.Parameter(
    "json_output",
    inspect.Parameter.KEYWORD_ONLY,
    default=False,
    annotation=Annotated[
        bool,
        typer.Option(
            "--json", help="machine-readable JSON output (errors too)", rich_help_panel=_COMMON
        ),
    ],
)
_VERBOSE = inspect.Parameter(
    "verbose",
    inspect.Parameter.KEYWORD_ONLY,
    default=False,
    annotation=Annotated[
        bool,
        typer.Option(
            "-v", "--verbose", help="also log plugin loading problems", rich_help_panel=_COMMON
        ),
    ],
)
_TYPER_CTX = inspect.Parameter(
    "typer_context", inspect.Parameter.KEYWORD_ONLY, annotation=typer.Context
)


def options_of(typer_context: typer.Context) -> dict[str, Any]:
    """The common options given before the command name (kept by the root callback)."""
    root = typer_context.find_root()
    return dict(root.obj or {}) if isinstance(root.obj, dict) else {}


def command(
    group: typer.Typer,
    name: str,
    *,
    help: str,
    url: bool = True,
    description: str | None = None,
) -> Callable[[CommandFunction], CommandFunction]:
    """Register ``async def fn(ctx, ...)`` as ``name`` in ``group``; ``url=False`` for a
    command that takes its URLs otherwise (``migrate``, ``upgrade``), so its help offers no
    ``--url`` it would ignore."""

    def decorate(fn: CommandFunction) -> CommandFunction:
        hints = typing.get_type_hints(fn, include_extras=True)
        own = [
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in list(inspect.signature(fn).parameters.values())[1:]
        ]
        common = [_URL, _JSON, _VERBOSE] if url else [_JSON, _VERBOSE]
        parameters = [*own, *common, _TYPER_CTX]

        def run(**kwargs: Any) -> int:
            given = options_of(kwargs.pop("typer_context"))
            ctx = Context(
                url_text=kwargs.pop("url", None) if url else None,
                json=kwargs.pop("json_output") or bool(given.get("json")),
                verbose=kwargs.pop("verbose") or bool(given.get("verbose")),
            )
            if url and ctx.url_text is None:
                ctx.url_text = given.get("url")
            code = invoke(ctx, fn, kwargs)
            raise typer.Exit(code)

        run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in parameters}
        run.__name__ = fn.__name__
        run.__doc__ = fn.__doc__
        group.command(name, help=description or help, short_help=help)(run)
        return fn

    return decorate


def invoke(ctx: Context, fn: CommandFunction, kwargs: dict[str, Any]) -> int:
    """Run ``fn``; an error of the library or of the system becomes one line and an exit
    code."""
    plugin_log = logging.getLogger("eventsource.plugins")
    previous_level = plugin_log.level
    if not ctx.verbose:  # broken plugins are shown by 'eventsource backends', not logged
        plugin_log.setLevel(logging.ERROR)
    try:
        return asyncio.run(fn(ctx, **kwargs))
    except StoreNotFoundError as exc:
        return ctx.fail(exc, hint=_CREATE_HINT)
    except BrokenPipeError:  # stdout's reader went away (| head): stop quietly, as Unix tools
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except (EventSourceError, OSError) as exc:
        return ctx.fail(exc)
    except KeyboardInterrupt:
        return ctx.error("interrupted", "interrupted", EXIT_INTERRUPTED)
    finally:
        plugin_log.setLevel(previous_level)


def _silence_stdout() -> None:
    """Point stdout at the null device, so the flush at exit does not fail again."""
    import os
    import sys

    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real stdout (a test's capture): nothing to silence
        pass
    finally:
        os.close(devnull)
