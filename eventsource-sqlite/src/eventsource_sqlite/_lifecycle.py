"""Stream lifecycle on SQLite: delete, restore, truncate, and what retention reads.

Each function runs on the connection's thread inside the caller's write transaction, so it is
serialised with every append (one writer at a time). ``record`` appends a lifecycle event to
its system stream in that transaction, past every position the operation removes (the
``events`` rowid is ``max + 1``: a higher row always stays, so no position is reused).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsource.spi import (
    DomainEvent,
    DuplicateEventError,
    RetentionPolicy,
    StreamDeletedError,
    restored,
    retention_columns,
    retention_from_columns,
    tombstone,
    truncated,
)

from ._tx import now_us, to_us

__all__ = [
    "clear_for_recreate",
    "delete_stream",
    "deleted_mark",
    "read_retention",
    "restore_stream",
    "stream_extents",
    "truncate_stream",
    "write_retention",
]

Record = Callable[[sqlite3.Connection, DomainEvent], None]

_COLUMNS = (
    "global_position, event_id, aggregate_id, aggregate_type, aggregate_version, event_type,"
    " event_version, tenant_id, occurred_at, stored_at, payload"
)
_STREAM = "aggregate_id = ? AND aggregate_type = ?"
_TAKEN = "in another stream, appended since the delete: nothing was restored"
_MARK = f"SELECT hard FROM stream_lifecycle WHERE {_STREAM}"


def deleted_mark(conn: sqlite3.Connection, aid: str, aggregate_type: str) -> bool | None:
    """None for a live stream, else whether its delete was hard."""
    row = conn.execute(_MARK, (aid, aggregate_type)).fetchone()
    return None if row is None else bool(row[0])


def clear_for_recreate(conn: sqlite3.Connection, aid: str, aggregate_type: str) -> None:
    """Forget a deleted stream for good (its kept rows and its mark): an append recreates it."""
    conn.execute(f"DELETE FROM events_deleted WHERE {_STREAM}", (aid, aggregate_type))
    conn.execute(f"DELETE FROM stream_lifecycle WHERE {_STREAM}", (aid, aggregate_type))


def _last_version(conn: sqlite3.Connection, table: str, key: tuple[str, str]) -> int:
    row = conn.execute(f"SELECT MAX(aggregate_version) FROM {table} WHERE {_STREAM}", key)
    return int(row.fetchone()[0] or 0)


def delete_stream(
    conn: sqlite3.Connection, aggregate_id: UUID, aggregate_type: str, hard: bool, record: Record
) -> int:
    """Soft or hard delete (see :meth:`EventStore.delete_stream`); how many events went."""
    key = (str(aggregate_id), aggregate_type)
    mark = deleted_mark(conn, *key)
    if mark is True or (mark is False and not hard):
        return 0
    if mark is False:  # soft-deleted, now hard: the kept rows go for good
        last = _last_version(conn, "events_deleted", key)
        record(conn, tombstone(aggregate_id, aggregate_type, last, hard))
        count = conn.execute(f"DELETE FROM events_deleted WHERE {_STREAM}", key).rowcount
    else:
        last = _last_version(conn, "events", key)
        if last == 0:
            return 0
        # first: its position is past the rows that go (the rowid is max + 1)
        record(conn, tombstone(aggregate_id, aggregate_type, last, hard))
        if not hard:
            conn.execute(
                f"INSERT INTO events_deleted ({_COLUMNS}) SELECT {_COLUMNS} FROM events"
                f" WHERE {_STREAM}",
                key,
            )
        count = conn.execute(f"DELETE FROM events WHERE {_STREAM}", key).rowcount
        conn.execute(f"DELETE FROM event_outbox WHERE {_STREAM}", key)
        conn.execute(f"DELETE FROM aggregate_snapshots WHERE {_STREAM}", key)
    conn.execute(
        "INSERT INTO stream_lifecycle (aggregate_id, aggregate_type, hard, last_version,"
        " deleted_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (aggregate_id, aggregate_type)"
        " DO UPDATE SET hard = excluded.hard, deleted_at = excluded.deleted_at",
        (*key, int(hard), last, now_us()),
    )
    return int(count)


def restore_stream(
    conn: sqlite3.Connection, aggregate_id: UUID, aggregate_type: str, record: Record
) -> int:
    """Put a soft-deleted stream's rows back; how many. A hard-deleted one is refused."""
    key = (str(aggregate_id), aggregate_type)
    mark = deleted_mark(conn, *key)
    if mark is None:
        return 0
    if mark:
        raise StreamDeletedError(aggregate_id, aggregate_type, hard=True)
    taken = conn.execute(
        "SELECT d.event_id FROM events_deleted d JOIN events e ON e.event_id = d.event_id"
        " WHERE d.aggregate_id = ? AND d.aggregate_type = ? LIMIT 1",
        key,
    ).fetchone()
    if taken is not None:
        raise DuplicateEventError(UUID(taken[0]), _TAKEN)
    last = _last_version(conn, "events_deleted", key)
    count = conn.execute(
        f"INSERT INTO events ({_COLUMNS}) SELECT {_COLUMNS} FROM events_deleted WHERE {_STREAM}",
        key,
    ).rowcount
    conn.execute(f"DELETE FROM events_deleted WHERE {_STREAM}", key)
    conn.execute(f"DELETE FROM stream_lifecycle WHERE {_STREAM}", key)
    record(conn, restored(aggregate_id, aggregate_type, last))
    return int(count)


def truncate_stream(
    conn: sqlite3.Connection,
    aggregate_id: UUID,
    aggregate_type: str,
    before: int,
    record: Record,
) -> int:
    """Remove versions below ``min(before, last)`` and a snapshot they leave stranded;
    record a ``StreamTruncated`` when events went."""
    key = (str(aggregate_id), aggregate_type)
    last = _last_version(conn, "events", key)
    before = min(before, last)
    if before <= 1:
        return 0
    count = int(
        conn.execute(
            f"DELETE FROM events WHERE {_STREAM} AND aggregate_version < ?", (*key, before)
        ).rowcount
    )
    if count == 0:
        return 0
    conn.execute(
        f"DELETE FROM aggregate_snapshots WHERE {_STREAM} AND version < ?", (*key, before - 1)
    )
    record(conn, truncated(aggregate_id, aggregate_type, before, last, count))
    return count


def read_retention(conn: sqlite3.Connection) -> dict[str, RetentionPolicy]:
    """The stored retention policies (none on a read-only file that lacks their table)."""
    if conn.execute("PRAGMA table_info(retention_policies)").fetchone() is None:
        return {}
    rows = conn.execute(
        "SELECT aggregate_type, max_age_us, max_count FROM retention_policies"
    ).fetchall()
    return {r[0]: retention_from_columns(r[1], r[2]) for r in rows}


def write_retention(
    conn: sqlite3.Connection, aggregate_type: str, policy: RetentionPolicy | None
) -> None:
    """Store (or with None remove) the policy of ``aggregate_type``."""
    if policy is None:
        conn.execute("DELETE FROM retention_policies WHERE aggregate_type = ?", (aggregate_type,))
        return
    conn.execute(
        "INSERT INTO retention_policies (aggregate_type, max_age_us, max_count, updated_at)"
        " VALUES (?, ?, ?, ?) ON CONFLICT (aggregate_type) DO UPDATE SET"
        " max_age_us = excluded.max_age_us, max_count = excluded.max_count,"
        " updated_at = excluded.updated_at",
        (aggregate_type, *retention_columns(policy), now_us()),
    )


def stream_extents(
    conn: sqlite3.Connection, aggregate_type: str, cutoff: datetime | None
) -> list[tuple[UUID, int, int, int | None]]:
    """What :meth:`EventStore.scavenge` decides from, for every live stream of the type."""
    limit: Any = None if cutoff is None else to_us(cutoff)
    rows = conn.execute(
        "SELECT aggregate_id, MIN(aggregate_version), MAX(aggregate_version),"
        " MAX(CASE WHEN occurred_at < ? THEN aggregate_version END)"
        " FROM events WHERE aggregate_type = ? GROUP BY aggregate_id",
        (limit, aggregate_type),
    ).fetchall()
    return [(UUID(r[0]), int(r[1]), int(r[2]), None if r[3] is None else int(r[3])) for r in rows]
