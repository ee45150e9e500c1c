"""Ownership leases of projections in the ``projection_leases`` table, beside the checkpoints.

Each operation reads the projection's lease row and writes the decision (core's
``lease_acquired`` / ``lease_renewed`` / ``lease_released``) in one ``BEGIN IMMEDIATE``
transaction: SQLite's writer lock makes it atomic across connections and processes.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

from eventsource.spi import (
    ProjectionLease,
    ProjectionLeases,
    check_lease_request,
    check_moment,
    check_projection_lease,
    lease_acquired,
    lease_forgettable,
    lease_released,
    lease_renewed,
)

from ._base import SQLiteRepository
from ._tx import from_us, now_us, to_us, write_transaction

__all__ = ["SQLiteLeases", "current_token"]

_COLUMNS = "projection_name, owner_id, token, acquired_at, renewed_at, expires_at, released_at"
_GET = f"SELECT {_COLUMNS} FROM projection_leases WHERE projection_name = ?"
_PUT = f"INSERT OR REPLACE INTO projection_leases ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"


def _lease(row: tuple[Any, ...]) -> ProjectionLease:
    name, owner, token, acquired, renewed, expires, released = row
    return ProjectionLease(
        projection_name=name,
        owner_id=owner,
        token=token,
        acquired_at=from_us(acquired),
        renewed_at=from_us(renewed),
        expires_at=from_us(expires),
        released_at=None if released is None else from_us(released),
    )


def _row(lease: ProjectionLease) -> tuple[Any, ...]:
    released = None if lease.released_at is None else to_us(lease.released_at)
    return (
        lease.projection_name,
        lease.owner_id,
        lease.token,
        to_us(lease.acquired_at),
        to_us(lease.renewed_at),
        to_us(lease.expires_at),
        released,
    )


def _get(conn: sqlite3.Connection, name: str) -> ProjectionLease | None:
    row = conn.execute(_GET, (name,)).fetchone()
    return None if row is None else _lease(row)


def current_token(conn: sqlite3.Connection, name: str) -> int | None:
    """The projection's current fencing token (None: it never had a lease)."""
    row = conn.execute(
        "SELECT token FROM projection_leases WHERE projection_name = ?", (name,)
    ).fetchone()
    return None if row is None else int(row[0])


def _moment(now: datetime | None) -> datetime:
    return from_us(now_us()) if now is None else now


class SQLiteLeases(SQLiteRepository, ProjectionLeases):
    """The :class:`ProjectionLeases` half of :class:`SQLiteCheckpointRepository`."""

    async def acquire_lease(
        self,
        projection_name: str,
        owner_id: str,
        ttl: timedelta,
        *,
        now: datetime | None = None,
    ) -> ProjectionLease | None:
        name, owner, duration, moment = check_lease_request(projection_name, owner_id, ttl, now)

        def acquire(conn: sqlite3.Connection) -> ProjectionLease | None:
            with write_transaction(conn, self._shared, path=self._path):
                granted = lease_acquired(_get(conn, name), name, owner, duration, _moment(moment))
                if granted is not None:
                    conn.execute(_PUT, _row(granted))
                return granted

        return await self._run(acquire)

    async def renew_lease(
        self, lease: ProjectionLease, ttl: timedelta, *, now: datetime | None = None
    ) -> ProjectionLease | None:
        lease = check_projection_lease(lease)
        _, _, duration, moment = check_lease_request(
            lease.projection_name, lease.owner_id, ttl, now
        )

        def renew(conn: sqlite3.Connection) -> ProjectionLease | None:
            with write_transaction(conn, self._shared, path=self._path):
                current = _get(conn, lease.projection_name)
                renewed = lease_renewed(current, lease, duration, _moment(moment))
                if renewed is not None:
                    conn.execute(_PUT, _row(renewed))
                return renewed

        return await self._run(renew)

    async def release_lease(self, lease: ProjectionLease, *, now: datetime | None = None) -> bool:
        lease = check_projection_lease(lease)
        moment = check_lease_request(
            lease.projection_name, lease.owner_id, timedelta(seconds=1), now
        )[3]

        def release(conn: sqlite3.Connection) -> bool:
            with write_transaction(conn, self._shared, path=self._path):
                released = lease_released(_get(conn, lease.projection_name), lease, _moment(moment))
                if released is None:
                    return False
                conn.execute(_PUT, _row(released))
                return True

        return bool(await self._run(release))

    async def forget_lease(
        self, lease: ProjectionLease, *, expired_before: datetime | None = None
    ) -> bool:
        lease = check_projection_lease(lease)
        before = None if expired_before is None else check_moment(expired_before, "expired_before")

        def forget(conn: sqlite3.Connection) -> bool:
            with write_transaction(conn, self._shared, path=self._path):
                if not lease_forgettable(_get(conn, lease.projection_name), lease, before):
                    return False
                conn.execute(
                    "DELETE FROM projection_leases WHERE projection_name = ?",
                    (lease.projection_name,),
                )
                return True

        return bool(await self._run(forget))

    async def get_leases(self) -> list[ProjectionLease]:
        def read(conn: sqlite3.Connection) -> list[ProjectionLease]:
            try:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM projection_leases ORDER BY projection_name"
                ).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return []  # a read-only file of an earlier release
                raise
            return [_lease(row) for row in rows]

        return await self._run(read)
