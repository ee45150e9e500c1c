"""The ``eventsource`` command: inspect and operate an event store from the shell.

``main(argv)`` returns the exit code (:mod:`._exit_codes`: 0 ok, 1 an operational error, 2 a
usage error, 3-6 a URL, backend or database that cannot be used, 130 interrupted, 141 stdout
closed); every error is one line on stderr (JSON with ``--json``), never a traceback. Built on
Typer; each command group lives in its own module, registered in :data:`._app.COMMAND_MODULES`.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``eventsource`` command with ``argv`` (default: ``sys.argv[1:]``)."""
    from ._main import run

    return run(argv)
