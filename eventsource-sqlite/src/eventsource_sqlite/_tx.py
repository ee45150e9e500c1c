"""Transactions on the connection's own thread, and what a process's stores share per file.

Every operation is one function run on aiosqlite's worker thread (:func:`run`, through
:mod:`._driver`): one thread hop per call, whatever number of statements it runs.
:func:`write_transaction` writes inside the caller's transaction when one is open (under a
savepoint, never committing it) and otherwise in its own ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, TypeVar

import aiosqlite

from eventsource.spi import (
    EventSourceError,
    StorageUnavailableError,
)

from ._driver import call_on_thread, raw_connection
from ._errors import SQLiteDatabaseLockedError, translate_error

__all__ = [
    "SharedFile",
    "from_us",
    "now_us",
    "run",
    "shared_file",
    "single_write",
    "to_us",
    "write_transaction",
]

T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def now_us() -> int:
    """Now, in microseconds since the epoch."""
    return time.time_ns() // 1000


def to_us(moment: datetime) -> int:
    """``moment`` in microseconds since the epoch (a naive datetime is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _US


def from_us(value: int) -> datetime:
    """The UTC datetime of ``value`` microseconds since the epoch."""
    return _EPOCH + _US * value  # exact, and faster than timedelta(microseconds=value)


class SharedFile:
    """What the stores of one process share about one database: a writer queue and wakeups.

    Writers of this process queue on :attr:`write_lock` (woken at once, in turn) instead of
    polling SQLite's lock with the busy handler's growing sleeps; other processes are still
    kept out by SQLite's own lock. Tasks in :meth:`SQLiteEventStore.wait_for_events` are woken
    by :meth:`notify` after every commit made by a store of this process.
    """

    def __init__(self) -> None:
        self.write_lock = threading.Lock()
        self._guard = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def add_waiter(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> None:
        """Wake ``future`` at the next :meth:`notify`."""
        with self._guard:
            self._waiters.append((loop, future))

    def remove_waiter(self, future: asyncio.Future[None]) -> None:
        """Forget ``future`` (its wait ended some other way)."""
        with self._guard:
            self._waiters = [w for w in self._waiters if w[1] is not future]

    def notify(self) -> None:
        """Wake every waiting task (callable from any thread)."""
        with self._guard:
            waiters, self._waiters = self._waiters, []
        for loop, future in waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(_set_done, future)


def _set_done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


_files: weakref.WeakValueDictionary[str, SharedFile] = weakref.WeakValueDictionary()
_files_lock = threading.Lock()


def shared_file(key: str | None) -> SharedFile:
    """The :class:`SharedFile` of the database at real path ``key`` (a private one if None)."""
    if key is None:
        return SharedFile()
    with _files_lock:
        found = _files.get(key)
        if found is None:
            found = SharedFile()
            _files[key] = found
        return found


def write_transaction(
    conn: sqlite3.Connection,
    shared: SharedFile | None = None,
    busy_timeout_ms: int = 5000,
    path: str = "",
) -> AbstractContextManager[bool]:
    """Run the body as one atomic write; enters as True when it is our own transaction.

    In a caller's open transaction the body runs under a savepoint (undone on error) and
    nothing is committed. Otherwise: queue behind this process's other writers of the file
    (at most ``busy_timeout_ms``), ``BEGIN IMMEDIATE``, and commit or roll back.
    """
    return _WriteTransaction(conn, shared, busy_timeout_ms, path)


class _WriteTransaction(AbstractContextManager[bool]):
    """:func:`write_transaction`'s context manager (a class: no generator per append)."""

    __slots__ = ("_conn", "_locked", "_own", "_path", "_shared", "_timeout")

    def __init__(
        self, conn: sqlite3.Connection, shared: SharedFile | None, timeout: int, path: str
    ) -> None:
        self._conn = conn
        self._shared = shared
        self._timeout = timeout
        self._path = path
        self._own = False
        self._locked = False

    def __enter__(self) -> bool:
        conn = self._conn
        if conn.in_transaction:
            conn.execute("SAVEPOINT eventsource_write")
            return False
        shared = self._shared
        if shared is not None:
            if not shared.write_lock.acquire(timeout=max(self._timeout, 0) / 1000):
                raise SQLiteDatabaseLockedError(
                    f"database is locked: {self._path} (other writers of this process held "
                    f"it past busy_timeout={self._timeout} ms)"
                )
            self._locked = True
        try:
            conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._release()
            raise
        self._own = True
        return True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self._conn
        if not self._own:
            if exc_type is not None:
                conn.execute("ROLLBACK TO eventsource_write")
            conn.execute("RELEASE eventsource_write")
            return
        try:
            if exc_type is None:
                try:
                    conn.commit()
                except BaseException:
                    if conn.in_transaction:
                        conn.rollback()
                    raise
            elif conn.in_transaction:
                conn.rollback()
        finally:
            self._release()

    def _release(self) -> None:
        if self._locked and self._shared is not None:
            self._locked = False
            self._shared.write_lock.release()


def single_write(
    conn: sqlite3.Connection, sql: str, params: Sequence[object] = ()
) -> tuple[list[Any], int]:
    """Run one write statement (atomic by itself); returns its rows (``RETURNING``) and its
    row count.

    Inside the caller's transaction when one is open; otherwise committed at once (also on
    connections in the driver's implicit-BEGIN mode, which open a transaction before it).
    """
    own = not conn.in_transaction
    try:
        cursor = conn.execute(sql, params)
        rows = cursor.fetchall()
        count = cursor.rowcount
        if own and conn.in_transaction:
            conn.commit()
    except BaseException:
        if own and conn.in_transaction:
            conn.rollback()
        raise
    return rows, count


async def run(conn: aiosqlite.Connection, fn: Callable[[sqlite3.Connection], T], path: str) -> T:
    """Run ``fn(sqlite3_connection)`` on the connection's worker thread: one thread hop.

    Driver errors come back as eventsource's typed errors naming ``path``.
    """
    raw = raw_connection(conn)
    if raw is None:
        raise StorageUnavailableError(f"SQLite database {path} is not connected (or closed)")

    def call() -> T:
        try:
            return fn(raw)
        except EventSourceError:
            raise  # already typed (our locked error is also a sqlite3.OperationalError)
        except sqlite3.Error as exc:
            raise translate_error(exc, path) from exc

    return await call_on_thread(conn, call)
