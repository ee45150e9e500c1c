"""The dead-letter queue in the ``dead_letter_queue`` table."""

from __future__ import annotations

import json
import sqlite3
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
from ._base import SQLiteRepository
from ._tx import from_us, now_us, single_write, write_transaction

__all__ = ["SQLiteDLQRepository"]

_COLUMNS = (
    "id, event_id, projection_name, event_type, event_data, error_type, error_message,"
    " error_stacktrace, retry_count, first_failed_at, last_failed_at, status, resolved_at,"
    " resolution"
)
# Recording the same event for the same projection again updates its entry, same id.
_UPSERT = """
INSERT INTO dead_letter_queue (
    event_id, projection_name, event_type, event_data, error_type, error_message,
    error_stacktrace, retry_count, first_failed_at, last_failed_at, status)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'failed')
ON CONFLICT (event_id, projection_name) DO UPDATE SET
    event_data = excluded.event_data,
    error_type = excluded.error_type,
    error_message = excluded.error_message,
    error_stacktrace = excluded.error_stacktrace,
    retry_count = excluded.retry_count,
    last_failed_at = excluded.last_failed_at,
    status = 'failed',
    resolved_at = NULL,
    resolution = NULL
RETURNING id
"""


def _us(delta: timedelta) -> int:
    return delta // timedelta(microseconds=1)


def _entry(row: tuple[Any, ...]) -> DLQEntry:
    return DLQEntry(
        id=row[0],
        event_id=UUID(row[1]),
        projection_name=row[2],
        event_type=row[3],
        event_data=json.loads(row[4]),
        error_type=row[5],
        error_message=row[6],
        error_stacktrace=row[7],
        retry_count=row[8],
        first_failed_at=from_us(row[9]),
        last_failed_at=from_us(row[10]),
        status=DLQStatus(row[11]),
        resolved_at=None if row[12] is None else from_us(row[12]),
        resolution=row[13],
    )


class SQLiteDLQRepository(SQLiteRepository, DLQRepository, DLQTransfer):
    """Dead-letter queue in SQLite; see :class:`SQLiteRepository` for connections."""

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
        now = now_us()
        args = (
            str(event_id),
            projection_name,
            event_type,
            data,
            details.error_type,
            details.message,
            details.stacktrace,
            retry_count,
            now,
            now,
        )
        rows, _ = await self._run(lambda c: single_write(c, _UPSERT, args))
        return int(rows[0][0])

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
        where, params = "status = ?", [wanted.value]
        if projection_name is not None:
            where, params = "projection_name = ? AND status = ?", [projection_name, wanted.value]
        sql = (
            f"SELECT {_COLUMNS} FROM dead_letter_queue WHERE {where}"
            " ORDER BY first_failed_at, id LIMIT ?"
        )
        args = (*params, limit)
        rows = await self._run(lambda c: c.execute(sql, args).fetchall())
        return [_entry(row) for row in rows]

    async def get_failed_event_by_id(self, dlq_id: int) -> DLQEntry | None:
        sql = f"SELECT {_COLUMNS} FROM dead_letter_queue WHERE id = ?"
        key = (check_dlq_id(dlq_id),)
        row = await self._run(lambda c: c.execute(sql, key).fetchone())
        return None if row is None else _entry(row)

    async def _update(self, dlq_id: int, sql: str, params: tuple[Any, ...]) -> None:
        args = (*params, check_dlq_id(dlq_id))
        _, count = await self._run(lambda c: single_write(c, sql, args))
        if count == 0:
            raise EntryNotFoundError(f"no DLQ entry {dlq_id}")

    async def mark_retrying(self, dlq_id: int) -> None:
        await self._update(
            dlq_id,
            "UPDATE dead_letter_queue SET status = ? WHERE id = ?",
            (DLQStatus.RETRYING.value,),
        )

    async def mark_resolved(self, dlq_id: int, resolution: str) -> None:
        resolution = storable_note(resolution, "resolution")
        await self._update(
            dlq_id,
            "UPDATE dead_letter_queue SET status = ?, resolved_at = ?, resolution = ? WHERE id = ?",
            (DLQStatus.RESOLVED.value, now_us(), resolution),
        )

    async def get_failure_stats(self) -> DLQStats:
        sql = (
            "SELECT COALESCE(SUM(status = 'failed'), 0), COALESCE(SUM(status = 'retrying'), 0),"
            " COALESCE(SUM(status = 'resolved'), 0),"
            " COUNT(DISTINCT CASE WHEN status != 'resolved' THEN projection_name END),"
            " MIN(CASE WHEN status != 'resolved' THEN first_failed_at END)"
            " FROM dead_letter_queue"
        )
        row = await self._run(lambda c: c.execute(sql).fetchone())
        return DLQStats(
            total_failed=row[0],
            total_retrying=row[1],
            total_resolved=row[2],
            affected_projections=row[3],
            oldest_failure=None if row[4] is None else from_us(row[4]),
        )

    async def get_projection_failure_counts(self) -> list[ProjectionFailureCount]:
        sql = (
            "SELECT projection_name, COUNT(*), MIN(first_failed_at), MAX(last_failed_at)"
            " FROM dead_letter_queue WHERE status != 'resolved' GROUP BY projection_name"
            " ORDER BY COUNT(*) DESC, projection_name"
        )
        rows = await self._run(lambda c: c.execute(sql).fetchall())
        return [
            ProjectionFailureCount(
                projection_name=name,
                failure_count=count,
                oldest_failure=from_us(oldest),
                most_recent_failure=from_us(newest),
            )
            for name, count, oldest, newest in rows
        ]

    async def delete_resolved_events(self, older_than: timedelta = timedelta(days=30)) -> int:
        sql = "DELETE FROM dead_letter_queue WHERE status = 'resolved' AND resolved_at < ?"
        cutoff = (now_us() - _us(check_older_than(older_than)),)
        _, count = await self._run(lambda c: single_write(c, sql, cutoff))
        return count

    async def export_dlq(self) -> list[DLQEntry]:
        sql = f"SELECT {_COLUMNS} FROM dead_letter_queue ORDER BY id"
        rows = await self._run(lambda c: c.execute(sql).fetchall())
        return [_entry(row) for row in rows]

    async def import_dlq(self, entries: Sequence[DLQEntry]) -> int:
        checked = check_import_entries(entries, DLQEntry)

        def write(conn: sqlite3.Connection) -> int:
            with write_transaction(conn, self._shared, path=self._path):
                return transfer.import_dlq(conn, checked)

        count: int = await self._run(write)
        return count
