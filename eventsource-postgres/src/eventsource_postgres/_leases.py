"""Ownership leases of projections in ``<schema>.projection_leases``, beside the checkpoints.

Each operation is one statement on one row: ``INSERT ... ON CONFLICT DO UPDATE ... WHERE``
(acquire) or a conditional ``UPDATE`` (renew, release), so racing connections are serialised
by the row lock and each re-checks the condition against the row the winner wrote. Expiry is
judged by the server's ``clock_timestamp()`` unless the caller passes ``now``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from eventsource.spi import (
    ProjectionLease,
    ProjectionLeases,
    check_lease_request,
    check_moment,
    check_projection_lease,
)

from ._repository_base import PostgresRepository

__all__ = ["PostgresLeases"]

_COLUMNS = "projection_name, owner_id, token, acquired_at, renewed_at, expires_at, released_at"
_RETURNING = "RETURNING " + ", ".join(f"l.{c.strip()}" for c in _COLUMNS.split(","))
#: The moment the statement judges expiry by: the caller's (parameter $4), else the server's.
_NOW = "coalesce($4::timestamptz, clock_timestamp())"


def _lease(row: Any) -> ProjectionLease:
    return ProjectionLease(
        projection_name=row[0],
        owner_id=row[1],
        token=row[2],
        acquired_at=row[3],
        renewed_at=row[4],
        expires_at=row[5],
        released_at=row[6],
    )


class PostgresLeases(PostgresRepository, ProjectionLeases):
    """The :class:`ProjectionLeases` half of :class:`PostgreSQLCheckpointRepository`."""

    async def acquire_lease(
        self,
        projection_name: str,
        owner_id: str,
        ttl: timedelta,
        *,
        now: datetime | None = None,
    ) -> ProjectionLease | None:
        name, owner, duration, moment = check_lease_request(projection_name, owner_id, ttl, now)
        # The same owner with a live lease keeps its token; anyone else gets token + 1, and
        # only when the lease is released or expired.
        row = await self._fetchrow(
            f"""
            WITH t AS (SELECT {_NOW} AS now)
            INSERT INTO {self._s}.projection_leases AS l ({_COLUMNS})
            SELECT $1, $2, 1, t.now, t.now, t.now + $3::interval, NULL FROM t
            ON CONFLICT (projection_name) DO UPDATE SET
                owner_id = excluded.owner_id,
                token = CASE WHEN l.owner_id = excluded.owner_id AND l.released_at IS NULL
                             AND l.expires_at > excluded.renewed_at
                        THEN l.token ELSE l.token + 1 END,
                acquired_at = CASE WHEN l.owner_id = excluded.owner_id
                             AND l.released_at IS NULL AND l.expires_at > excluded.renewed_at
                        THEN l.acquired_at ELSE excluded.acquired_at END,
                renewed_at = excluded.renewed_at,
                expires_at = excluded.expires_at,
                released_at = NULL
            WHERE l.released_at IS NOT NULL OR l.expires_at <= excluded.renewed_at
                OR l.owner_id = excluded.owner_id
            {_RETURNING}
            """,
            name,
            owner,
            duration,
            moment,
            write=True,
        )
        return None if row is None else _lease(row)

    async def renew_lease(
        self, lease: ProjectionLease, ttl: timedelta, *, now: datetime | None = None
    ) -> ProjectionLease | None:
        lease = check_projection_lease(lease)
        _, _, duration, moment = check_lease_request(
            lease.projection_name, lease.owner_id, ttl, now
        )
        row = await self._fetchrow(
            f"""
            UPDATE {self._s}.projection_leases AS l
            SET renewed_at = {_NOW}, expires_at = {_NOW} + $3::interval
            WHERE l.projection_name = $1 AND l.token = $2 AND l.owner_id = $5
                AND l.released_at IS NULL
            {_RETURNING}
            """,
            lease.projection_name,
            lease.token,
            duration,
            moment,
            lease.owner_id,
            write=True,
        )
        return None if row is None else _lease(row)

    async def release_lease(self, lease: ProjectionLease, *, now: datetime | None = None) -> bool:
        lease = check_projection_lease(lease)
        moment = check_lease_request(
            lease.projection_name, lease.owner_id, timedelta(seconds=1), now
        )[3]
        row = await self._fetchrow(
            f"""
            UPDATE {self._s}.projection_leases AS l
            SET released_at = {_NOW}, expires_at = least(l.expires_at, {_NOW})
            WHERE l.projection_name = $1 AND l.token = $2 AND l.owner_id = $3
                AND l.released_at IS NULL
            RETURNING l.token
            """,
            lease.projection_name,
            lease.token,
            lease.owner_id,
            moment,
            write=True,
        )
        return row is not None

    async def forget_lease(
        self, lease: ProjectionLease, *, expired_before: datetime | None = None
    ) -> bool:
        lease = check_projection_lease(lease)
        before = None if expired_before is None else check_moment(expired_before, "expired_before")
        row = await self._fetchrow(
            f"""
            DELETE FROM {self._s}.projection_leases AS l
            WHERE l.projection_name = $1 AND l.token = $2 AND l.owner_id = $3
                AND (l.released_at IS NOT NULL OR l.expires_at <= $4::timestamptz)
            RETURNING l.token
            """,
            lease.projection_name,
            lease.token,
            lease.owner_id,
            before,
            write=True,
        )
        return row is not None

    async def get_leases(self) -> list[ProjectionLease]:
        if await self._fetchval("SELECT to_regclass($1) IS NULL", f"{self._s}.projection_leases"):
            return []  # a schema not yet opened by this release
        rows = await self._fetch(
            f"SELECT {_COLUMNS} FROM {self._s}.projection_leases ORDER BY projection_name"
        )
        return [_lease(row) for row in rows]
