"""PostgreSQL repositories: caller transactions, racing outbox workers, transactional outbox."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from eventsource import OptimisticLockError
from eventsource.clock import ManualClock
from eventsource_postgres import (
    PostgreSQLCheckpointRepository,
    PostgreSQLDLQRepository,
    PostgreSQLEventStore,
    PostgreSQLOutboxRepository,
)

from .helpers import added, open_stores


async def test_repositories_write_inside_the_callers_transaction(
    pg_url: str, pg_server: str, pg_schema: str
) -> None:
    async with open_stores(pg_url, 1) as (store,):
        aid = uuid4()
        await store.append_events(aid, "Cart", added(aid), 0)
        event = (await store.get_events(aid, "Cart")).events[0]
        conn = await asyncpg.connect(pg_server)
        try:
            outbox = PostgreSQLOutboxRepository(conn, schema=pg_schema)
            checkpoints = PostgreSQLCheckpointRepository(conn, schema=pg_schema)
            dlq = PostgreSQLDLQRepository(conn, schema=pg_schema)
            tx = conn.transaction()
            await tx.start()
            await outbox.add_event(event)
            await checkpoints.update_checkpoint("proj", event.event_id, event.event_type)
            await dlq.add_failed_event(event.event_id, "proj", event.event_type, {}, "boom")
            # Not visible elsewhere until the caller commits: nothing committed it for us.
            other = PostgreSQLOutboxRepository(store)
            assert (await other.get_stats()).pending_count == 0
            await tx.rollback()
            assert (await outbox.get_stats()).pending_count == 0
            assert await checkpoints.get_checkpoint("proj") is None
            assert await dlq.get_failed_events() == []
            async with conn.transaction():
                await outbox.add_event(event)
                await checkpoints.update_checkpoint("proj", event.event_id, event.event_type)
            assert (await other.get_stats()).pending_count == 1
            data = await PostgreSQLCheckpointRepository(store).get_checkpoint_data("proj")
            assert data is not None and data.global_position == 1
        finally:
            await conn.close()


async def test_transactional_outbox_is_all_or_nothing(pg_url: str) -> None:
    async with open_stores(pg_url, 1) as (store,):
        outbox = PostgreSQLOutboxRepository(store)
        aid = uuid4()
        await store.append_events(aid, "Cart", added(aid, 3), 0, outbox=True)
        with pytest.raises(OptimisticLockError):
            await store.append_events(aid, "Cart", added(aid, 2, start=4), 1, outbox=True)
        entries = await outbox.get_pending_events(10)
        assert [e.event_data["aggregate_version"] for e in entries] == [1, 2, 3]
        assert {e.event_id for e in entries} == {
            e.event_id for e in (await store.get_events(aid, "Cart")).events
        }


async def test_outbox_workers_on_separate_pools_never_share_an_entry(pg_url: str) -> None:
    total = 400
    async with open_stores(pg_url, 8, pool_max=1) as stores:
        for i in range(total // 10):
            aid = uuid4()
            await stores[i % 8].append_events(aid, "Cart", added(aid, 10), 0, outbox=True)
        claimed: list[Any] = []

        async def worker(store: PostgreSQLEventStore, n: int) -> None:
            repo = PostgreSQLOutboxRepository(store)
            for _ in range(200):
                batch = await repo.get_pending_events(7, worker_id=f"w{n}")
                if not batch:
                    return
                claimed.extend((e.id, f"w{n}") for e in batch)
                for entry in batch:
                    await repo.mark_published(entry.id)

        await asyncio.gather(*(worker(s, n) for n, s in enumerate(stores)))
        ids = [c[0] for c in claimed]
        assert len(ids) == total and len(set(ids)) == total, "an entry was handed out twice"
        assert len({c[1] for c in claimed}) > 1, "only one worker got work: no real race"
        stats = await PostgreSQLOutboxRepository(stores[0]).get_stats()
        assert (stats.pending_count, stats.published_count) == (0, total)


async def test_crashed_workers_claims_return_after_lease(pg_url: str) -> None:
    async with open_stores(pg_url, 2) as (one, two):
        aid = uuid4()
        await one.append_events(aid, "Cart", added(aid, 3), 0, outbox=True)
        clock = ManualClock()
        crashed = PostgreSQLOutboxRepository(one, clock=clock)
        survivor = PostgreSQLOutboxRepository(two, clock=clock)
        got = await crashed.get_pending_events(10, lease=timedelta(seconds=30))
        assert len(got) == 3
        # the lease is stamped from the clock given, not the database's
        assert {e.claimed_until for e in got} == {clock.now() + timedelta(seconds=30)}
        await one.close()  # the worker dies holding its claims
        assert await survivor.get_pending_events(10) == []
        clock.advance(29.9)
        assert await survivor.get_pending_events(10) == []
        clock.advance(0.1)
        again = await survivor.get_pending_events(10, worker_id="survivor")
        assert sorted(e.id for e in again) == sorted(e.id for e in got)
        assert {e.claimed_by for e in again} == {"survivor"}
