"""Bulk transfer on SQLite (capability ``bulk_transfer``): rows exported and imported as
stored, in the caller's write transaction for imports (serialised with every append)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsource.spi import (
    CheckpointData,
    DLQEntry,
    EventDecodeError,
    ImportConflictError,
    InvalidEventError,
    OutboxEntry,
    RawEvent,
    StreamMark,
)

from ._base import uuid_or_none
from ._tx import from_us, to_us

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
    "global_position, event_id, aggregate_id, aggregate_type, aggregate_version, event_type,"
    " event_version, tenant_id, occurred_at, stored_at, CAST(payload AS BLOB)"
)
_EXPORT = (
    "SELECT {columns}, {deleted} FROM {table} WHERE global_position > ?"
    " ORDER BY global_position LIMIT ?"
)
_INSERT = (
    "INSERT INTO {table} (global_position, event_id, aggregate_id, aggregate_type,"
    " aggregate_version, event_type, event_version, tenant_id, occurred_at, stored_at, payload)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_POSITION = (
    "SELECT max(coalesce((SELECT max(global_position) FROM events), 0),"
    " coalesce((SELECT max(global_position) FROM events_deleted), 0))"
)


def transfer_position(conn: sqlite3.Connection) -> int:
    """The highest position held, soft-deleted rows included."""
    return int(conn.execute(_POSITION).fetchone()[0] or 0)


def count_rows(conn: sqlite3.Connection, after: int) -> int:
    """Rows above ``after``, live and soft-deleted."""
    row = conn.execute(
        "SELECT (SELECT count(*) FROM events WHERE global_position > ?)"
        " + (SELECT count(*) FROM events_deleted WHERE global_position > ?)",
        (after, after),
    ).fetchone()
    return int(row[0])


def _raw(row: tuple[Any, ...]) -> RawEvent:
    position, eid, aid, atype, version, kind, kind_version, tenant, occurred, stored, data = row[
        :11
    ]
    try:
        payload = data.decode() if isinstance(data, bytes) else str(data)
    except UnicodeDecodeError as exc:
        raise EventDecodeError(
            f"event at position {position} holds a payload that is not UTF-8 text",
            global_position=position,
            stream_id=f"{aid}:{atype}",
            event_type=kind,
            event_version=kind_version,
            raw_payload=data.decode(errors="replace"),
            event_id=eid,
            stream_position=version,
        ) from exc
    return RawEvent(
        global_position=position,
        event_id=UUID(eid),
        aggregate_id=UUID(aid),
        aggregate_type=atype,
        aggregate_version=version,
        event_type=kind,
        event_version=kind_version,
        tenant_id=uuid_or_none(tenant),
        occurred_at=from_us(occurred),
        stored_at=from_us(stored),
        payload=payload,
        deleted=bool(row[11]),
    )


def export_rows(conn: sqlite3.Connection, after: int, limit: int) -> list[RawEvent]:
    """Up to ``limit`` rows after ``after``, live and soft-deleted, in global order (each
    table read by its primary key, then merged)."""
    live = conn.execute(
        _EXPORT.format(columns=_COLUMNS, deleted=0, table="events"), (after, limit)
    ).fetchall()
    kept = conn.execute(
        _EXPORT.format(columns=_COLUMNS, deleted=1, table="events_deleted"), (after, limit)
    ).fetchall()
    if kept:
        live = sorted(live + kept)[:limit]
    return [_raw(row) for row in live]


def export_marks(conn: sqlite3.Connection) -> list[StreamMark]:
    """Every deleted-stream mark."""
    rows = conn.execute(
        "SELECT aggregate_id, aggregate_type, hard, last_version, deleted_at"
        " FROM stream_lifecycle ORDER BY aggregate_type, aggregate_id"
    ).fetchall()
    return [StreamMark(UUID(a), t, bool(h), v, from_us(d)) for a, t, h, v, d in rows]


def import_rows(conn: sqlite3.Connection, rows: list[RawEvent]) -> int:
    """Insert checked rows at their positions (in the caller's write transaction); a position
    at or below the highest held, or a stored event id or stream version, is an
    :class:`ImportConflictError` (the store changed meanwhile; the caller rolls back)."""
    held = transfer_position(conn)
    if rows and rows[0].global_position <= held:
        raise ImportConflictError(
            f"row at position {rows[0].global_position} is not above {held}, the highest "
            "position this store holds"
        )
    live = [_params(r) for r in rows if not r.deleted]
    kept = [_params(r) for r in rows if r.deleted]
    try:
        if live:
            conn.executemany(_INSERT.format(table="events"), live)
        if kept:
            conn.executemany(_INSERT.format(table="events_deleted"), kept)
    except sqlite3.IntegrityError as exc:
        if "UNIQUE" not in str(exc):
            raise InvalidEventError(f"a row is refused: {exc}") from exc
        raise ImportConflictError(
            f"the rows conflict with stored events (an event id or stream version is taken): {exc}"
        ) from exc
    return len(rows)


def _params(row: RawEvent) -> tuple[Any, ...]:
    return (
        row.global_position,
        str(row.event_id),
        str(row.aggregate_id),
        row.aggregate_type,
        row.aggregate_version,
        row.event_type,
        row.event_version,
        None if row.tenant_id is None else str(row.tenant_id),
        to_us(row.occurred_at),
        to_us(row.stored_at),
        row.payload,
    )


def import_marks(conn: sqlite3.Connection, marks: Sequence[StreamMark]) -> int:
    """Insert or replace each mark (in the caller's write transaction)."""
    conn.executemany(
        "INSERT INTO stream_lifecycle (aggregate_id, aggregate_type, hard, last_version,"
        " deleted_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (aggregate_id, aggregate_type)"
        " DO UPDATE SET hard = excluded.hard, last_version = excluded.last_version,"
        " deleted_at = excluded.deleted_at",
        [
            (
                str(m.aggregate_id),
                m.aggregate_type,
                int(m.hard),
                m.last_version,
                to_us(m.deleted_at),
            )
            for m in marks
        ],
    )
    return len(marks)


def import_checkpoints(conn: sqlite3.Connection, rows: Sequence[CheckpointData]) -> int:
    """Insert or replace each checkpoint row as given, unless the stored one is further along
    (in the caller's write transaction)."""
    conn.executemany(
        "INSERT INTO projection_checkpoints (projection_name, last_event_id, last_event_type,"
        " global_position, events_processed, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (projection_name) DO UPDATE SET last_event_id = excluded.last_event_id,"
        " last_event_type = excluded.last_event_type,"
        " global_position = excluded.global_position,"
        " events_processed = excluded.events_processed, updated_at = excluded.updated_at"
        " WHERE projection_checkpoints.global_position IS NULL"
        " OR excluded.global_position >= projection_checkpoints.global_position",
        [
            (
                r.projection_name,
                None if r.last_event_id is None else str(r.last_event_id),
                r.last_event_type,
                r.global_position,
                r.events_processed,
                to_us(r.updated_at),
            )
            for r in rows
        ],
    )
    return len(rows)


def _document(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def import_outbox(conn: sqlite3.Connection, entries: Sequence[OutboxEntry]) -> int:
    """Add the entries not held (by id), in order, unclaimed (in the caller's transaction)."""
    before = conn.total_changes
    conn.executemany(
        "INSERT INTO event_outbox (id, event_id, event_type, aggregate_id, aggregate_type,"
        " tenant_id, event_data, created_at, status, retry_count, last_error, published_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        [
            (
                str(e.id),
                str(e.event_id),
                e.event_type,
                str(e.aggregate_id),
                e.aggregate_type,
                None if e.tenant_id is None else str(e.tenant_id),
                _document(e.event_data),
                to_us(e.created_at),
                str(e.status.value),
                e.retry_count,
                e.last_error,
                None if e.published_at is None else to_us(e.published_at),
            )
            for e in entries
        ],
    )
    return conn.total_changes - before


def import_dlq(conn: sqlite3.Connection, entries: Sequence[DLQEntry]) -> int:
    """Add the entries not held (by event and projection), with their ids where free (in the
    caller's transaction)."""
    added = 0
    for e in entries:
        key = (str(e.event_id), e.projection_name)
        if conn.execute(
            "SELECT 1 FROM dead_letter_queue WHERE event_id = ? AND projection_name = ?", key
        ).fetchone():
            continue
        taken = conn.execute("SELECT 1 FROM dead_letter_queue WHERE id = ?", (e.id,)).fetchone()
        conn.execute(
            "INSERT INTO dead_letter_queue (id, event_id, projection_name, event_type,"
            " event_data, error_type, error_message, error_stacktrace, retry_count,"
            " first_failed_at, last_failed_at, status, resolved_at, resolution)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                None if taken else e.id,
                *key,
                e.event_type,
                _document(e.event_data),
                e.error_type,
                e.error_message,
                e.error_stacktrace,
                e.retry_count,
                to_us(e.first_failed_at),
                to_us(e.last_failed_at),
                str(e.status.value),
                None if e.resolved_at is None else to_us(e.resolved_at),
                e.resolution,
            ),
        )
        added += 1
    return added
