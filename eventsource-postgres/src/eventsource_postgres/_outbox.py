"""``PostgreSQLOutboxRepository``: claims with ``FOR UPDATE SKIP LOCKED`` and a lease column."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg

from eventsource.clock import Clock, SystemClock
from eventsource.spi import (
    DEFAULT_LEASE,
    DomainEvent,
    EntryNotFoundError,
    InvalidEventError,
    InvalidStateError,
    OutboxEntry,
    OutboxRepository,
    OutboxStats,
    OutboxStatus,
    SerializationError,
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

from ._errors import is_unstorable_text
from ._repository_base import PostgresRepository

__all__ = ["PostgreSQLOutboxRepository"]

_COLUMNS = (
    "id, event_id, event_type, aggregate_id, aggregate_type, tenant_id, event_data, created_at, "
    "status, retry_count, last_error, published_at, claimed_by, claimed_until, seq"
)


def claim_sql(s: str, *, ordered: bool) -> str:
    """The claim statement on schema ``s`` (parameters: limit, worker, lease, now or NULL).

    Ordered: only the oldest pending entry of its aggregate (``outbox_pending_aggregate_idx``
    answers the probe). An earlier entry counts as pending unless it is published or failed
    in the statement's snapshot, so a later one is never taken early.
    """
    oldest = (
        f"""AND NOT EXISTS (
                SELECT 1 FROM {s}.outbox e
                WHERE e.aggregate_id = o.aggregate_id AND e.status = 'pending'
                  AND e.seq < o.seq)"""
        if ordered
        else ""
    )
    return f"""
        WITH claimable AS (
            SELECT o.id FROM {s}.outbox o
            WHERE o.status = 'pending'
              AND (o.claimed_until IS NULL
                   OR o.claimed_until <= coalesce($4::timestamptz, clock_timestamp()))
              AND (o.not_before IS NULL
                   OR o.not_before <= coalesce($4::timestamptz, clock_timestamp()))
              {oldest}
            ORDER BY o.seq
            LIMIT $1
            FOR UPDATE SKIP LOCKED
        )
        UPDATE {s}.outbox u
        SET claimed_by = $2,
            claimed_until = coalesce($4::timestamptz, clock_timestamp()) + $3::interval
        FROM claimable WHERE u.id = claimable.id
        RETURNING {", ".join("u." + c.strip() for c in _COLUMNS.split(","))}
        """


def _entry(row: Any) -> OutboxEntry:
    return OutboxEntry(
        id=row[0],
        event_id=row[1],
        event_type=row[2],
        aggregate_id=row[3],
        aggregate_type=row[4],
        tenant_id=row[5],
        event_data=load_stored_document(row[6], f"outbox entry {row[0]}"),
        created_at=row[7],
        status=OutboxStatus(row[8]),
        retry_count=row[9],
        last_error=row[10],
        published_at=row[11],
        claimed_by=row[12],
        claimed_until=row[13],
    )


class PostgreSQLOutboxRepository(PostgresRepository, OutboxRepository):
    """Outbox in ``<schema>.outbox``.

    ``get_pending_events`` claims rows with ``FOR UPDATE SKIP LOCKED`` (concurrent workers
    never wait for nor receive each other's rows) and stamps ``claimed_until``; a crashed
    worker's rows become claimable again when that lease runs out.

    Times come from the database (``clock_timestamp()``, one clock for every host) while
    :attr:`clock` is a :class:`~eventsource.clock.SystemClock`; any other clock (a test's
    :class:`~eventsource.clock.ManualClock`) is read instead and its time sent as a parameter.
    """

    def __init__(
        self, source: Any, *, schema: str | None = None, clock: Clock | None = None
    ) -> None:
        super().__init__(source, schema=schema)
        if clock is not None:
            self.clock = clock

    def _now(self) -> datetime | None:
        """The time to use, or None for the database's own clock."""
        return None if isinstance(self.clock, SystemClock) else self.clock.now()

    async def add_event(self, event: DomainEvent) -> UUID:
        if not isinstance(event, DomainEvent):
            raise InvalidEventError(f"expected a DomainEvent, got {type(event).__name__}")
        entry_id = uuid4()
        sql = (
            f"INSERT INTO {self._s}.outbox (id, event_id, event_type, aggregate_id, "
            "aggregate_type, tenant_id, event_data) VALUES ($1, $2, $3, $4, $5, $6, $7::json)"
        )
        args = (
            entry_id,
            event.event_id,
            event.event_type,
            event.aggregate_id,
            event.aggregate_type,
            event.tenant_id,
            serialize_event(event, self.max_event_bytes),
        )

        async def insert(conn: Any) -> None:
            try:
                await conn.execute(sql, *args)
            except asyncpg.PostgresError as exc:
                if not is_unstorable_text(exc):
                    raise
                raise SerializationError(
                    f"event {event.event_type!r} ({event.event_id}) cannot be stored in "
                    f"PostgreSQL: "
                    f"{exc.args[0] if exc.args else exc}"
                ) from exc

        await self._source.run(insert)
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
        worker = check_worker_id(worker_id) or f"worker-{uuid4().hex[:8]}"
        ordered = check_per_aggregate_order(per_aggregate_order)
        if limit == 0:
            return []
        rows = await self._fetch_write(
            claim_sql(self._s, ordered=ordered), limit, worker, lease, self._now()
        )
        rows.sort(key=lambda r: r[14])
        return await hand_out_claims(rows, _entry, self.mark_failed)

    async def _fetch_write(self, sql: str, *args: Any) -> list[Any]:
        rows: list[Any] = await self._source.run(lambda c: c.fetch(sql, *args))
        return rows

    async def _update(self, outbox_id: UUID, assignments: str, *args: Any) -> None:
        check_outbox_id(outbox_id)
        result = await self._execute(
            f"UPDATE {self._s}.outbox SET {assignments} WHERE id = $1", outbox_id, *args
        )
        if result.endswith(" 0"):
            raise EntryNotFoundError(f"no outbox entry {outbox_id}")

    async def mark_published(self, outbox_id: UUID) -> None:
        await self._update(
            outbox_id,
            "status = 'published', published_at = coalesce($2::timestamptz, now()), "
            "claimed_by = NULL, claimed_until = NULL",
            self._now(),
        )

    async def mark_published_many(self, outbox_ids: Sequence[UUID]) -> int:
        ids = check_outbox_ids(outbox_ids)
        if not ids:
            return 0
        result = await self._execute(
            f"UPDATE {self._s}.outbox SET status = 'published',"
            " published_at = coalesce($2::timestamptz, now()),"
            " claimed_by = NULL, claimed_until = NULL WHERE id = ANY($1::uuid[])",
            ids,
            self._now(),
        )
        return int(result.rsplit(" ", 1)[-1])

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
        await self._update(
            outbox_id,
            "claimed_by = NULL, claimed_until = NULL, "
            "retry_count = retry_count + (CASE WHEN $2::text IS NULL THEN 0 ELSE 1 END), "
            "last_error = coalesce($2::text, last_error), "
            "not_before = CASE WHEN $3::interval IS NULL THEN not_before "
            "ELSE coalesce($4::timestamptz, clock_timestamp()) + $3::interval END",
            error,
            retry_after if retry_after else None,
            self._now(),
        )

    async def mark_failed(self, outbox_id: UUID, error: str) -> None:
        error = storable_note(error, "error")
        await self._update(
            outbox_id,
            "status = 'failed', last_error = $2, retry_count = retry_count + 1, "
            "claimed_by = NULL, claimed_until = NULL",
            error,
        )

    async def list_entries(self, status: str = "pending", limit: int = 100) -> list[OutboxEntry]:
        wanted, limit = check_outbox_status(status), check_limit(limit)
        rows = await self._fetch(
            f"SELECT {_COLUMNS} FROM {self._s}.outbox WHERE status = $1 ORDER BY seq LIMIT $2",
            wanted.value,
            limit,
        )
        return [_entry(row) for row in rows]

    async def retry_failed(self, outbox_id: UUID | None = None) -> int:
        sql = (
            f"UPDATE {self._s}.outbox SET status = 'pending', claimed_by = NULL,"
            " claimed_until = NULL, not_before = NULL WHERE status = 'failed'"
        )
        if outbox_id is None:
            result = await self._execute(sql)
        else:
            entry = await self.get_entry(outbox_id)
            if entry.status is not OutboxStatus.FAILED:
                raise InvalidStateError(
                    f"outbox entry {outbox_id} is {entry.status.value}, not failed"
                )
            result = await self._execute(sql + " AND id = $1", entry.id)
        return int(result.rsplit(" ", 1)[-1])

    async def get_entry(self, outbox_id: UUID) -> OutboxEntry:
        row = await self._fetchrow(
            f"SELECT {_COLUMNS} FROM {self._s}.outbox WHERE id = $1", check_outbox_id(outbox_id)
        )
        if row is None:
            raise EntryNotFoundError(f"no outbox entry {outbox_id}")
        return _entry(row)

    async def get_stats(self) -> OutboxStats:
        row = await self._fetchrow(
            f"""
            SELECT count(*) FILTER (WHERE status = 'pending'),
                   count(*) FILTER (WHERE status = 'pending'
                                    AND claimed_until
                                        > coalesce($1::timestamptz, clock_timestamp())),
                   count(*) FILTER (WHERE status = 'published'),
                   count(*) FILTER (WHERE status = 'failed'),
                   min(created_at) FILTER (WHERE status = 'pending'),
                   coalesce(avg(retry_count) FILTER (WHERE status = 'pending'), 0)
            FROM {self._s}.outbox
            """,
            self._now(),
        )
        return OutboxStats(
            pending_count=row[0],
            claimed_count=row[1],
            published_count=row[2],
            failed_count=row[3],
            oldest_pending_at=row[4],
            avg_retries=float(row[5]),
        )

    async def cleanup_published(self, older_than: timedelta = timedelta(days=7)) -> int:
        result = await self._execute(
            f"DELETE FROM {self._s}.outbox WHERE status = 'published' "
            "AND published_at < coalesce($2::timestamptz, now()) - $1::interval",
            check_older_than(older_than),
            self._now(),
        )
        return int(result.rsplit(" ", 1)[-1])
