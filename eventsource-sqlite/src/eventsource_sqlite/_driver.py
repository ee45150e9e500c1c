"""The one module that touches aiosqlite's internals, checked when it is imported.

Every store and repository operation is one function run on aiosqlite's worker thread with the
``sqlite3`` connection: one thread hop however many statements it runs (a transaction with its
version check, inserts and outbox rows). aiosqlite's public API has no such call (each
``execute``, ``fetchall`` and ``commit`` is a hop of its own), nor a way to know when the
worker thread of a connection that failed to open has ended. So this module uses four private
attributes of ``aiosqlite.Connection``, listed in :data:`REQUIRED`, and nothing else does.

They are pinned: ``aiosqlite>=0.22,<0.23`` (0.22 stopped making the connection a ``Thread``
and added ``_thread``; a later release may rename any of them). :func:`check_driver` runs at
import and raises an :class:`ImportError` naming the missing attributes and the pin, so a
mismatched aiosqlite fails loudly at ``import eventsource_sqlite`` (reported by
``eventsource backends``) instead of deep inside an append; ``tests/sqlite/test_driver.py``
checks each attribute does what this module relies on.
"""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from typing import TypeVar

import aiosqlite

__all__ = [
    "PIN",
    "REQUIRED",
    "call_on_thread",
    "check_driver",
    "raw_connection",
    "wait_until_stopped",
]

T = TypeVar("T")

#: The aiosqlite versions this module is written against (also in pyproject.toml).
PIN = "aiosqlite>=0.22,<0.23"

#: The private attributes of ``aiosqlite.Connection`` used here, and what each must be.
REQUIRED = {
    "_running": "bool: False once the connection is closing",
    "_connection": "the sqlite3.Connection, None before open and after close",
    "_execute": "async (fn) -> fn(): run fn on the worker thread, in queue order",
    "_thread": "the worker threading.Thread",
}


def check_driver(connection_class: type = aiosqlite.Connection) -> None:
    """Raise :class:`ImportError` unless ``connection_class`` (an unopened one is built)
    has every attribute of :data:`REQUIRED`."""
    probe = connection_class(lambda: None, 64)
    missing = [name for name in REQUIRED if not hasattr(probe, name)]
    if missing or not inspect.iscoroutinefunction(getattr(probe, "_execute", None)):
        try:
            found = version("aiosqlite")
        except PackageNotFoundError:  # pragma: no cover - aiosqlite imported above
            found = "unknown"
        raise ImportError(
            f"eventsource-sqlite needs {PIN} (found aiosqlite {found}): "
            f"aiosqlite.Connection lacks {', '.join(missing) or 'an async _execute'}; "
            f'install a supported version: pip install "{PIN}"'
        )


def raw_connection(conn: aiosqlite.Connection) -> sqlite3.Connection | None:
    """The open ``sqlite3`` connection behind ``conn``, or None if it is closed or closing."""
    if not conn._running:
        return None
    return conn._connection


async def call_on_thread(conn: aiosqlite.Connection, fn: Callable[[], T]) -> T:
    """Run ``fn()`` on ``conn``'s worker thread after what is queued before it: one hop."""
    result: T = await conn._execute(fn)  # type: ignore[no-untyped-call]
    return result


async def wait_until_stopped(conn: aiosqlite.Connection, limit: float = 5.0) -> None:
    """Wait (at most ``limit`` seconds) until the worker thread of a connection that failed
    to open has ended, so it never reports to an event loop that has closed meanwhile."""
    for _ in range(int(limit * 1000)):
        if not conn._thread.is_alive():
            return
        await asyncio.sleep(0.001)


check_driver()
