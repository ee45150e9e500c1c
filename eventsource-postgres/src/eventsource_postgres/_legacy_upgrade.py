"""Converting an eventsource-py 0.5.0 schema in place (the backend side of ``upgrade``).

:meth:`prepare` renames 0.5.0's tables (and their indexes, whose names would clash with ours)
``legacy050_*`` and creates our schema beside them without its version row; each
:meth:`copy_batch` is one ``INSERT ... SELECT`` of the rows after the last one copied;
:meth:`finish` drops 0.5.0's tables and records the version, in one transaction. Types map
natively (uuid, timestamptz); payloads become ``json`` with ``aggregate_version`` set to the
stored version.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from eventsource.spi import (
    EventStore,
    InvalidArgumentError,
    LegacyConverter,
    LegacyState,
    LegacyStoredEvent,
    legacy_error_type,
)

from ._legacy import LEGACY_PREFIX, LEGACY_TABLE_NAMES, MARK_TABLE, legacy_state
from ._schema import INIT_LOCK_CLASS, SCHEMA_VERSION, create_schema
from ._store import PostgreSQLEventStore

__all__ = ["PostgresLegacyConverter"]

T = TypeVar("T")
_L = LEGACY_PREFIX
_TABLES = {
    "events": ("events", f"{_L}events"),
    "checkpoints": ("checkpoints", f"{_L}projection_checkpoints"),
    "outbox": ("outbox", f"{_L}event_outbox"),
    "dlq": ("dlq", f"{_L}dead_letter_queue"),
}

_COPY_EVENTS = """
WITH moved AS (
    INSERT INTO {s}.events (global_position, event_id, aggregate_id, aggregate_type,
        aggregate_version, event_type, event_version, tenant_id, occurred_at, stored_at, payload)
    SELECT global_position, event_id, aggregate_id, aggregate_type, version, event_type,
        coalesce((payload->>'event_version')::integer, 1), tenant_id, "timestamp", created_at,
        jsonb_set(payload, '{{aggregate_version}}', to_jsonb(version))::text::json
    FROM {s}.legacy050_events
    WHERE global_position > (SELECT coalesce(max(global_position), 0) FROM {s}.events)
    ORDER BY global_position LIMIT $1
    RETURNING 1)
SELECT count(*) FROM moved
"""

_COPY_CHECKPOINTS = """
WITH moved AS (
    INSERT INTO {s}.checkpoints (projection_name, last_event_id, last_event_type,
        global_position, events_processed, updated_at)
    SELECT c.projection_name, c.last_event_id, c.last_event_type,
        coalesce(e.global_position, c.global_position), c.events_processed, c.updated_at
    FROM {s}.legacy050_projection_checkpoints c
    LEFT JOIN {s}.legacy050_events e ON e.event_id = c.last_event_id
    WHERE $2::text IS NULL OR c.projection_name > $2
    ORDER BY c.projection_name LIMIT $1
    RETURNING 1)
SELECT count(*) FROM moved
"""

# 0.5.0's envelope {"event_id", ..., "payload": {...}} becomes the event document itself
_COPY_OUTBOX = """
WITH moved AS (
    INSERT INTO {s}.outbox (id, event_id, event_type, aggregate_id, aggregate_type, tenant_id,
        event_data, created_at, status, retry_count, last_error, published_at)
    SELECT id, event_id, event_type, aggregate_id, aggregate_type, tenant_id,
        (CASE WHEN jsonb_typeof(event_data->'payload') = 'object' THEN event_data->'payload'
              ELSE event_data END)::text::json,
        created_at, status, retry_count, last_error, published_at
    FROM {s}.legacy050_event_outbox
    WHERE $2::timestamptz IS NULL OR (created_at, id) > ($2, $3)
    ORDER BY created_at, id LIMIT $1
    RETURNING 1)
SELECT count(*) FROM moved
"""

_INSERT_DLQ = """
INSERT INTO {s}.dlq (id, event_id, projection_name, event_type, event_data, error_type,
    error_message, error_stacktrace, retry_count, first_failed_at, last_failed_at, status,
    resolved_at, resolution)
OVERRIDING SYSTEM VALUE
VALUES ($1, $2, $3, $4, $5::json, $6, $7, $8, $9, $10, $11, $12, $13, $14)
"""


class PostgresLegacyConverter(LegacyConverter):
    """Converts the 0.5.0 schema of an unconnected :class:`PostgreSQLEventStore` in place."""

    def __init__(self, store: EventStore) -> None:
        if not isinstance(store, PostgreSQLEventStore):
            raise InvalidArgumentError(
                f"the PostgreSQL converter needs a PostgreSQLEventStore, got {type(store).__name__}"
            )
        self._store = store
        self._options = store.options
        self._s = store.options.quoted_schema
        self.location = f"PostgreSQL schema {store.schema!r} at {store.source.where}"

    async def connect(self) -> None:
        """Open the pool (nothing is created)."""
        await self._store.connect()

    async def close(self) -> None:
        """Close the pool."""
        await self._store.close()

    async def _run(self, op: Callable[[Any], Awaitable[T]]) -> T:
        return await self._store.source.run(op)

    async def state(self) -> LegacyState:
        """What the schema holds."""
        return await self._run(lambda c: legacy_state(c, self._options))

    async def prepare(self) -> None:
        """Rename 0.5.0's tables and indexes, create ours and mark the conversion, atomically."""
        s, schema = self._s, self._options.schema

        async def prepare(conn: Any) -> None:
            async with conn.transaction():
                await conn.execute(
                    "SELECT pg_advisory_xact_lock($1, $2)", INIT_LOCK_CLASS, self._options.lock_key
                )
                if await legacy_state(conn, self._options) is not LegacyState.LEGACY:
                    return  # another run prepared it meanwhile
                present = [
                    row[0]
                    for row in await conn.fetch(
                        "SELECT tablename FROM pg_tables WHERE schemaname = $1"
                        " AND tablename = ANY($2::text[])",
                        schema,
                        list(LEGACY_TABLE_NAMES),
                    )
                ]
                indexes = await conn.fetch(
                    "SELECT indexname FROM pg_indexes WHERE schemaname = $1"
                    " AND tablename = ANY($2::text[])",
                    schema,
                    present,
                )
                for (index,) in indexes:  # schema-wide names: events_pkey would clash with ours
                    await conn.execute(f'ALTER INDEX {s}."{index}" RENAME TO "{(_L + index)[:63]}"')
                for table in present:
                    await conn.execute(f'ALTER TABLE {s}."{table}" RENAME TO "{_L}{table}"')
                await create_schema(conn, self._options, legacy_ok=True)
                await conn.execute(f"DELETE FROM {s}.eventsource_schema")
                await conn.execute(
                    f"CREATE TABLE {s}.{MARK_TABLE} (started_at timestamptz NOT NULL)"
                )
                await conn.execute(f"INSERT INTO {s}.{MARK_TABLE} VALUES (now())")

        await self._run(prepare)

    async def restart(self) -> None:
        """Delete every row copied so far."""
        s = self._s

        async def restart(conn: Any) -> None:
            async with conn.transaction():
                for ours, _ in _TABLES.values():
                    await conn.execute(f"DELETE FROM {s}.{ours}")

        await self._run(restart)

    async def copy_batch(self, table: str, limit: int) -> int:
        """Copy the next rows of ``table`` in one transaction."""
        s = self._s

        async def events(conn: Any) -> int:
            return int(await conn.fetchval(_COPY_EVENTS.format(s=s), limit))

        async def checkpoints(conn: Any) -> int:
            async with conn.transaction():
                last = await conn.fetchval(f"SELECT max(projection_name) FROM {s}.checkpoints")
                return int(await conn.fetchval(_COPY_CHECKPOINTS.format(s=s), limit, last))

        async def outbox(conn: Any) -> int:
            async with conn.transaction():
                last = await conn.fetchrow(
                    f"SELECT created_at, id FROM {s}.outbox ORDER BY seq DESC LIMIT 1"
                )
                created, oid = (None, None) if last is None else (last[0], last[1])
                return int(await conn.fetchval(_COPY_OUTBOX.format(s=s), limit, created, oid))

        async def dlq(conn: Any) -> int:
            async with conn.transaction():
                rows = await conn.fetch(
                    "SELECT id, event_id, projection_name, event_type, event_data::text,"
                    " error_message, error_stacktrace, retry_count, first_failed_at,"
                    " last_failed_at, status, resolved_at, resolved_by"
                    f" FROM {s}.legacy050_dead_letter_queue WHERE id >"
                    f" (SELECT coalesce(max(id), 0) FROM {s}.dlq) ORDER BY id LIMIT $1",
                    limit,
                )
                await conn.executemany(
                    _INSERT_DLQ.format(s=s),
                    [
                        (
                            r[0],
                            r[1],
                            r[2],
                            r[3],
                            r[4],
                            legacy_error_type(r[6], r[5]),
                            r[5],
                            r[6] or "",
                            r[7],
                            r[8],
                            r[9],
                            r[10],
                            r[11],
                            r[12],
                        )
                        for r in rows
                    ],
                )
                return len(rows)

        ops = {"events": events, "checkpoints": checkpoints, "outbox": outbox, "dlq": dlq}
        return await self._run(ops[table])

    async def counts(self, table: str) -> tuple[int, int]:
        """Rows of ``table`` in 0.5.0's copy and in ours."""
        ours, theirs = _TABLES[table]
        row = await self._run(
            lambda c: c.fetchrow(
                f"SELECT (SELECT count(*) FROM {self._s}.{theirs}),"
                f" (SELECT count(*) FROM {self._s}.{ours})"
            )
        )
        return int(row[0]), int(row[1])

    async def _events(self, sql: str, batch: int) -> AsyncIterator[LegacyStoredEvent]:
        last = 0

        async def page(conn: Any) -> list[Any]:
            rows: list[Any] = await conn.fetch(sql, last, batch)
            return rows

        while True:
            rows = await self._run(page)
            for row in rows:
                yield LegacyStoredEvent(*row)
            if len(rows) < batch:
                return
            last = rows[-1][0]

    def legacy_events(self, batch: int) -> AsyncIterator[LegacyStoredEvent]:
        """0.5.0's events in global order."""
        return self._events(
            "SELECT global_position, event_id::text, aggregate_id::text, aggregate_type, version,"
            f" event_type, payload::text FROM {self._s}.legacy050_events"
            " WHERE global_position > $1 ORDER BY global_position LIMIT $2",
            batch,
        )

    def converted_events(self, batch: int) -> AsyncIterator[LegacyStoredEvent]:
        """The converted events in global order."""
        return self._events(
            "SELECT global_position, event_id::text, aggregate_id::text, aggregate_type,"
            f" aggregate_version, event_type, payload::text FROM {self._s}.events"
            " WHERE global_position > $1 ORDER BY global_position LIMIT $2",
            batch,
        )

    async def finish(self, *, keep_legacy: bool) -> None:
        """Drop 0.5.0's tables (unless kept), the mark; record the schema version."""
        s = self._s

        async def finish(conn: Any) -> None:
            async with conn.transaction():
                if not keep_legacy:
                    for name in LEGACY_TABLE_NAMES:
                        await conn.execute(f'DROP TABLE IF EXISTS {s}."{_L}{name}"')
                    await conn.execute(f"DROP FUNCTION IF EXISTS {s}.update_checkpoint_timestamp()")
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence($1, 'id'), max(id)) FROM {s}.dlq"
                    " HAVING max(id) IS NOT NULL",
                    f"{s}.dlq",
                )
                await conn.execute(f"DROP TABLE {s}.{MARK_TABLE}")
                await conn.execute(
                    f"INSERT INTO {s}.eventsource_schema (version) VALUES ($1)"
                    " ON CONFLICT (singleton) DO UPDATE SET version = excluded.version,"
                    " updated_at = now()",
                    SCHEMA_VERSION,
                )

        await self._run(finish)
