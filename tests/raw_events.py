"""Writing event rows straight into a backend's log with plain SQL, bypassing every check of
``append_events``: how the tests put an undecodable (poison) row into SQLite and PostgreSQL.

``write_raw_event`` is the conformance kit's ``raw_event_writer`` for both backends.
"""

from __future__ import annotations

from uuid import UUID

from eventsource import Backend
from eventsource.testing import RawEventRow


async def write_raw_event(backend: Backend, row: RawEventRow) -> int:
    """Insert ``row`` into the open backend's event log (SQLite or PostgreSQL) and return
    its global position: the backends' own writers, which their ``scratch_storage`` also
    gives ``eventsource conformance``."""
    if backend.name == "sqlite":
        from eventsource_sqlite._scratch import write_raw_event as sqlite_writer

        return await sqlite_writer(backend, row)
    if backend.name == "postgresql":
        from eventsource_postgres._scratch import write_raw_event as postgres_writer

        return await postgres_writer(backend, row)
    raise NotImplementedError(f"no raw writer for backend {backend.name!r}")


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
