"""The argument parser: global options, then one sub-command per command group."""

from __future__ import annotations

import argparse

from . import (
    _backends,
    _checkpoints,
    _demo,
    _dlq,
    _events,
    _info,
    _migrate,
    _outbox,
    _upgrade,
)

__all__ = ["build_parser"]

_EPILOG = """\
The backend URL comes from --url, else $EVENTSOURCE_URL, else sqlite:///events.db.
Examples: memory://  sqlite:///events.db  postgresql://user@localhost:5432/app
Exit codes: 0 ok, 1 operational error, 2 usage error."""


def _common(defaults: bool) -> argparse.ArgumentParser:
    """Options accepted both before and after the command name."""
    common = argparse.ArgumentParser(add_help=False)
    default = None if defaults else argparse.SUPPRESS
    common.add_argument(
        "--url",
        default=default,
        metavar="URL",
        help="backend URL (default: $EVENTSOURCE_URL, else sqlite:///events.db)",
    )
    common.add_argument(
        "--json",
        action="store_true",
        default=False if defaults else argparse.SUPPRESS,
        help="machine-readable JSON output",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if defaults else argparse.SUPPRESS,
        help="also log plugin loading problems",
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    """The ``eventsource`` parser with every command registered."""
    parser = argparse.ArgumentParser(
        prog="eventsource",
        description="Inspect and operate an eventsource event store.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_common(defaults=True)],
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"eventsource {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    parent = _common(defaults=False)
    for module in (
        _backends,
        _demo,
        _info,
        _events,
        _checkpoints,
        _outbox,
        _dlq,
        _migrate,
        _upgrade,
    ):
        module.register(commands, parent)
    return parser
