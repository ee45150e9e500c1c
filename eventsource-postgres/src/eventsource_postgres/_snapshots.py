"""``PostgreSQLSnapshotStore``: aggregate snapshots in ``<schema>.aggregate_snapshots``."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID

import asyncpg

from eventsource.spi import (
    Snapshot,
    SnapshotStore,
    check_identifier,
    check_schema_version_below,
    check_snapshot_key,
    decode_snapshot,
    encode_snapshot,
)

from ._connections import ConnectionSource
from ._lifecycle import STREAM_LOCK
from ._repository_base import PostgresRepository
from ._schema import LIFECYCLE_LOCK_CLASS

__all__ = ["PostgreSQLSnapshotStore"]

T = TypeVar("T")

_COLUMNS = (
    "aggregate_id, aggregate_type, version, schema_version, state, event_id, created_at, checksum"
)


class _ConnectionPerCall:
    """Where a snapshot store built over a SQLAlchemy sessionmaker gets connections: one of
    its own per call, closed after it (as 0.5.0 opened a session per call), so nothing is
    left open for its user to close."""

    def __init__(self, source: ConnectionSource) -> None:
        self.options = dataclasses.replace(source.options, pool_min=1, pool_max=1)
        self.url = source.url

    async def run(self, op: Callable[[Any], Awaitable[T]], *, retry: bool = False) -> T:
        source = ConnectionSource(self.options, url=self.url)
        try:
            return await source.run(op, retry=retry)
        finally:
            await source.close()


class PostgreSQLSnapshotStore(PostgresRepository, SnapshotStore):
    """Snapshots beside the events, in the store's schema and pool (or a caller's pool or
    connection: over a connection it writes inside the caller's transaction).

    Also built as eventsource-py 0.5.0 built it, over a SQLAlchemy ``async_sessionmaker``
    (``PostgreSQLSnapshotStore(session_factory)``): each call then opens one connection to
    the sessionmaker's database (schema from its URL's ``schema=`` option, else ``public``)
    and closes it after; the tables are those ``PostgreSQLEventStore.initialize()`` creates.

    ``state`` is a ``json`` column: it keeps the text core wrote, which the row's checksum
    covers. An upsert is one statement, so racing writers never move a snapshot backwards.
    """

    def __init__(
        self,
        source: Any,
        *,
        schema: str | None = None,
        tracer: object = None,  # eventsource-py 0.5.0's tracing arguments: accepted, unused
        enable_tracing: bool = True,
    ) -> None:
        from ._store import PostgreSQLEventStore

        if isinstance(source, PostgreSQLEventStore | asyncpg.Pool) or hasattr(source, "fetch"):
            super().__init__(source, schema=schema)
            return
        store = PostgreSQLEventStore(source, schema=schema)  # a sessionmaker, or a typed error
        super().__init__(store, schema=schema)
        self._event_store = None
        self._source = _ConnectionPerCall(store.source)  # type: ignore[assignment]

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        r = encode_snapshot(snapshot)
        # Shared with other snapshot writes, exclusive with a delete of the stream: a
        # snapshot racing the delete is deleted with it, or sees the mark and writes nothing.
        lock = STREAM_LOCK.format(fn="pg_advisory_xact_lock_shared")
        upsert = f"""
            INSERT INTO {self._s}.aggregate_snapshots AS s ({_COLUMNS})
            SELECT $1, $2, $3, $4, $5::json, $6, $7, $8
            WHERE NOT EXISTS (SELECT 1 FROM {self._s}.stream_lifecycle l
                              WHERE l.aggregate_id = $1 AND l.aggregate_type = $2)
            ON CONFLICT (aggregate_id, aggregate_type) DO UPDATE SET
                version = excluded.version,
                schema_version = excluded.schema_version,
                state = excluded.state,
                event_id = excluded.event_id,
                created_at = excluded.created_at,
                checksum = excluded.checksum
            WHERE s.schema_version <> excluded.schema_version OR s.version <= excluded.version
            """
        args = (
            r.aggregate_id,
            r.aggregate_type,
            r.version,
            r.schema_version,
            r.state,
            r.event_id,
            r.created_at,
            r.checksum,
        )

        async def op(conn: Any) -> None:
            async with conn.transaction():
                await conn.execute(
                    lock, LIFECYCLE_LOCK_CLASS, str(r.aggregate_id), r.aggregate_type
                )
                await conn.execute(upsert, *args)

        await self._source.run(op)

    async def get_snapshot(self, aggregate_id: UUID, aggregate_type: str) -> Snapshot | None:
        aid, atype = check_snapshot_key(aggregate_id, aggregate_type)
        row = await self._fetchrow(
            f"SELECT {_COLUMNS} FROM {self._s}.aggregate_snapshots"
            " WHERE aggregate_id = $1 AND aggregate_type = $2",
            aid,
            atype,
        )
        return None if row is None else decode_snapshot(*tuple(row))

    async def delete_snapshot(self, aggregate_id: UUID, aggregate_type: str) -> bool:
        aid, atype = check_snapshot_key(aggregate_id, aggregate_type)
        status = await self._execute(
            f"DELETE FROM {self._s}.aggregate_snapshots"
            " WHERE aggregate_id = $1 AND aggregate_type = $2",
            aid,
            atype,
        )
        return status != "DELETE 0"

    async def snapshot_exists(self, aggregate_id: UUID, aggregate_type: str) -> bool:
        aid, atype = check_snapshot_key(aggregate_id, aggregate_type)
        found: bool = await self._fetchval(
            f"SELECT EXISTS (SELECT 1 FROM {self._s}.aggregate_snapshots"
            " WHERE aggregate_id = $1 AND aggregate_type = $2)",
            aid,
            atype,
        )
        return found

    async def delete_snapshots_by_type(
        self, aggregate_type: str, schema_version_below: int | None = None
    ) -> int:
        check_identifier(aggregate_type, "aggregate_type")
        below = check_schema_version_below(schema_version_below)
        args: list[Any] = [aggregate_type]
        sql = f"DELETE FROM {self._s}.aggregate_snapshots WHERE aggregate_type = $1"
        if below is not None:
            sql += " AND schema_version < $2"
            args.append(below)
        status = await self._execute(sql, *args)
        return int(status.rsplit(" ", 1)[-1])
