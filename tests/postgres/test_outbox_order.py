"""Ordered outbox claims on PostgreSQL: the claim's probe for an earlier pending entry of the
aggregate runs on ``outbox_pending_aggregate_idx``, which an older schema gets on open."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import asyncpg
import pytest

from eventsource import DomainEvent, open_backend
from eventsource_postgres._outbox import claim_sql

pytestmark = pytest.mark.postgres


class PgOrderNoted(DomainEvent):
    aggregate_type: str = "PgOrder"
    n: int


async def test_ordered_claim_uses_the_pending_aggregate_index(
    pg_server: str, pg_url_with_fresh_schema: str, pg_schema: str
) -> None:
    async with open_backend(pg_url_with_fresh_schema) as backend:
        aggregates = [uuid4() for _ in range(30)]
        for n in range(300):
            await backend.outbox.add_event(PgOrderNoted(aggregate_id=aggregates[n % 30], n=n))
    conn = await asyncpg.connect(pg_server)
    try:
        await conn.execute(f'ANALYZE "{pg_schema}".outbox')
        await conn.execute("SET enable_seqscan = off")
        rows = await conn.fetch(
            "EXPLAIN " + claim_sql(f'"{pg_schema}"', ordered=True),
            10,
            "w",
            timedelta(seconds=30),
            None,
        )
    finally:
        await conn.close()
    plan = "\n".join(row[0] for row in rows)
    assert "outbox_pending_aggregate_idx" in plan, plan
    assert "LockRows" in plan, plan


async def test_an_older_schema_gets_the_index_on_open(
    pg_server: str, pg_url_with_fresh_schema: str, pg_schema: str
) -> None:
    async with open_backend(pg_url_with_fresh_schema):
        pass
    conn = await asyncpg.connect(pg_server)
    try:
        await conn.execute(f'DROP INDEX "{pg_schema}".outbox_pending_aggregate_idx')
        async with open_backend(pg_url_with_fresh_schema) as backend:
            a = uuid4()
            first = await backend.outbox.add_event(PgOrderNoted(aggregate_id=a, n=1))
            await backend.outbox.add_event(PgOrderNoted(aggregate_id=a, n=2))
            claimed = await backend.outbox.get_pending_events(5, per_aggregate_order=True)
            assert [entry.id for entry in claimed] == [first]
        found = await conn.fetchval(
            "SELECT to_regclass($1) IS NOT NULL", f'"{pg_schema}".outbox_pending_aggregate_idx'
        )
    finally:
        await conn.close()
    assert found
