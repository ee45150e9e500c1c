"""``PostgreSQLDLQRepository``: events a projection could not handle, with their error."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

from eventsource.spi import (
    DLQEntry,
    DLQRepository,
    DLQStats,
    DLQStatus,
    DLQTransfer,
    EntryNotFoundError,
    ProjectionFailureCount,
    check_dlq_id,
    check_dlq_status,
    check_import_entries,
    check_limit,
    check_older_than,
    check_projection_name,
    prepare_failed_event,
    storable_note,
)

from . import _transfer as transfer
from ._repository_base import PostgresRepository, load_json

__all__ = ["PostgreSQLDLQRepository"]

_COLUMNS = (
    "id, event_id, projection_name, event_type, event_data, error_type, error_message, "
    "error_stacktrace, retry_count, first_failed_at, last_failed_at, status, resolved_at, "
    "resolution"
)


def _entry(row: Any) -> DLQEntry:
    return DLQEntry(
        id=row[0],
        event_id=row[1],
        projection_name=row[2],
        event_type=row[3],
        event_data=load_json(row[4]),
        error_type=row[5],
        error_message=row[6],
        error_stacktrace=row[7],
        retry_count=row[8],
        first_failed_at=row[9],
        last_failed_at=row[10],
        status=DLQStatus(row[11]),
        resolved_at=row[12],
        resolution=row[13],
    )


class PostgreSQLDLQRepository(PostgresRepository, DLQRepository, DLQTransfer):
    """Dead-letter queue in ``<schema>.dlq``; one entry per (event, projection)."""

    async def add_failed_event(
        self,
        event_id: UUID,
        projection_name: str,
        event_type: str,
        event_data: dict[str, Any],
        error: BaseException | str,
        retry_count: int = 1,
    ) -> int:
        data, details = prepare_failed_event(
            event_id, projection_name, event_type, event_data, error, retry_count
        )
        dlq_id = await self._fetchval(
            f"""
            INSERT INTO {self._s}.dlq AS d (event_id, projection_name, event_type, event_data,
                error_type, error_message, error_stacktrace, retry_count, first_failed_at,
                last_failed_at)
            VALUES ($1, $2, $3, $4::json, $5, $6, $7, $8, now(), now())
            ON CONFLICT (event_id, projection_name) DO UPDATE SET
                event_data = excluded.event_data, error_type = excluded.error_type,
                error_message = excluded.error_message,
                error_stacktrace = excluded.error_stacktrace,
                retry_count = excluded.retry_count, last_failed_at = excluded.last_failed_at,
                status = 'failed', resolved_at = NULL, resolution = NULL
            RETURNING id
            """,
            event_id,
            projection_name,
            event_type,
            data,
            details.error_type,
            details.message,
            details.stacktrace,
            retry_count,
            write=True,
        )
        return int(dlq_id)

    async def get_failed_events(
        self,
        projection_name: str | None = None,
        status: str = "failed",
        limit: int = 100,
    ) -> list[DLQEntry]:
        if projection_name is not None:
            check_projection_name(projection_name)
        wanted = check_dlq_status(status)
        limit = check_limit(limit)
        rows = await self._fetch(
            f"SELECT {_COLUMNS} FROM {self._s}.dlq WHERE status = $1 "
            "AND ($2::text IS NULL OR projection_name = $2) "
            "ORDER BY first_failed_at, id LIMIT $3",
            wanted.value,
            projection_name,
            limit,
        )
        return [_entry(r) for r in rows]

    async def get_failed_event_by_id(self, dlq_id: int) -> DLQEntry | None:
        row = await self._fetchrow(
            f"SELECT {_COLUMNS} FROM {self._s}.dlq WHERE id = $1", check_dlq_id(dlq_id)
        )
        return None if row is None else _entry(row)

    async def _update(self, dlq_id: int, assignments: str, *args: Any) -> None:
        check_dlq_id(dlq_id)
        result = await self._execute(
            f"UPDATE {self._s}.dlq SET {assignments} WHERE id = $1", dlq_id, *args
        )
        if result.endswith(" 0"):
            raise EntryNotFoundError(f"no DLQ entry {dlq_id}")

    async def mark_retrying(self, dlq_id: int) -> None:
        await self._update(dlq_id, "status = 'retrying'")

    async def mark_resolved(self, dlq_id: int, resolution: str) -> None:
        resolution = storable_note(resolution, "resolution")
        await self._update(
            dlq_id, "status = 'resolved', resolved_at = now(), resolution = $2", resolution
        )

    async def get_failure_stats(self) -> DLQStats:
        row = await self._fetchrow(
            f"""
            SELECT count(*) FILTER (WHERE status = 'failed'),
                   count(*) FILTER (WHERE status = 'retrying'),
                   count(*) FILTER (WHERE status = 'resolved'),
                   count(DISTINCT projection_name) FILTER (WHERE status <> 'resolved'),
                   min(first_failed_at) FILTER (WHERE status <> 'resolved')
            FROM {self._s}.dlq
            """
        )
        return DLQStats(
            total_failed=row[0],
            total_retrying=row[1],
            total_resolved=row[2],
            affected_projections=row[3],
            oldest_failure=row[4],
        )

    async def get_projection_failure_counts(self) -> list[ProjectionFailureCount]:
        rows = await self._fetch(
            f"""
            SELECT projection_name, count(*), min(first_failed_at), max(last_failed_at)
            FROM {self._s}.dlq WHERE status <> 'resolved'
            GROUP BY projection_name ORDER BY count(*) DESC, projection_name
            """
        )
        return [ProjectionFailureCount(r[0], r[1], r[2], r[3]) for r in rows]

    async def delete_resolved_events(self, older_than: timedelta = timedelta(days=30)) -> int:
        result = await self._execute(
            f"DELETE FROM {self._s}.dlq WHERE status = 'resolved' "
            "AND resolved_at < now() - $1::interval",
            check_older_than(older_than),
        )
        return int(result.rsplit(" ", 1)[-1])

    async def export_dlq(self) -> list[DLQEntry]:
        rows = await self._fetch(f"SELECT {_COLUMNS} FROM {self._s}.dlq ORDER BY id")
        return [_entry(row) for row in rows]

    async def import_dlq(self, entries: Sequence[DLQEntry]) -> int:
        checked = check_import_entries(entries, DLQEntry)
        count: int = await self._source.run(lambda c: transfer.import_dlq(c, self._s, checked))
        return count
