"""Bulk transfer on PostgreSQL (capability ``bulk_transfer``): rows exported as stored and
imported with ``COPY``, under the append lock (so serialised with every append, and every
imported position is above every one committed before)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from eventsource.spi import (
    CheckpointData,
    InvalidEventError,
    RawEvent,
    StreamMark,
)

from ._schema import APPEND_LOCK_CLASS

__all__ = [
    "count_rows",
    "export_marks",
    "export_rows",
    "import_checkpoints",
    "import_marks",
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
    """Up to ``limit`` rows after ``after``, live and soft-deleted, in global order."""
    rows = await conn.fetch(
        f"(SELECT {_SELECT}, false FROM {s}.events WHERE global_position > $1"
        f" ORDER BY global_position LIMIT $2)"
        f" UNION ALL (SELECT {_SELECT}, true FROM {s}.events_deleted WHERE global_position > $1"
        f" ORDER BY global_position LIMIT $2) ORDER BY 1 LIMIT $2",
        after,
        limit,
    )
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
    stored event id or stream version is an :class:`InvalidEventError`, nothing written."""
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", APPEND_LOCK_CLASS, lock_key)
            held = await transfer_position(conn, s)
            if rows[0].global_position <= held:
                raise InvalidEventError(
                    f"row at position {rows[0].global_position} is not above {held}, the "
                    "highest position this store holds"
                )
            for table, deleted in (("events", False), ("events_deleted", True)):
                records = [_record(r) for r in rows if r.deleted is deleted]
                if records:
                    await conn.copy_records_to_table(
                        table, records=records, columns=_COLUMNS, schema_name=schema
                    )
            if channel is not None:
                await conn.execute(
                    "SELECT pg_notify($1, $2)", channel, str(rows[-1].global_position)
                )
    except (asyncpg.UniqueViolationError, asyncpg.DataError) as exc:
        raise InvalidEventError(
            f"the rows conflict with stored events or are refused (an event id or stream "
            f"version is taken, or a value does not fit): {exc}"
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
    """Insert or replace each checkpoint row as given, in one transaction."""
    async with conn.transaction():
        await conn.executemany(
            f"INSERT INTO {s}.checkpoints (projection_name, last_event_id, last_event_type,"
            " global_position, events_processed, updated_at) VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (projection_name) DO UPDATE SET"
            " last_event_id = excluded.last_event_id,"
            " last_event_type = excluded.last_event_type,"
            " global_position = excluded.global_position,"
            " events_processed = excluded.events_processed, updated_at = excluded.updated_at",
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
