"""Running the application: usage errors as one line (or JSON), exit codes returned."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

import typer
from typer import _click as click

from ._app import build_app
from ._exit_codes import EXIT_INTERRUPTED, EXIT_USAGE
from ._safe_text import safe_text

__all__ = ["run"]


def run(argv: Sequence[str] | None = None) -> int:
    """Run ``eventsource`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    command = typer.main.get_command(build_app())
    try:
        result = command.main(args=args, prog_name="eventsource", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        # a group without its command: its help, on stderr, as a usage error
        sys.stderr.write(exc.ctx.get_help() + "\n" if exc.ctx else "")
        return EXIT_USAGE
    except click.exceptions.ClickException as exc:  # usage errors, bad parameters
        return _usage_error(exc, json_output="--json" in args)
    except typer.Abort:
        print("eventsource: interrupted", file=sys.stderr, flush=True)
        return EXIT_INTERRUPTED
    return result if isinstance(result, int) else 0


def _usage_error(exc: click.exceptions.ClickException, *, json_output: bool) -> int:
    message = exc.format_message()
    context = getattr(exc, "ctx", None)
    where = context.command_path if context is not None else "eventsource"
    code = exc.exit_code if exc.exit_code else EXIT_USAGE
    if json_output:
        data = {"error": message, "code": "usage", "exit_code": code}
        print(json.dumps(data), file=sys.stderr, flush=True)
    else:
        text = safe_text(f"usage error: {message} (see '{where} --help')")
        print(f"eventsource: {text}", file=sys.stderr, flush=True)
    return code
