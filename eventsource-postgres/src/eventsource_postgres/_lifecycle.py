"""Stream lifecycle on PostgreSQL: delete, restore, truncate, and what retention reads.

Each operation is one transaction that first takes the append lock (the advisory lock every
append holds until commit), so it is serialised with every append: an append either commits
before it (and is deleted with the stream) or runs after it (and sees the deleted mark: ES410).
A delete also holds the stream's lifecycle lock, which snapshot writes take shared, so a
snapshot racing the delete is either deleted with it or sees the mark and writes nothing.
``record`` appends the lifecycle event through ``eventsource_append`` first, so its position
(``max + 1``) is past every row the operation then removes: no position is reused.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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

from ._schema import APPEND_LOCK_CLASS, LIFECYCLE_LOCK_CLASS

__all__ = [
    "STREAM_LOCK",
    "delete_stream",
    "read_retention",
    "restore_stream",
    "stream_extents",
    "truncate_stream",
    "write_retention",
]

Record = Callable[[Any, DomainEvent], Awaitable[None]]

_COLUMNS = (
    "global_position, event_id, aggregate_id, aggregate_type, aggregate_version, event_type,"
    " event_version, tenant_id, occurred_at, stored_at, payload"
)
_STREAM = "aggregate_id = $1 AND aggregate_type = $2"
#: The per-stream lock's statement (its mode filled in): the stream's key hashed to an int4.
STREAM_LOCK = "SELECT {fn}($1, hashtext($2::text || ':' || $3))"


async def _lock(conn: Any, lock_key: int, aggregate_id: UUID, aggregate_type: str) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", APPEND_LOCK_CLASS, lock_key)
    await conn.execute(
        STREAM_LOCK.format(fn="pg_advisory_xact_lock"),
        LIFECYCLE_LOCK_CLASS,
        str(aggregate_id),
        aggregate_type,
    )


async def _mark(conn: Any, s: str, aggregate_id: UUID, aggregate_type: str) -> bool | None:
    hard: bool | None = await conn.fetchval(
        f"SELECT hard FROM {s}.stream_lifecycle WHERE {_STREAM}", aggregate_id, aggregate_type
    )
    return hard


async def _last(conn: Any, s: str, table: str, aggregate_id: UUID, aggregate_type: str) -> int:
    last = await conn.fetchval(
        f"SELECT max(aggregate_version) FROM {s}.{table} WHERE {_STREAM}",
        aggregate_id,
        aggregate_type,
    )
    return int(last or 0)


def _count(status: str) -> int:
    return int(status.rsplit(" ", 1)[-1])


async def delete_stream(
    conn: Any,
    s: str,
    lock_key: int,
    aggregate_id: UUID,
    aggregate_type: str,
    hard: bool,
    record: Record,
) -> int:
    """Soft or hard delete (see :meth:`EventStore.delete_stream`); how many events went."""
    key = (aggregate_id, aggregate_type)
    async with conn.transaction():
        await _lock(conn, lock_key, *key)
        mark = await _mark(conn, s, *key)
        if mark is True or (mark is False and not hard):
            return 0
        if mark is False:  # soft-deleted, now hard: the kept rows go for good
            last = await _last(conn, s, "events_deleted", *key)
            await record(conn, tombstone(aggregate_id, aggregate_type, last, True))
            count = _count(
                await conn.execute(f"DELETE FROM {s}.events_deleted WHERE {_STREAM}", *key)
            )
        else:
            last = await _last(conn, s, "events", *key)
            if last == 0:
                return 0
            await record(conn, tombstone(aggregate_id, aggregate_type, last, hard))
            if not hard:
                await conn.execute(
                    f"INSERT INTO {s}.events_deleted ({_COLUMNS}) SELECT {_COLUMNS}"
                    f" FROM {s}.events WHERE {_STREAM}",
                    *key,
                )
            count = _count(await conn.execute(f"DELETE FROM {s}.events WHERE {_STREAM}", *key))
            await conn.execute(f"DELETE FROM {s}.outbox WHERE {_STREAM}", *key)
            await conn.execute(f"DELETE FROM {s}.aggregate_snapshots WHERE {_STREAM}", *key)
        await conn.execute(
            f"INSERT INTO {s}.stream_lifecycle (aggregate_id, aggregate_type, hard, last_version)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (aggregate_id, aggregate_type)"
            " DO UPDATE SET hard = excluded.hard, deleted_at = now()",
            *key,
            hard,
            last,
        )
        return count


async def clear_for_recreate(
    conn: Any, s: str, lock_key: int, aggregate_id: UUID, aggregate_type: str
) -> None:
    """Forget a deleted stream for good (its kept rows and its mark): it can be appended to."""
    async with conn.transaction():
        await _lock(conn, lock_key, aggregate_id, aggregate_type)
        await conn.execute(
            f"DELETE FROM {s}.events_deleted WHERE {_STREAM}", aggregate_id, aggregate_type
        )
        await conn.execute(
            f"DELETE FROM {s}.stream_lifecycle WHERE {_STREAM}", aggregate_id, aggregate_type
        )


async def restore_stream(
    conn: Any, s: str, lock_key: int, aggregate_id: UUID, aggregate_type: str, record: Record
) -> int:
    """Put a soft-deleted stream's rows back; how many. A hard-deleted one is refused."""
    key = (aggregate_id, aggregate_type)
    async with conn.transaction():
        await _lock(conn, lock_key, *key)
        mark = await _mark(conn, s, *key)
        if mark is None:
            return 0
        if mark:
            raise StreamDeletedError(aggregate_id, aggregate_type, hard=True)
        taken = await conn.fetchval(
            f"SELECT d.event_id FROM {s}.events_deleted d JOIN {s}.events e"
            " ON e.event_id = d.event_id WHERE d.aggregate_id = $1 AND d.aggregate_type = $2"
            " LIMIT 1",
            *key,
        )
        if taken is not None:
            raise DuplicateEventError(
                taken, "in another stream, appended since the delete: nothing was restored"
            )
        last = await _last(conn, s, "events_deleted", *key)
        count = _count(
            await conn.execute(
                f"INSERT INTO {s}.events ({_COLUMNS}) SELECT {_COLUMNS}"
                f" FROM {s}.events_deleted WHERE {_STREAM}",
                *key,
            )
        )
        await conn.execute(f"DELETE FROM {s}.events_deleted WHERE {_STREAM}", *key)
        await conn.execute(f"DELETE FROM {s}.stream_lifecycle WHERE {_STREAM}", *key)
        await record(conn, restored(aggregate_id, aggregate_type, last))
        return count


async def truncate_stream(
    conn: Any,
    s: str,
    lock_key: int,
    aggregate_id: UUID,
    aggregate_type: str,
    before: int,
    record: Record,
) -> int:
    """Remove versions below ``min(before, last)`` and a snapshot they leave stranded;
    record a ``StreamTruncated`` when events went."""
    key = (aggregate_id, aggregate_type)
    async with conn.transaction():
        await _lock(conn, lock_key, *key)
        last = await _last(conn, s, "events", *key)
        before = min(before, last)
        if before <= 1:
            return 0
        count = _count(
            await conn.execute(
                f"DELETE FROM {s}.events WHERE {_STREAM} AND aggregate_version < $3", *key, before
            )
        )
        if count == 0:
            return 0
        await conn.execute(
            f"DELETE FROM {s}.aggregate_snapshots WHERE {_STREAM} AND version < $3",
            *key,
            before - 1,
        )
        await record(conn, truncated(aggregate_id, aggregate_type, before, last, count))
        return count


async def read_retention(conn: Any, s: str) -> dict[str, RetentionPolicy]:
    """The stored retention policies (none in a schema that lacks their table: one opened
    without creating what is missing)."""
    if await conn.fetchval("SELECT to_regclass($1) IS NULL", f"{s}.retention_policies"):
        return {}
    rows = await conn.fetch(
        f"SELECT aggregate_type, max_age_us, max_count FROM {s}.retention_policies"
    )
    return {r[0]: retention_from_columns(r[1], r[2]) for r in rows}


async def write_retention(
    conn: Any, s: str, aggregate_type: str, policy: RetentionPolicy | None
) -> None:
    """Store (or with None remove) the policy of ``aggregate_type``."""
    if policy is None:
        await conn.execute(
            f"DELETE FROM {s}.retention_policies WHERE aggregate_type = $1", aggregate_type
        )
        return
    await conn.execute(
        f"INSERT INTO {s}.retention_policies (aggregate_type, max_age_us, max_count)"
        " VALUES ($1, $2, $3) ON CONFLICT (aggregate_type) DO UPDATE SET"
        " max_age_us = excluded.max_age_us, max_count = excluded.max_count, updated_at = now()",
        aggregate_type,
        *retention_columns(policy),
    )


async def stream_extents(
    conn: Any, s: str, aggregate_type: str, cutoff: datetime | None
) -> list[tuple[UUID, int, int, int | None]]:
    """What :meth:`EventStore.scavenge` decides from, for every live stream of the type."""
    rows = await conn.fetch(
        "SELECT aggregate_id, min(aggregate_version), max(aggregate_version),"
        " max(aggregate_version) FILTER (WHERE occurred_at < $2)"
        f" FROM {s}.events WHERE aggregate_type = $1 GROUP BY aggregate_id",
        aggregate_type,
        cutoff,
    )
    return [(r[0], int(r[1]), int(r[2]), None if r[3] is None else int(r[3])) for r in rows]
