"""Asking before a command changes something an operator cannot easily undo."""

from __future__ import annotations

import sys

import typer

__all__ = ["confirmed"]


def confirmed(question: str, *, yes: bool) -> bool:
    """True with ``--yes``; else ask on the terminal. Without a terminal to ask on (a script,
    a pipe) and without ``--yes``: False, so nothing is changed by accident."""
    if yes:
        return True
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return False
    return bool(typer.confirm(question, default=False, err=True))
