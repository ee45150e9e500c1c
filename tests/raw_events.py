"""Writing event rows straight into a backend's log with plain SQL, bypassing every check of
``append_events``: how the tests put an undecodable (poison) row into SQLite and PostgreSQL.

``write_raw_event`` is the conformance kit's ``raw_event_writer`` for both backends.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from eventsource import Backend
from eventsource.testing import RawEventRow

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)

_SQLITE_INSERT = (
    "INSERT INTO events (event_id, aggregate_id, aggregate_type, aggregate_version, event_type,"
    " event_version, tenant_id, occurred_at, stored_at, payload)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_PG_INSERT = (
    "INSERT INTO {s}.events (global_position, event_id, aggregate_id, aggregate_type,"
    " aggregate_version, event_type, event_version, tenant_id, occurred_at, payload)"
    " SELECT coalesce(max(global_position), 0) + 1, $1, $2, $3, $4, $5, $6, $7, $8, $9"
    " FROM {s}.events RETURNING global_position"
)


async def write_raw_event(backend: Backend, row: RawEventRow) -> int:
    """Insert ``row`` into the open backend's event log (SQLite or PostgreSQL) and return
    its global position."""
    if backend.name == "sqlite":
        return await _sqlite(backend, row)
    if backend.name == "postgresql":
        return await _postgres(backend, row)
    raise NotImplementedError(f"no raw writer for backend {backend.name!r}")


async def _sqlite(backend: Backend, row: RawEventRow) -> int:
    store = backend.events
    now = datetime.now(UTC)
    cursor = await store.connection.execute(  # type: ignore[attr-defined]
        _SQLITE_INSERT,
        (
            str(row.event_id),
            str(row.aggregate_id),
            row.aggregate_type,
            row.aggregate_version,
            row.event_type,
            row.event_version,
            None if row.tenant_id is None else str(row.tenant_id),
            (row.occurred_at - _EPOCH) // _US,
            (now - _EPOCH) // _US,
            row.payload,
        ),
    )
    position = cursor.lastrowid
    await cursor.close()
    store.shared.notify()  # type: ignore[attr-defined]
    return int(position or 0)


async def _postgres(backend: Backend, row: RawEventRow) -> int:
    from eventsource_postgres._schema import APPEND_LOCK_CLASS

    store = backend.events
    options = store.options  # type: ignore[attr-defined]
    async with store.pool.acquire() as conn, conn.transaction():  # type: ignore[attr-defined]
        # the appends' global-order lock: positions stay gapless and in commit order
        await conn.execute(
            "SELECT pg_advisory_xact_lock($1, $2)", APPEND_LOCK_CLASS, options.lock_key
        )
        position = await conn.fetchval(
            _PG_INSERT.format(s=options.quoted_schema),
            row.event_id,
            row.aggregate_id,
            row.aggregate_type,
            row.aggregate_version,
            row.event_type,
            row.event_version,
            row.tenant_id,
            row.occurred_at,
            row.payload,
        )
    return int(position)


async def rewrite_payload(backend: Backend, event_id: UUID, payload: str) -> None:
    """Replace the stored payload of event ``event_id`` (an operator repairing a row)."""
    store = backend.events
    if backend.name == "sqlite":
        await store.connection.execute(  # type: ignore[attr-defined]
            "UPDATE events SET payload = ? WHERE event_id = ?", (payload, str(event_id))
        )
        return
    schema = store.options.quoted_schema  # type: ignore[attr-defined]
    async with store.pool.acquire() as conn:  # type: ignore[attr-defined]
        await conn.execute(
            f"UPDATE {schema}.events SET payload = $1 WHERE event_id = $2", payload, event_id
        )


async def rewrite_outbox_payload(backend: Backend, outbox_id: UUID, payload: str | bytes) -> None:
    """Replace the stored payload of outbox entry ``outbox_id`` (a row written around the
    library; bytes are stored as TEXT as they are, on SQLite)."""
    store = backend.events
    if backend.name == "sqlite":
        await store.connection.execute(  # type: ignore[attr-defined]
            "UPDATE event_outbox SET event_data = CAST(? AS TEXT) WHERE id = ?",
            (payload, str(outbox_id)),
        )
        await store.connection.commit()  # type: ignore[attr-defined]
        return
    schema = store.options.quoted_schema  # type: ignore[attr-defined]
    async with store.pool.acquire() as conn:  # type: ignore[attr-defined]
        await conn.execute(
            f"UPDATE {schema}.outbox SET event_data = $1 WHERE id = $2", payload, outbox_id
        )
