"""The ``eventsource`` command: inspect and operate an event store from the shell.

``main(argv)`` returns the exit code: 0 ok, 1 an operational error (one clean line, no
traceback), 2 a usage error. Each command group lives in its own module.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Sequence

from .._exceptions import EventSourceError, StoreNotFoundError
from ._context import Context
from ._parser import build_parser

__all__ = ["main"]

#: Exit codes.
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
#: Said after a store that does not exist: commands other than init and demo never create one.
_CREATE_HINT = "create it with 'eventsource --url URL init'"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``eventsource`` command with ``argv`` (default: ``sys.argv[1:]``)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    ctx = Context(args)
    plugin_log = logging.getLogger("eventsource.plugins")
    previous_level = plugin_log.level
    if not args.verbose:  # broken plugins are shown by 'eventsource backends', not logged
        plugin_log.setLevel(logging.ERROR)
    try:
        code: int = asyncio.run(handler(ctx))
        return code
    except StoreNotFoundError as exc:
        return ctx.fail(exc, hint=_CREATE_HINT)
    except EventSourceError as exc:
        return ctx.fail(exc)
    except OSError as exc:
        return ctx.fail(exc)
    except KeyboardInterrupt:
        ctx.err("interrupted")
        return EXIT_INTERRUPTED
    finally:
        plugin_log.setLevel(previous_level)
