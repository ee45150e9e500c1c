"""Aggregate snapshots in the ``aggregate_snapshots`` table of the store's file."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

import aiosqlite

from eventsource.spi import (
    Snapshot,
    SnapshotStore,
    check_identifier,
    check_schema_version_below,
    check_snapshot_key,
    decode_snapshot,
    encode_snapshot,
)

from ._base import SQLiteRepository
from ._schema import ensure_schema
from ._tx import from_us, run, single_write, to_us

if TYPE_CHECKING:
    from ._store import SQLiteEventStore

T = TypeVar("T")

__all__ = ["SQLiteSnapshotStore"]

_COLUMNS = (
    "aggregate_id, aggregate_type, version, schema_version, state, event_id, created_at, checksum"
)
# One statement, so racing writers cannot move a snapshot backwards: a row of the same schema
# version and a higher version stays.
# A deleted stream (stream_lifecycle) takes no snapshot: one racing the delete is not kept.
_UPSERT = f"""
INSERT INTO aggregate_snapshots ({_COLUMNS}) SELECT ?, ?, ?, ?, ?, ?, ?, ?
WHERE NOT EXISTS (SELECT 1 FROM stream_lifecycle l
                  WHERE l.aggregate_id = ?1 AND l.aggregate_type = ?2)
ON CONFLICT (aggregate_id, aggregate_type) DO UPDATE SET
    version = excluded.version,
    schema_version = excluded.schema_version,
    state = excluded.state,
    event_id = excluded.event_id,
    created_at = excluded.created_at,
    checksum = excluded.checksum
WHERE aggregate_snapshots.schema_version <> excluded.schema_version
   OR aggregate_snapshots.version <= excluded.version
"""
_KEY = "aggregate_id = ? AND aggregate_type = ?"


def _snapshot(row: tuple[Any, ...]) -> Snapshot:
    aid, atype, version, schema_version, state, event_id, created_at, checksum = row
    moment = from_us(created_at) if isinstance(created_at, int) else created_at
    return decode_snapshot(aid, atype, version, schema_version, state, event_id, moment, checksum)


class SQLiteSnapshotStore(SQLiteRepository, SnapshotStore):
    """Snapshots in SQLite, beside the events; see :class:`SQLiteRepository` for connections
    and transactions (over a store it shares the store's connection).

    Also built as eventsource-py 0.5.0 built it, over a database path
    (``SQLiteSnapshotStore("app.db")``): each call then opens the file, creates the schema
    if the file has none, runs, and closes it again, so there is nothing to close (and over
    ``":memory:"`` nothing outlives a call, as in 0.5.0).
    """

    def __init__(
        self,
        connection: aiosqlite.Connection | SQLiteEventStore | str | os.PathLike[str],
        tracer: object = None,  # eventsource-py 0.5.0's tracing arguments: accepted, unused
        enable_tracing: bool = True,
    ) -> None:
        self._database: str | None = None
        if isinstance(connection, str | os.PathLike):
            from ._store import SQLiteEventStore

            self._database = SQLiteEventStore(connection).database  # checks the path's type
            self._path = self._database
            self._store = None
            self._db = None
            self._ready = False
            return
        super().__init__(connection, tracer, enable_tracing)

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._database is None:
            return await super()._run(fn)
        from ._store import SQLiteEventStore

        path = self._database

        def body(conn: sqlite3.Connection) -> T:
            ensure_schema(conn, path)
            return fn(conn)

        async with SQLiteEventStore(path) as store:
            return await run(store.connection, body, path)

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        r = encode_snapshot(snapshot)
        args = (
            str(r.aggregate_id),
            r.aggregate_type,
            r.version,
            r.schema_version,
            r.state,
            None if r.event_id is None else str(r.event_id),
            to_us(r.created_at),
            r.checksum,
        )
        await self._run(lambda c: single_write(c, _UPSERT, args))

    async def get_snapshot(self, aggregate_id: UUID, aggregate_type: str) -> Snapshot | None:
        aid, atype = check_snapshot_key(aggregate_id, aggregate_type)
        sql = f"SELECT {_COLUMNS} FROM aggregate_snapshots WHERE {_KEY}"
        row = await self._run(lambda c: c.execute(sql, (str(aid), atype)).fetchone())
        return None if row is None else _snapshot(row)

    async def delete_snapshot(self, aggregate_id: UUID, aggregate_type: str) -> bool:
        aid, atype = check_snapshot_key(aggregate_id, aggregate_type)
        sql = f"DELETE FROM aggregate_snapshots WHERE {_KEY}"
        _, count = await self._run(lambda c: single_write(c, sql, (str(aid), atype)))
        return count > 0

    async def snapshot_exists(self, aggregate_id: UUID, aggregate_type: str) -> bool:
        aid, atype = check_snapshot_key(aggregate_id, aggregate_type)
        sql = f"SELECT 1 FROM aggregate_snapshots WHERE {_KEY}"
        row = await self._run(lambda c: c.execute(sql, (str(aid), atype)).fetchone())
        return row is not None

    async def delete_snapshots_by_type(
        self, aggregate_type: str, schema_version_below: int | None = None
    ) -> int:
        check_identifier(aggregate_type, "aggregate_type")
        below = check_schema_version_below(schema_version_below)
        sql = "DELETE FROM aggregate_snapshots WHERE aggregate_type = ?"
        params: tuple[Any, ...] = (aggregate_type,)
        if below is not None:
            sql += " AND schema_version < ?"
            params = (aggregate_type, below)
        _, count = await self._run(lambda c: single_write(c, sql, params))
        return count
