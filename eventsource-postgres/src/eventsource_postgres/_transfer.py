"""Bulk transfer on PostgreSQL (capability ``bulk_transfer``): rows exported as stored and
imported with ``COPY``, under the append lock (so serialised with every append, and every
imported position is above every one committed before)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import asyncpg

from eventsource.spi import (
    CheckpointData,
    DLQEntry,
    ImportConflictError,
    InvalidEventError,
    OutboxEntry,
    RawEvent,
    StreamMark,
)

from ._schema import APPEND_LOCK_CLASS, READ_BOUND

__all__ = [
    "count_rows",
    "export_marks",
    "export_rows",
    "import_checkpoints",
    "import_dlq",
    "import_marks",
    "import_outbox",
    "import_rows",
    "transfer_position",
]

_COLUMNS = (
    "global_position",
    "event_id",
    "aggregate_id",
    "aggregate_type",
    "aggregate_version",
    "event_type",
    "event_version",
    "tenant_id",
    "occurred_at",
    "stored_at",
    "payload",
)
_SELECT = ", ".join(_COLUMNS[:-1]) + ", payload::text"


async def transfer_position(conn: Any, s: str) -> int:
    """The highest position held, soft-deleted rows included."""
    value = await conn.fetchval(
        f"SELECT greatest(coalesce((SELECT max(global_position) FROM {s}.events), 0),"
        f" coalesce((SELECT max(global_position) FROM {s}.events_deleted), 0))"
    )
    return int(value or 0)


async def count_rows(conn: Any, s: str, after: int) -> int:
    """Rows above ``after``, live and soft-deleted."""
    value = await conn.fetchval(
        f"SELECT (SELECT count(*) FROM {s}.events WHERE global_position > $1)"
        f" + (SELECT count(*) FROM {s}.events_deleted WHERE global_position > $1)",
        after,
    )
    return int(value)


async def export_rows(conn: Any, s: str, after: int, limit: int) -> list[RawEvent]:
    """Up to ``limit`` rows after ``after``, live and soft-deleted, in global order, short of
    appends whose flush is still owed (both parts: a soft-deleted row past the bound must not
    be taken before a live one below it)."""
    sql = (
        f"(SELECT {_SELECT}, false FROM {s}.events WHERE global_position > $1"
        f" AND global_position < {{bound}} ORDER BY global_position LIMIT $2)"
        f" UNION ALL (SELECT {_SELECT}, true FROM {s}.events_deleted WHERE global_position > $1"
        f" AND global_position < {{bound}} ORDER BY global_position LIMIT $2)"
        f" ORDER BY 1 LIMIT $2"
    )
    try:
        rows = await conn.fetch(sql.format(bound=READ_BOUND.format(s=s)), after, limit)
    except asyncpg.UndefinedTableError as exc:  # a schema before version 6: nothing deferred
        if "append_marks" not in str(exc):
            raise
        rows = await conn.fetch(sql.format(bound="9223372036854775807"), after, limit)
    return [RawEvent(*row) for row in rows]


async def export_marks(conn: Any, s: str) -> list[StreamMark]:
    """Every deleted-stream mark."""
    rows = await conn.fetch(
        f"SELECT aggregate_id, aggregate_type, hard, last_version, deleted_at"
        f" FROM {s}.stream_lifecycle ORDER BY aggregate_type, aggregate_id"
    )
    return [StreamMark(*row) for row in rows]


def _record(row: RawEvent) -> tuple[Any, ...]:
    return (
        row.global_position,
        row.event_id,
        row.aggregate_id,
        row.aggregate_type,
        row.aggregate_version,
        row.event_type,
        row.event_version,
        row.tenant_id,
        row.occurred_at,
        row.stored_at,
        row.payload,
    )


async def import_rows(
    conn: Any, s: str, schema: str, lock_key: int, channel: str | None, rows: list[RawEvent]
) -> int:
    """COPY checked rows in at their positions, in one transaction under the append lock; a
    position at or below the highest held, or a stored event id or stream version, is an
    :class:`ImportConflictError` (the store changed meanwhile), nothing written."""
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", APPEND_LOCK_CLASS, lock_key)
            held = await transfer_position(conn, s)
            if rows[0].global_position <= held:
                raise ImportConflictError(
                    f"row at position {rows[0].global_position} is not above {held}, the "
                    "highest position this store holds"
                )
            for table, deleted in (("events", False), ("events_deleted", True)):
                records = [_record(r) for r in rows if r.deleted is deleted]
                if records:
                    await conn.copy_records_to_table(
                        table, records=records, columns=_COLUMNS, schema_name=schema
                    )
            live = [r.global_position for r in rows if not r.deleted]
            if channel is not None and live:  # only a live row is a readable position
                await conn.execute("SELECT pg_notify($1, $2)", channel, str(live[-1]))
    except asyncpg.UniqueViolationError as exc:
        raise ImportConflictError(
            f"the rows conflict with stored events (an event id or stream version is taken): {exc}"
        ) from exc
    except asyncpg.DataError as exc:
        raise InvalidEventError(
            f"a row is refused: its payload is not a JSON object, or a value does not fit: {exc}"
        ) from exc
    return len(rows)


async def import_marks(conn: Any, s: str, lock_key: int, marks: Sequence[StreamMark]) -> int:
    """Insert or replace each mark, under the append lock."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", APPEND_LOCK_CLASS, lock_key)
        await conn.executemany(
            f"INSERT INTO {s}.stream_lifecycle (aggregate_id, aggregate_type, hard,"
            " last_version, deleted_at) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (aggregate_id, aggregate_type) DO UPDATE SET hard = excluded.hard,"
            " last_version = excluded.last_version, deleted_at = excluded.deleted_at",
            [
                (m.aggregate_id, m.aggregate_type, m.hard, m.last_version, m.deleted_at)
                for m in marks
            ],
        )
    return len(marks)


async def import_checkpoints(conn: Any, s: str, rows: Sequence[CheckpointData]) -> int:
    """Insert or replace each checkpoint row as given, unless the stored one is further
    along, in one transaction."""
    async with conn.transaction():
        await conn.executemany(
            f"INSERT INTO {s}.checkpoints (projection_name, last_event_id, last_event_type,"
            " global_position, events_processed, updated_at) VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (projection_name) DO UPDATE SET"
            " last_event_id = excluded.last_event_id,"
            " last_event_type = excluded.last_event_type,"
            " global_position = excluded.global_position,"
            " events_processed = excluded.events_processed, updated_at = excluded.updated_at"
            f" WHERE {s}.checkpoints.global_position IS NULL"
            f" OR excluded.global_position >= {s}.checkpoints.global_position",
            [
                (
                    r.projection_name,
                    r.last_event_id,
                    r.last_event_type,
                    r.global_position,
                    r.events_processed,
                    r.updated_at,
                )
                for r in rows
            ],
        )
    return len(rows)


def _shifted(values: str) -> str:
    """``$2, $3, ...`` as ``$1, $2, ...``."""
    return ", ".join(
        part.replace(f"${n + 2}", f"${n + 1}", 1) for n, part in enumerate(values.split(", "))
    )


def _document(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


async def import_outbox(conn: Any, s: str, entries: Sequence[OutboxEntry]) -> int:
    """Add the entries not held (by id), in order, unclaimed, in one transaction."""
    async with conn.transaction():
        before = await conn.fetchval(f"SELECT count(*) FROM {s}.outbox")
        await conn.executemany(
            f"INSERT INTO {s}.outbox (id, event_id, event_type, aggregate_id, aggregate_type,"
            " tenant_id, event_data, created_at, status, retry_count, last_error, published_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7::json, $8, $9, $10, $11, $12)"
            " ON CONFLICT (id) DO NOTHING",
            [
                (
                    e.id,
                    e.event_id,
                    e.event_type,
                    e.aggregate_id,
                    e.aggregate_type,
                    e.tenant_id,
                    _document(e.event_data),
                    e.created_at,
                    str(e.status.value),
                    e.retry_count,
                    e.last_error,
                    e.published_at,
                )
                for e in entries
            ],
        )
        after = await conn.fetchval(f"SELECT count(*) FROM {s}.outbox")
    return int(after - before)


async def import_dlq(conn: Any, s: str, entries: Sequence[DLQEntry]) -> int:
    """Add the entries not held (by event and projection), with their ids where free, in one
    transaction; the id sequence then continues past them."""
    columns = (
        "event_id, projection_name, event_type, event_data, error_type, error_message,"
        " error_stacktrace, retry_count, first_failed_at, last_failed_at, status, resolved_at,"
        " resolution"
    )
    values = "$2, $3, $4, $5::json, $6, $7, $8, $9, $10, $11, $12, $13, $14"
    added = 0
    async with conn.transaction():
        for e in entries:
            if await conn.fetchval(
                f"SELECT 1 FROM {s}.dlq WHERE event_id = $1 AND projection_name = $2",
                e.event_id,
                e.projection_name,
            ):
                continue
            taken = await conn.fetchval(f"SELECT 1 FROM {s}.dlq WHERE id = $1", e.id)
            args = (
                e.event_id,
                e.projection_name,
                e.event_type,
                _document(e.event_data),
                e.error_type,
                e.error_message,
                e.error_stacktrace,
                e.retry_count,
                e.first_failed_at,
                e.last_failed_at,
                str(e.status.value),
                e.resolved_at,
                e.resolution,
            )
            if taken:
                await conn.execute(
                    f"INSERT INTO {s}.dlq ({columns}) VALUES ({_shifted(values)})", *args
                )
            else:
                await conn.execute(
                    f"INSERT INTO {s}.dlq (id, {columns}) OVERRIDING SYSTEM VALUE"
                    f" VALUES ($1, {values})",
                    e.id,
                    *args,
                )
            added += 1
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence($1, 'id'),"
            f" greatest((SELECT max(id) FROM {s}.dlq), 1))",
            f"{s}.dlq",
        )
    return added
