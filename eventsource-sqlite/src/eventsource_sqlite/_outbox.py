"""The transactional outbox in the ``event_outbox`` table, with leased claims."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

import aiosqlite

from eventsource.clock import Clock
from eventsource.spi import (
    DEFAULT_LEASE,
    DEFAULT_MAX_EVENT_BYTES,
    DomainEvent,
    EntryNotFoundError,
    InvalidEventError,
    InvalidStateError,
    OutboxEntry,
    OutboxRepository,
    OutboxStats,
    OutboxStatus,
    check_lease,
    check_limit,
    check_older_than,
    check_outbox_id,
    check_outbox_ids,
    check_outbox_status,
    check_per_aggregate_order,
    check_retry_after,
    check_worker_id,
    hand_out_claims,
    load_stored_document,
    serialize_event,
    storable_note,
)

from ._base import SQLiteRepository, uuid_or_none
from ._tx import from_us, single_write, to_us, write_transaction

#: Ids per UPDATE in mark_published_many (well under SQLite's bound-parameter limit).
_MARK_CHUNK = 500

if TYPE_CHECKING:
    from ._store import SQLiteEventStore

__all__ = ["SQLiteOutboxRepository"]

# event_data as bytes: a value that is not UTF-8 fails only its own entry (see _entry)
_COLUMNS = (
    "id, event_id, event_type, aggregate_id, aggregate_type, tenant_id,"
    " CAST(event_data AS BLOB), created_at,"
    " status, retry_count, last_error, published_at, claimed_by, claimed_until, seq"
)
_INSERT = (
    "INSERT INTO event_outbox (id, event_id, event_type, aggregate_id, aggregate_type,"
    " tenant_id, event_data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
# One statement claims the oldest available pending entries: no entry goes to two workers.
_CLAIM = f"""
UPDATE event_outbox SET claimed_by = ?, claimed_until = ?
WHERE seq IN (
    SELECT seq FROM event_outbox
    WHERE status = 'pending'
      AND (claimed_until IS NULL OR claimed_until <= ?)
      AND (available_at IS NULL OR available_at <= ?)
    ORDER BY seq LIMIT ?)
RETURNING {_COLUMNS}
"""
# The same, but only the oldest pending entry of each aggregate is claimable (an earlier
# pending entry of the aggregate, claimed or waiting for its retry, holds the later ones back);
# the probe for an earlier one uses the outbox_pending_aggregate index.
_CLAIM_ORDERED = f"""
UPDATE event_outbox SET claimed_by = ?, claimed_until = ?
WHERE seq IN (
    SELECT o.seq FROM event_outbox o
    WHERE o.status = 'pending'
      AND (o.claimed_until IS NULL OR o.claimed_until <= ?)
      AND (o.available_at IS NULL OR o.available_at <= ?)
      AND NOT EXISTS (
          SELECT 1 FROM event_outbox e
          WHERE e.aggregate_id = o.aggregate_id AND e.status = 'pending' AND e.seq < o.seq)
    ORDER BY o.seq LIMIT ?)
RETURNING {_COLUMNS}
"""


def _us(delta: timedelta) -> int:
    return delta // timedelta(microseconds=1)


def _entry(row: tuple[Any, ...]) -> OutboxEntry:
    return OutboxEntry(
        id=UUID(row[0]),
        event_id=UUID(row[1]),
        event_type=row[2],
        aggregate_id=UUID(row[3]),
        aggregate_type=row[4],
        tenant_id=uuid_or_none(row[5]),
        event_data=load_stored_document(row[6], f"outbox entry {row[0]}"),
        created_at=from_us(row[7]),
        status=OutboxStatus(row[8]),
        retry_count=row[9],
        last_error=row[10],
        published_at=None if row[11] is None else from_us(row[11]),
        claimed_by=row[12],
        claimed_until=None if row[13] is None else from_us(row[13]),
    )


class SQLiteOutboxRepository(SQLiteRepository, OutboxRepository):
    """Outbox in SQLite; see :class:`SQLiteRepository` for connections and transactions.

    ``add_event`` inside the caller's open transaction writes within it and does not commit,
    so the entry commits (or rolls back) with the caller's own writes. Leases, ``retry_after``
    and publish times are read from ``clock`` (default: the system clock).
    """

    def __init__(
        self,
        connection: aiosqlite.Connection | SQLiteEventStore,
        tracer: object = None,  # eventsource-py 0.5.0's tracing arguments: accepted, unused
        enable_tracing: bool = True,
        *,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(connection)
        if clock is not None:
            self.clock = clock

    def _now_us(self) -> int:
        return to_us(self.clock.now())

    @property
    def max_event_bytes(self) -> int:
        """The largest event document ``add_event`` takes: the store's limit, if built over
        a store."""
        return self._store.max_event_bytes if self._store is not None else DEFAULT_MAX_EVENT_BYTES

    async def add_event(self, event: DomainEvent) -> UUID:
        if not isinstance(event, DomainEvent):
            raise InvalidEventError(f"expected a DomainEvent, got {type(event).__name__}")
        entry_id = uuid.uuid4()
        args = (
            str(entry_id),
            str(event.event_id),
            event.event_type,
            str(event.aggregate_id),
            event.aggregate_type,
            None if event.tenant_id is None else str(event.tenant_id),
            serialize_event(event, self.max_event_bytes),
            self._now_us(),
        )
        await self._run(lambda c: single_write(c, _INSERT, args))
        return entry_id

    async def get_pending_events(
        self,
        limit: int = 100,
        *,
        worker_id: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        per_aggregate_order: bool = False,
    ) -> list[OutboxEntry]:
        limit = check_limit(limit)
        lease = check_lease(lease)
        worker = check_worker_id(worker_id) or f"worker-{uuid.uuid4().hex[:8]}"
        claim = _CLAIM_ORDERED if check_per_aggregate_order(per_aggregate_order) else _CLAIM
        if limit == 0:
            return []
        now = self._now_us()
        args = (worker, now + _us(lease), now, now, limit)
        rows, _ = await self._run(lambda c: single_write(c, claim, args))
        rows.sort(key=lambda row: row[14])
        return await hand_out_claims(rows, _entry, self.mark_failed)

    async def _update(self, outbox_id: UUID, sql: str, params: tuple[Any, ...]) -> None:
        args = (*params, str(check_outbox_id(outbox_id)))
        _, count = await self._run(lambda c: single_write(c, sql, args))
        if count == 0:
            raise EntryNotFoundError(f"no outbox entry {outbox_id}")

    async def mark_published(self, outbox_id: UUID) -> None:
        await self._update(
            outbox_id,
            "UPDATE event_outbox SET status = 'published', published_at = ?, claimed_by = NULL,"
            " claimed_until = NULL WHERE id = ?",
            (self._now_us(),),
        )

    async def mark_published_many(self, outbox_ids: Sequence[UUID]) -> int:
        ids = [str(outbox_id) for outbox_id in check_outbox_ids(outbox_ids)]
        if not ids:
            return 0
        now = self._now_us()

        def mark(conn: sqlite3.Connection) -> int:
            marked = 0
            with write_transaction(conn, path=self._path):
                for start in range(0, len(ids), _MARK_CHUNK):
                    chunk = ids[start : start + _MARK_CHUNK]
                    marks = ",".join("?" * len(chunk))
                    marked += conn.execute(
                        "UPDATE event_outbox SET status = 'published', published_at = ?,"
                        f" claimed_by = NULL, claimed_until = NULL WHERE id IN ({marks})",
                        (now, *chunk),
                    ).rowcount
            return marked

        return await self._run(mark)

    async def release(
        self,
        outbox_id: UUID,
        error: str | None = None,
        *,
        retry_after: timedelta | None = None,
    ) -> None:
        if error is not None:
            error = storable_note(error, "error")
        retry_after = check_retry_after(retry_after)
        available = self._now_us() + _us(retry_after) if retry_after else None
        await self._update(
            outbox_id,
            "UPDATE event_outbox SET claimed_by = NULL, claimed_until = NULL,"
            " retry_count = retry_count + (? IS NOT NULL), last_error = COALESCE(?, last_error),"
            " available_at = ? WHERE id = ?",
            (error, error, available),
        )

    async def mark_failed(self, outbox_id: UUID, error: str) -> None:
        error = storable_note(error, "error")
        await self._update(
            outbox_id,
            "UPDATE event_outbox SET status = 'failed', last_error = ?,"
            " retry_count = retry_count + 1, claimed_by = NULL, claimed_until = NULL"
            " WHERE id = ?",
            (error,),
        )

    async def list_entries(self, status: str = "pending", limit: int = 100) -> list[OutboxEntry]:
        args = (check_outbox_status(status).value, check_limit(limit))
        sql = f"SELECT {_COLUMNS} FROM event_outbox WHERE status = ? ORDER BY seq LIMIT ?"
        rows = await self._run(lambda c: c.execute(sql, args).fetchall())
        return [_entry(row) for row in rows]

    async def retry_failed(self, outbox_id: UUID | None = None) -> int:
        sql = (
            "UPDATE event_outbox SET status = 'pending', claimed_by = NULL,"
            " claimed_until = NULL, available_at = NULL WHERE status = 'failed'"
        )
        args: tuple[str, ...] = ()
        if outbox_id is not None:
            entry = await self.get_entry(outbox_id)
            if entry.status is not OutboxStatus.FAILED:
                raise InvalidStateError(
                    f"outbox entry {outbox_id} is {entry.status.value}, not failed"
                )
            sql, args = sql + " AND id = ?", (str(entry.id),)
        _, count = await self._run(lambda c: single_write(c, sql, args))
        return count

    async def get_entry(self, outbox_id: UUID) -> OutboxEntry:
        sql = f"SELECT {_COLUMNS} FROM event_outbox WHERE id = ?"
        key = (str(check_outbox_id(outbox_id)),)
        row = await self._run(lambda c: c.execute(sql, key).fetchone())
        if row is None:
            raise EntryNotFoundError(f"no outbox entry {outbox_id}")
        return _entry(row)

    async def get_stats(self) -> OutboxStats:
        sql = (
            "SELECT COALESCE(SUM(status = 'pending'), 0),"
            " COALESCE(SUM(status = 'pending' AND claimed_until > ?), 0),"
            " COALESCE(SUM(status = 'published'), 0), COALESCE(SUM(status = 'failed'), 0),"
            " MIN(CASE WHEN status = 'pending' THEN created_at END),"
            " COALESCE(AVG(CASE WHEN status = 'pending' THEN retry_count END), 0)"
            " FROM event_outbox"
        )
        now = (self._now_us(),)
        row = await self._run(lambda c: c.execute(sql, now).fetchone())
        return OutboxStats(
            pending_count=row[0],
            claimed_count=row[1],
            published_count=row[2],
            failed_count=row[3],
            oldest_pending_at=None if row[4] is None else from_us(row[4]),
            avg_retries=float(row[5]),
        )

    async def cleanup_published(self, older_than: timedelta = timedelta(days=7)) -> int:
        sql = "DELETE FROM event_outbox WHERE status = 'published' AND published_at < ?"
        cutoff = (self._now_us() - _us(check_older_than(older_than)),)
        _, count = await self._run(lambda c: single_write(c, sql, cutoff))
        return count
