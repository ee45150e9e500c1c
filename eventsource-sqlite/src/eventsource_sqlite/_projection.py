"""Exactly-once projections into SQLite: each event's read model change and the projection's
position are one transaction (the runtime's ``PositionTrackingProjection`` hook)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self, TypeVar

import aiosqlite

from eventsource.spi import (
    DomainEvent,
    OwnershipLostError,
    StorageUnavailableError,
)

from ._driver import wait_until_stopped
from ._errors import translate_error
from ._tx import SharedFile, run, shared_file, write_transaction

__all__ = ["SQLiteProjection"]

T = TypeVar("T")
_MEMORY = ":memory:"
_POSITIONS = """CREATE TABLE IF NOT EXISTS projection_positions (
    projection_name TEXT PRIMARY KEY,
    global_position INTEGER NOT NULL,
    fence INTEGER NOT NULL DEFAULT 0
)"""
_ADD_FENCE = "ALTER TABLE projection_positions ADD COLUMN fence INTEGER NOT NULL DEFAULT 0"
_GET = "SELECT global_position FROM projection_positions WHERE projection_name = ?"
_GET_FENCE = "SELECT fence FROM projection_positions WHERE projection_name = ?"
_SET_FENCE = (
    "INSERT INTO projection_positions (projection_name, global_position, fence) VALUES (?, 0, ?)"
    " ON CONFLICT (projection_name) DO UPDATE SET fence = excluded.fence"
)
_FORGET = "UPDATE projection_positions SET global_position = 0 WHERE projection_name = ?"
_SET = (
    "INSERT INTO projection_positions (projection_name, global_position) VALUES (?, ?)"
    " ON CONFLICT (projection_name) DO UPDATE SET global_position = excluded.global_position"
)


class SQLiteProjection:
    """A projection whose read model is a SQLite database, changed exactly once per event.

    Subclass it: set ``name`` (default: the class name) and ``event_types`` (type names; None
    for every event), create the read model's tables in :meth:`setup` and apply one event in
    :meth:`apply`. Both get the plain ``sqlite3.Connection`` and run on its thread inside a
    transaction: don't commit there. :meth:`handle_at` runs ``apply`` and stores the event's
    global position (table ``projection_positions``) in one ``BEGIN IMMEDIATE`` transaction,
    so a crash keeps both or neither, and the runner resumes after the last event applied.
    An event at or below the stored position was applied already: it is skipped and counted
    in :attr:`skipped`. A DLQ replay (``handle_at(event, None)``) applies the event without
    moving the position; :meth:`store_position` passes an event the runner parked;
    :meth:`reset` (before a rebuild) empties the read model with :meth:`clear`.

    Fenced: a runner that owns the projection calls :meth:`fence` with its lease's token
    before delivering; from then on a change from an owner with a smaller token (a deposed
    one, in any process) is refused with :class:`OwnershipLostError` inside its transaction,
    so the read model is never changed by an owner after its successor started.

    ``database`` may be the event store's own file (its writers and this one take turns,
    waiting up to ``busy_timeout`` ms; WAL keeps readers out of the way) or another file.
    Open it with ``async with MyProjection(path) as projection:`` (or :meth:`open` and
    :meth:`close`) before handing it to a ``ProjectionRunner``.
    """

    name: str = ""
    event_types: tuple[str, ...] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("name"):
            cls.name = cls.__name__

    def __init__(self, database: str | os.PathLike[str], *, busy_timeout: int = 5000) -> None:
        self.database = os.fspath(database)
        self.busy_timeout = busy_timeout
        self.skipped = 0
        self._conn: aiosqlite.Connection | None = None
        self._shared: SharedFile = shared_file(None)
        self._fence: int | None = None

    # -- to override ---------------------------------------------------------------------------

    def setup(self, conn: sqlite3.Connection) -> None:
        """Create the read model's tables (``IF NOT EXISTS``); called by :meth:`open`."""

    def apply(
        self, conn: sqlite3.Connection, event: DomainEvent, global_position: int | None
    ) -> None:
        """Apply ``event`` (at ``global_position``; None for a DLQ replay) to the read model,
        inside the transaction; raise to roll it back."""
        raise NotImplementedError(f"{type(self).__name__} must implement apply()")

    def clear(self, conn: sqlite3.Connection) -> None:
        """Empty the read model before a rebuild; called by :meth:`reset`."""

    # -- lifecycle -----------------------------------------------------------------------------

    async def open(self) -> Self:
        """Connect, set WAL and ``busy_timeout``, create the tables; idempotent."""
        if self._conn is not None:
            return self
        memory = self.database in (_MEMORY, "")
        conn = aiosqlite.connect(
            self.database, isolation_level=None, timeout=self.busy_timeout / 1000
        )
        try:
            await conn
        except sqlite3.Error as exc:
            await wait_until_stopped(conn)
            raise translate_error(exc, self.database) from exc
        self._conn = conn

        def prepare(c: sqlite3.Connection) -> None:
            self._shared = shared_file(None if memory else os.path.realpath(self.database))
            c.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout)}")
            if not memory:
                c.execute("PRAGMA journal_mode = WAL").fetchone()
                c.execute("PRAGMA synchronous = NORMAL")  # a commit survives a process crash
            with self._transaction(c):
                c.execute(_POSITIONS)
                columns = [row[1] for row in c.execute("PRAGMA table_info(projection_positions)")]
                if "fence" not in columns:  # a table of an earlier release
                    c.execute(_ADD_FENCE)
                self.setup(c)

        try:
            await self._run(prepare)
        except BaseException:
            await self.close()
            raise
        return self

    async def close(self) -> None:
        """Close the connection; idempotent."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- the PositionTrackingProjection hook ---------------------------------------------------

    async def fence(self, token: int) -> None:
        """Record ``token`` (a lease's fencing token) as the projection's writer: changes
        under a smaller token are refused from now on; :class:`OwnershipLostError` when a
        larger one was recorded already (this owner was deposed)."""

        def fence(c: sqlite3.Connection) -> None:
            with self._transaction(c):
                stored = self._stored_fence(c)
                if stored > token:
                    raise OwnershipLostError(self.name, token, stored, "the read model is fenced")
                c.execute(_SET_FENCE, (self.name, token))

        await self._run(fence)
        self._fence = token

    async def load_position(self) -> int:
        """The global position of the last event applied (0 for none)."""
        return await self._run(self._position)

    async def handle_at(self, event: DomainEvent, global_position: int | None) -> None:
        """Apply ``event`` and store ``global_position`` in one transaction; with None (a DLQ
        replay) apply it and leave the position alone."""

        def handle(c: sqlite3.Connection) -> bool:
            with self._transaction(c):
                self._check_fence(c)
                if global_position is not None:
                    if global_position <= self._position(c):
                        return False
                    c.execute(_SET, (self.name, global_position))
                self.apply(c, event, global_position)
            return True

        if not await self._run(handle):
            self.skipped += 1

    async def store_position(self, global_position: int) -> None:
        """Move the position up to ``global_position`` without applying anything (the runner
        parked that event in the DLQ)."""

        def store(c: sqlite3.Connection) -> None:
            with self._transaction(c):
                self._check_fence(c)
                if global_position > self._position(c):
                    c.execute(_SET, (self.name, global_position))

        await self._run(store)

    async def handle(self, event: DomainEvent) -> None:
        """Apply ``event`` without moving the position (as a DLQ replay does)."""
        await self.handle_at(event, None)

    async def reset(self) -> None:
        """Empty the read model (:meth:`clear`) and forget the position, in one transaction."""

        def reset(c: sqlite3.Connection) -> None:
            with self._transaction(c):
                self.clear(c)
                c.execute(_FORGET, (self.name,))

        await self._run(reset)

    # -- internals -----------------------------------------------------------------------------

    def _stored_fence(self, c: sqlite3.Connection) -> int:
        row = c.execute(_GET_FENCE, (self.name,)).fetchone()
        return 0 if row is None else int(row[0])

    def _check_fence(self, c: sqlite3.Connection) -> None:
        """Inside the write transaction: refuse the change once a newer owner fenced."""
        if self._fence is None:
            return
        stored = self._stored_fence(c)
        if stored > self._fence:
            raise OwnershipLostError(self.name, self._fence, stored, "the read model is fenced")

    def _position(self, c: sqlite3.Connection) -> int:
        row = c.execute(_GET, (self.name,)).fetchone()
        return 0 if row is None else int(row[0])

    def _transaction(self, c: sqlite3.Connection) -> Any:
        return write_transaction(c, self._shared, self.busy_timeout, self.database)

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._conn is None:
            raise StorageUnavailableError(
                f"{type(self).__name__}({self.database!r}) is not open: use "
                "'async with ...' or 'await projection.open()'"
            )
        return await run(self._conn, fn, self.database)
