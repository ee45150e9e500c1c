"""What the three repositories share: their connection, lazy schema check and thread hop."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

import aiosqlite

from eventsource.spi import (
    InvalidArgumentError,
)

from ._schema import ensure_schema
from ._tx import SharedFile, run

if TYPE_CHECKING:
    from ._store import SQLiteEventStore

__all__ = ["SQLiteRepository", "uuid_or_none"]

T = TypeVar("T")


def uuid_or_none(value: str | None) -> UUID | None:
    """A UUID from its stored text, or None."""
    return None if value is None else UUID(value)


class SQLiteRepository:
    """Base of the SQLite repositories: built over an aiosqlite connection or a store.

    Over a connection (``SQLiteOutboxRepository(db)``), writes join the caller's open
    transaction and are never committed by the repository; with no transaction open, each
    write commits at once. Over a :class:`SQLiteEventStore` the repository shares the store's
    connection. The first call creates the schema when the file has none.
    """

    def __init__(
        self,
        connection: aiosqlite.Connection | SQLiteEventStore,
        tracer: object = None,  # eventsource-py 0.5.0's tracing arguments: accepted, unused
        enable_tracing: bool = True,
    ) -> None:
        from ._store import SQLiteEventStore

        if isinstance(connection, SQLiteEventStore):
            self._store: SQLiteEventStore | None = connection
            self._db: aiosqlite.Connection | None = None
        elif isinstance(connection, aiosqlite.Connection):
            self._store = None
            self._db = connection
        else:
            raise InvalidArgumentError(
                f"{type(self).__name__} needs an aiosqlite.Connection or SQLiteEventStore, "
                f"got {type(connection).__name__}"
            )
        self._path = self._store.database if self._store is not None else "<connection>"
        self._ready = False

    @property
    def connection(self) -> aiosqlite.Connection:
        """The aiosqlite connection the repository uses."""
        if self._store is not None:
            return self._store.connection
        assert self._db is not None
        return self._db

    @property
    def _shared(self) -> SharedFile | None:
        return self._store.shared if self._store is not None else None

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on the connection's thread (checking the schema on the first call)."""
        if self._ready:
            return await run(self.connection, fn, self._path)

        def first(conn: sqlite3.Connection) -> T:
            if self._store is None:
                row = conn.execute("PRAGMA database_list").fetchone()
                self._path = (row[2] if row else "") or ":memory:"
            ensure_schema(conn, self._path)
            return fn(conn)

        result = await run(self.connection, first, self._path)
        self._ready = True
        return result
