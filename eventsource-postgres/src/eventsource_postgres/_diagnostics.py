"""Who holds the global-order lock: the way to see a stalled append instead of guessing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._schema import APPEND_LOCK_CLASS

__all__ = ["InFlightAppend", "fetch_in_flight_appends"]


@dataclass(frozen=True, slots=True)
class InFlightAppend:
    """A transaction holding (``holding=True``) or waiting for the schema's append lock.

    ``transaction_seconds`` is how long its transaction has been open: a holder with a large
    value (typically ``state='idle in transaction'``) is stalling every writer, and with them
    every reader waiting for new events.
    """

    pid: int
    holding: bool
    state: str | None
    transaction_seconds: float
    application_name: str | None
    query: str | None


_SQL = """
SELECT l.pid, l.granted, a.state, a.application_name, a.query,
       coalesce(extract(epoch FROM clock_timestamp() - a.xact_start), 0)::float8 AS age
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_database
                                                 WHERE datname = current_database())
  AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid AND l.objsubid = 2
ORDER BY l.granted DESC, a.xact_start
"""


async def fetch_in_flight_appends(conn: Any, lock_key: int) -> list[InFlightAppend]:
    """The transactions holding or waiting for the append lock of ``lock_key``, holder first."""
    rows = await conn.fetch(_SQL, APPEND_LOCK_CLASS, lock_key & 0xFFFFFFFF)
    return [
        InFlightAppend(
            pid=row["pid"],
            holding=row["granted"],
            state=row["state"],
            transaction_seconds=float(row["age"]),
            application_name=row["application_name"],
            query=row["query"],
        )
        for row in rows
    ]
