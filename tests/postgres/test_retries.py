"""Idempotent appends on PostgreSQL: what each append sends to the database. A first append is
one statement, as before; only a conflict (a retry, a stale version) adds the id lookup."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from eventsource import ExpectedVersion, OptimisticLockError
from eventsource_postgres import PostgreSQLEventStore

from .helpers import added

pytestmark = pytest.mark.postgres


def kinds(queries: list[str], schema: str) -> list[str]:
    """The statements on the store's schema, by kind."""
    out = []
    for query in queries:
        if schema not in query:
            continue
        if "eventsource_append" in query:
            out.append("append")
        elif "event_id = ANY" in query:
            out.append("lookup")
        else:
            out.append(query)
    return out


async def test_a_first_append_is_one_statement_and_a_retry_adds_one_lookup(
    pg_server: str, pg_schema: str
) -> None:
    seen: list[str] = []

    async def init(conn: Any) -> None:
        conn.add_query_logger(lambda logged: seen.append(logged.query))

    pool = await asyncpg.create_pool(pg_server, min_size=1, max_size=1, init=init)
    store = PostgreSQLEventStore(pool, schema=pg_schema)
    try:
        await store.initialize()
        aid = uuid4()
        batch = added(aid, 3)
        for events, expected in (
            (batch, 0),
            (added(aid, 1, start=4), 3),
            (added(aid, 1, start=5), ExpectedVersion.ANY),
        ):
            seen.clear()
            await store.append_events(aid, "Cart", events, expected)
            assert kinds(seen, pg_schema) == ["append"], expected
        first = (await store.get_events(aid, "Cart")).version
        assert first == 5
        for expected in (0, ExpectedVersion.ANY):
            seen.clear()
            again = await store.append_events(aid, "Cart", batch, expected)
            assert (again.new_version, again.global_position, again.events_written) == (3, 3, 3)
            assert kinds(seen, pg_schema) == ["append", "lookup"], expected
        seen.clear()
        with pytest.raises(OptimisticLockError):
            await store.append_events(aid, "Cart", added(aid, 1), 2)
        assert kinds(seen, pg_schema) == ["append", "lookup"]
        assert await store.get_global_position() == 5
    finally:
        await store.close()
        await pool.close()
