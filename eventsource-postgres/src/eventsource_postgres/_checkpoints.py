"""``PostgreSQLCheckpointRepository``: projection positions that never move backwards."""

from __future__ import annotations

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

from . import _transfer as transfer
from ._leases import PostgresLeases

__all__ = ["PostgreSQLCheckpointRepository"]

_COLUMNS = (
    "projection_name, last_event_id, last_event_type, global_position, events_processed, updated_at"
)


def _data(row: Any) -> CheckpointData:
    return CheckpointData(
        projection_name=row[0],
        last_event_id=row[1],
        last_event_type=row[2],
        global_position=row[3],
        events_processed=row[4],
        updated_at=row[5],
    )


def _upsert(s: str, fenced: bool) -> str:
    """One statement: the position lookup, the upsert (only when the rules of
    resolve_checkpoint_position accept it) and the never-backwards guard. ``fenced``: also
    only while the lease row's token is $5, read ``FOR SHARE`` so that an owner taking over
    waits for this write's commit (or this write sees its new token and writes nothing)."""
    fence = (
        f"""fence AS (
                SELECT token FROM {s}.projection_leases WHERE projection_name = $1 FOR SHARE
            ), """
        if fenced
        else ""
    )
    guard = "AND EXISTS (SELECT 1 FROM fence WHERE token = $5::bigint)" if fenced else ""
    token = ", (SELECT token FROM fence)" if fenced else ""
    return f"""
            WITH {fence}stored AS (
                SELECT global_position FROM {s}.events WHERE event_id = $2
            ), chosen AS (
                SELECT coalesce($4::bigint, (SELECT global_position FROM stored)) AS position
            ), upsert AS (
                INSERT INTO {s}.checkpoints AS c ({_COLUMNS})
                SELECT $1, $2, $3, position, 1, now() FROM chosen
                WHERE position IS NOT NULL AND ($4::bigint IS NULL
                    OR NOT EXISTS (SELECT 1 FROM stored WHERE global_position <> $4::bigint))
                    {guard}
                ON CONFLICT (projection_name) DO UPDATE SET
                    last_event_id = excluded.last_event_id,
                    last_event_type = excluded.last_event_type,
                    global_position = excluded.global_position,
                    events_processed = c.events_processed + 1,
                    updated_at = excluded.updated_at
                WHERE c.global_position IS NULL
                    OR excluded.global_position >= c.global_position
            )
            SELECT (SELECT global_position FROM stored){token}
            """


def _move(s: str) -> str:
    """One statement: set the checkpoint to $2 at $4 (None: where the store holds $2), backwards
    too, as a fresh record, unless the store holds $2 at another position (or $4 is None and
    it does not hold $2); returns the stored position (for the refusal)."""
    return f"""
            WITH stored AS (
                SELECT global_position FROM {s}.events WHERE event_id = $2
            ), upsert AS (
                INSERT INTO {s}.checkpoints AS c ({_COLUMNS})
                SELECT $1, $2, $3, coalesce($4::bigint, (SELECT global_position FROM stored)),
                    1, now()
                WHERE NOT EXISTS (SELECT 1 FROM stored WHERE global_position <> $4::bigint)
                    AND coalesce($4::bigint, (SELECT global_position FROM stored)) IS NOT NULL
                ON CONFLICT (projection_name) DO UPDATE SET
                    last_event_id = excluded.last_event_id,
                    last_event_type = excluded.last_event_type,
                    global_position = excluded.global_position,
                    events_processed = 1,
                    updated_at = excluded.updated_at
            )
            SELECT (SELECT global_position FROM stored)
            """


class PostgreSQLCheckpointRepository(PostgresLeases, CheckpointRepository, CheckpointTransfer):
    """Checkpoints in ``<schema>.checkpoints``, positions looked up in the events table;
    projection ownership leases in ``<schema>.projection_leases``."""

    async def get_checkpoint(self, projection_name: str) -> UUID | None:
        check_projection_name(projection_name)
        value: UUID | None = await self._fetchval(
            f"SELECT last_event_id FROM {self._s}.checkpoints WHERE projection_name = $1",
            projection_name,
        )
        return value

    async def get_checkpoint_data(self, projection_name: str) -> CheckpointData | None:
        check_projection_name(projection_name)
        row = await self._fetchrow(
            f"SELECT {_COLUMNS} FROM {self._s}.checkpoints WHERE projection_name = $1",
            projection_name,
        )
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
        stored = await self._fetchval(
            _upsert(self._s, fenced=False),
            projection_name,
            event_id,
            event_type,
            given,
            write=True,
        )
        resolve_checkpoint_position(projection_name, event_id, given, stored)  # raise if refused

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
        row = await self._fetchrow(
            _upsert(self._s, fenced=True),
            projection_name,
            event_id,
            event_type,
            given,
            lease.token,
            write=True,
        )
        stored, token = row[0], row[1]
        if token != lease.token:
            raise OwnershipLostError(projection_name, lease.token, token)
        resolve_checkpoint_position(projection_name, event_id, given, stored)  # raise if refused

    async def reset_checkpoint(self, projection_name: str) -> None:
        check_projection_name(projection_name)
        await self._execute(
            f"DELETE FROM {self._s}.checkpoints WHERE projection_name = $1", projection_name
        )

    async def move_checkpoint(
        self, projection_name: str, event_id: UUID, event_type: str, global_position: int
    ) -> None:
        check_projection_name(projection_name)
        check_identifier(event_type, "event_type")
        given = check_checkpoint_update(event_id, global_position)
        stored = await self._fetchval(
            _move(self._s), projection_name, event_id, event_type, given, write=True
        )
        resolve_checkpoint_position(projection_name, event_id, given, stored)  # raise if refused

    async def get_lag_metrics(
        self, projection_name: str, event_types: Sequence[str] | None = None
    ) -> LagMetrics | None:
        check_projection_name(projection_name)
        checked = check_event_types(event_types)
        data = await self.get_checkpoint_data(projection_name)
        if data is None:
            return None
        types = None if checked is None else list(checked)
        row = await self._fetchrow(
            f"""
            WITH relevant AS (
                SELECT global_position, event_id, stored_at FROM {self._s}.events
                WHERE $1::text[] IS NULL OR event_type = ANY($1::text[])
            ), latest AS (
                SELECT event_id, stored_at FROM relevant ORDER BY global_position DESC LIMIT 1
            )
            SELECT (SELECT event_id FROM latest),
                   (SELECT count(*) FROM relevant WHERE global_position > $2),
                   extract(epoch FROM (SELECT stored_at FROM latest) -
                       (SELECT stored_at FROM {self._s}.events WHERE event_id = $3))::float8
            """,
            types,
            data.global_position or 0,
            data.last_event_id,
        )
        lag_events = int(row[1])
        lag_seconds = max(0.0, float(row[2] or 0.0)) if lag_events else 0.0
        return LagMetrics(
            projection_name=projection_name,
            last_event_id=data.last_event_id,
            latest_event_id=row[0],
            lag_seconds=lag_seconds,
            lag_events=lag_events,
            events_processed=data.events_processed,
            last_processed_at=data.updated_at,
        )

    async def get_all_checkpoints(self) -> list[CheckpointData]:
        rows = await self._fetch(
            f"SELECT {_COLUMNS} FROM {self._s}.checkpoints ORDER BY projection_name"
        )
        return [_data(row) for row in rows]

    async def import_checkpoints(self, rows: Sequence[CheckpointData]) -> int:
        checked = check_import_checkpoints(rows)
        count: int = await self._source.run(
            lambda c: transfer.import_checkpoints(c, self._s, checked)
        )
        return count
