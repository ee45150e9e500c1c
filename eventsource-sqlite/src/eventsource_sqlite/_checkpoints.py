"""Projection checkpoints in the ``projection_checkpoints`` table."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsource.spi import (
    CheckpointData,
    CheckpointRepository,
    CheckpointTransfer,
    LagMetrics,
    OwnershipLostError,
    ProjectionLease,
    check_checkpoint_update,
    check_event_types,
    check_identifier,
    check_import_checkpoints,
    check_projection_lease,
    check_projection_name,
    resolve_checkpoint_position,
)

from ._base import uuid_or_none
from ._leases import SQLiteLeases, current_token
from ._transfer import import_checkpoints
from ._tx import from_us, now_us, single_write, write_transaction

__all__ = ["SQLiteCheckpointRepository"]

_COLUMNS = (
    "projection_name, last_event_id, last_event_type, global_position, events_processed, updated_at"
)
_EVENT_POSITION = "SELECT global_position FROM events WHERE event_id = ?"
# A move sets the checkpoint whatever it was (backwards too), as a fresh record.
_MOVE = """
INSERT INTO projection_checkpoints (
    projection_name, last_event_id, last_event_type, global_position, events_processed,
    updated_at)
VALUES (?, ?, ?, ?, 1, ?)
ON CONFLICT (projection_name) DO UPDATE SET
    last_event_id = excluded.last_event_id,
    last_event_type = excluded.last_event_type,
    global_position = excluded.global_position,
    events_processed = 1,
    updated_at = excluded.updated_at
"""
# An update to a lower position than the stored one changes nothing (never backwards).
_UPSERT = """
INSERT INTO projection_checkpoints (
    projection_name, last_event_id, last_event_type, global_position, events_processed,
    updated_at)
VALUES (?, ?, ?, ?, 1, ?)
ON CONFLICT (projection_name) DO UPDATE SET
    last_event_id = excluded.last_event_id,
    last_event_type = excluded.last_event_type,
    global_position = excluded.global_position,
    events_processed = projection_checkpoints.events_processed + 1,
    updated_at = excluded.updated_at
WHERE projection_checkpoints.global_position IS NULL
   OR excluded.global_position IS NULL
   OR excluded.global_position >= projection_checkpoints.global_position
"""


def _data(row: tuple[Any, ...]) -> CheckpointData:
    name, event_id, event_type, position, processed, updated = row
    return CheckpointData(
        projection_name=name,
        last_event_id=uuid_or_none(event_id),
        last_event_type=event_type,
        global_position=position,
        events_processed=processed,
        updated_at=from_us(updated),
    )


class SQLiteCheckpointRepository(SQLiteLeases, CheckpointRepository, CheckpointTransfer):
    """Checkpoints and projection ownership leases in SQLite; see :class:`SQLiteRepository`
    for connections and transactions."""

    async def get_checkpoint(self, projection_name: str) -> UUID | None:
        check_projection_name(projection_name)
        data = await self.get_checkpoint_data(projection_name)
        return None if data is None else data.last_event_id

    async def get_checkpoint_data(self, projection_name: str) -> CheckpointData | None:
        check_projection_name(projection_name)
        sql = f"SELECT {_COLUMNS} FROM projection_checkpoints WHERE projection_name = ?"
        row = await self._run(lambda c: c.execute(sql, (projection_name,)).fetchone())
        return None if row is None else _data(row)

    async def update_checkpoint(
        self,
        projection_name: str,
        event_id: UUID,
        event_type: str,
        global_position: int | None = None,
    ) -> None:
        check_projection_name(projection_name)
        check_identifier(event_type, "event_type")
        given = check_checkpoint_update(event_id, global_position)
        key = str(event_id)

        def update(conn: sqlite3.Connection) -> None:
            # one thread hop; an event's position never changes once stored
            row = conn.execute(_EVENT_POSITION, (key,)).fetchone()
            stored = None if row is None else row[0]
            position = resolve_checkpoint_position(projection_name, event_id, given, stored)
            args = (projection_name, key, event_type, position, now_us())
            single_write(conn, _UPSERT, args)

        await self._run(update)

    async def update_checkpoint_fenced(
        self,
        lease: ProjectionLease,
        event_id: UUID,
        event_type: str,
        global_position: int | None = None,
    ) -> None:
        lease = check_projection_lease(lease)
        projection_name = lease.projection_name
        check_identifier(event_type, "event_type")
        given = check_checkpoint_update(event_id, global_position)
        key = str(event_id)

        def update(conn: sqlite3.Connection) -> None:
            with write_transaction(conn, self._shared, path=self._path):
                token = current_token(conn, projection_name)
                if token != lease.token:
                    raise OwnershipLostError(projection_name, lease.token, token)
                row = conn.execute(_EVENT_POSITION, (key,)).fetchone()
                stored = None if row is None else row[0]
                position = resolve_checkpoint_position(projection_name, event_id, given, stored)
                conn.execute(_UPSERT, (projection_name, key, event_type, position, now_us()))

        await self._run(update)

    async def reset_checkpoint(self, projection_name: str) -> None:
        check_projection_name(projection_name)
        sql = "DELETE FROM projection_checkpoints WHERE projection_name = ?"
        await self._run(lambda c: single_write(c, sql, (projection_name,)))

    async def move_checkpoint(
        self, projection_name: str, event_id: UUID, event_type: str, global_position: int
    ) -> None:
        check_projection_name(projection_name)
        check_identifier(event_type, "event_type")
        given = check_checkpoint_update(event_id, global_position)
        key = str(event_id)

        def move(conn: sqlite3.Connection) -> None:
            row = conn.execute(_EVENT_POSITION, (key,)).fetchone()
            stored = None if row is None else row[0]
            position = resolve_checkpoint_position(projection_name, event_id, given, stored)
            single_write(conn, _MOVE, (projection_name, key, event_type, position, now_us()))

        await self._run(move)

    async def get_lag_metrics(
        self, projection_name: str, event_types: Sequence[str] | None = None
    ) -> LagMetrics | None:
        check_projection_name(projection_name)
        checked = check_event_types(event_types)
        types = None if checked is None else list(checked)

        def read(conn: sqlite3.Connection) -> LagMetrics | None:
            sql = f"SELECT {_COLUMNS} FROM projection_checkpoints WHERE projection_name = ?"
            row = conn.execute(sql, (projection_name,)).fetchone()
            if row is None:
                return None
            data = _data(row)
            if types is None:
                where, params = "1", []
            elif types:
                where, params = f"event_type IN ({', '.join('?' * len(types))})", types
            else:
                where, params = "0", []
            latest = conn.execute(
                f"SELECT event_id, stored_at FROM events WHERE {where}"
                " ORDER BY global_position DESC LIMIT 1",
                params,
            ).fetchone()
            lag_events = conn.execute(
                f"SELECT COUNT(*) FROM events WHERE global_position > ? AND {where}",
                [data.global_position or 0, *params],
            ).fetchone()[0]
            lag_seconds = 0.0
            if latest is not None and lag_events and data.last_event_id is not None:
                last = conn.execute(
                    "SELECT stored_at FROM events WHERE event_id = ?", (str(data.last_event_id),)
                ).fetchone()
                if last is not None:
                    lag_seconds = max(0.0, (latest[1] - last[0]) / 1_000_000)
            return LagMetrics(
                projection_name=projection_name,
                last_event_id=data.last_event_id,
                latest_event_id=uuid_or_none(latest[0]) if latest else None,
                lag_seconds=lag_seconds,
                lag_events=lag_events,
                events_processed=data.events_processed,
                last_processed_at=data.updated_at,
            )

        return await self._run(read)

    async def get_all_checkpoints(self) -> list[CheckpointData]:
        sql = f"SELECT {_COLUMNS} FROM projection_checkpoints ORDER BY projection_name"
        rows = await self._run(lambda c: c.execute(sql).fetchall())
        return [_data(row) for row in rows]

    async def import_checkpoints(self, rows: Sequence[CheckpointData]) -> int:
        checked = check_import_checkpoints(rows)

        def write(conn: sqlite3.Connection) -> int:
            with write_transaction(conn, self._shared, path=self._path):
                return import_checkpoints(conn, checked)

        count: int = await self._run(write)
        return count
