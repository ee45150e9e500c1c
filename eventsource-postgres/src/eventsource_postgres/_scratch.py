"""Scratch storage for ``eventsource conformance postgresql://...``: a fresh schema per kit
test in the database the URL names (its own schema is never opened), dropped after it."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import asyncpg

from eventsource.spi import BackendURL, ScratchStorage

from ._options import PostgresOptions, connect_kwargs, quote_schema
from ._schema import APPEND_LOCK_CLASS
from ._store import PostgreSQLEventStore

if TYPE_CHECKING:
    from eventsource.testing import RawEventRow

__all__ = ["SCRATCH_PREFIX", "scratch_storage", "write_raw_event"]

#: The prefix of the schemas (one per kit test, and one that is never created).
SCRATCH_PREFIX = "eventsource_kit_"

_INSERT = (
    "INSERT INTO {s}.events (global_position, event_id, aggregate_id, aggregate_type,"
    " aggregate_version, event_type, event_version, tenant_id, occurred_at, payload)"
    " SELECT coalesce(max(global_position), 0) + 1, $1, $2, $3, $4, $5, $6, $7, $8, $9"
    " FROM {s}.events RETURNING global_position"
)


async def write_raw_event(backend: Any, row: RawEventRow) -> int:
    """The kit's ``raw_event_writer``: ``row`` inserted with plain SQL, under the appends'
    lock (positions stay gapless, in commit order), around ``append_events``."""
    store = backend.events
    if not isinstance(store, PostgreSQLEventStore):
        raise TypeError(f"not a PostgreSQL store: {store!r}")
    options = store.options
    async with store.pool.acquire() as conn, conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock($1, $2)", APPEND_LOCK_CLASS, options.lock_key
        )
        position = await conn.fetchval(
            _INSERT.format(s=options.quoted_schema),
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


def _with_schema(url: BackendURL, schema: str) -> str:
    options = {"pool_min": "1", "pool_max": "2", **url.options, "schema": schema}
    return dataclasses.replace(url, options=options).render(hide_password=False)


@contextlib.asynccontextmanager
async def scratch_storage(url: BackendURL) -> AsyncIterator[ScratchStorage]:
    """``?schema=eventsource_kit_<hex>`` (created by the kit's first open) and a schema never
    created, in the URL's database, small pools unless the URL sets them; both dropped after."""
    suffix = uuid4().hex[:12]
    fresh, missing = f"{SCRATCH_PREFIX}{suffix}", f"{SCRATCH_PREFIX}missing_{suffix}"
    try:
        yield ScratchStorage(
            url=_with_schema(url, fresh),
            missing_url=_with_schema(url, missing),
            raw_event_writer=write_raw_event,
        )
    finally:
        timeout = PostgresOptions.from_url(url).connect_timeout
        conn = await asyncpg.connect(timeout=timeout, **connect_kwargs(url))
        try:
            for schema in (fresh, missing):
                await conn.execute(f"DROP SCHEMA IF EXISTS {quote_schema(schema)} CASCADE")
        finally:
            await conn.close()
