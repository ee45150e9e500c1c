"""Connection faults and a stalled global-order lock: typed errors, nothing lost, recovery."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from uuid import uuid4

import pytest

from eventsource import ConnectionLostError, DatabaseLockedError, ExpectedVersion
from eventsource_postgres import PostgreSQLEventStore, PostgreSQLOutboxRepository
from eventsource_postgres._schema import APPEND_LOCK_CLASS

from .helpers import added, open_stores


async def _hold_append_lock(admin: Any, store: PostgreSQLEventStore) -> Any:
    tx = admin.transaction()
    await tx.start()
    await admin.execute(
        "SELECT pg_advisory_xact_lock($1, $2)", APPEND_LOCK_CLASS, store.options.lock_key
    )
    return tx


async def _until_gone(admin: Any, pid: int) -> None:
    """Wait until the server process ``pid`` has exited (bounded, not timed)."""
    for _ in range(3000):
        if not await admin.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"backend {pid} never exited")


async def _waiting_pids(admin: Any, store: PostgreSQLEventStore, count: int) -> list[int]:
    for _ in range(1500):  # bounded at 30 s however busy the machine
        waiting = [a.pid for a in await store.in_flight_appends() if not a.holding]
        if len(waiting) >= count:
            return waiting
        await asyncio.sleep(0.02)
    raise AssertionError("the append never queued for the lock")


async def test_append_in_flight_gets_connection_lost_and_pool_recovers(
    pg_url: str, admin: Any
) -> None:
    async with open_stores(pg_url, 1, pool_max=2) as (store,):
        kept = uuid4()
        await store.append_events(kept, "Cart", added(kept, 2), 0)
        tx = await _hold_append_lock(admin, store)
        lost = uuid4()
        in_flight = asyncio.create_task(store.append_events(lost, "Cart", added(lost, 2), 0))
        (pid,) = await _waiting_pids(admin, store, 1)
        await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        with pytest.raises(ConnectionLostError):
            await in_flight
        await tx.rollback()
        # Nothing of the lost append, everything committed before it, and the pool works.
        assert await store.get_stream_version(lost, "Cart") == 0
        assert await store.get_stream_version(kept, "Cart") == 2
        result = await store.append_events(lost, "Cart", added(lost, 2), 0)
        assert (result.new_version, result.global_position) == (2, 4)


async def test_every_pooled_connection_killed_then_next_operations_work(
    pg_url: str, admin: Any
) -> None:
    async with open_stores(pg_url, 1, pool_min=3, pool_max=3) as (store,):
        aid = uuid4()
        await store.append_events(aid, "Cart", added(aid, 3), 0)
        held = [await store.pool.acquire() for _ in range(3)]
        pids = [c.get_server_pid() for c in held]
        for conn in held:
            await store.pool.release(conn)
        killed = await admin.fetchval(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(p)) FROM unnest($1::int[]) p",
            pids,
        )
        assert killed == 3
        # Reads retry on a fresh connection; the pool replaces the dead ones.
        assert await store.get_stream_version(aid, "Cart") == 3
        assert [e.global_position async for e in store.read_all()] == [1, 2, 3]
        result = await store.append_events(aid, "Cart", added(aid, 1, start=4), 3)
        assert result.new_version == 4


async def test_repository_on_dead_connection_raises_connection_lost(
    pg_url: str, admin: Any
) -> None:
    async with open_stores(pg_url, 1) as (store,):
        aid = uuid4()
        await store.append_events(aid, "Cart", added(aid), 0, outbox=True)
        conn = await store.pool.acquire()
        try:
            repo = PostgreSQLOutboxRepository(conn, schema=store.schema)
            pid = conn.get_server_pid()
            await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
            await _until_gone(admin, pid)
            with pytest.raises(ConnectionLostError):
                await repo.get_stats()
        finally:
            await store.pool.release(conn)
        assert (await PostgreSQLOutboxRepository(store).get_stats()).pending_count == 1


async def test_stalled_lock_is_reported_logged_and_times_out(
    pg_url: str, admin: Any, caplog: pytest.LogCaptureFixture
) -> None:
    async with open_stores(pg_url, 1, lock_warn_after=0.2, lock_timeout=1.0) as (store,):
        tx = await _hold_append_lock(admin, store)
        holder_pid = admin.get_server_pid()
        try:
            aid = uuid4()
            with caplog.at_level(logging.WARNING, logger="eventsource_postgres"):
                task = asyncio.create_task(
                    store.append_events(aid, "Cart", added(aid), ExpectedVersion.ANY)
                )
                await _waiting_pids(admin, store, 1)
                report = await store.in_flight_appends()
                holder = next(a for a in report if a.holding)
                assert holder.pid == holder_pid
                assert holder.state == "idle in transaction"
                with pytest.raises(DatabaseLockedError, match="in_flight_appends"):
                    await task
            assert any(f"held by pid {holder_pid}" in r.getMessage() for r in caplog.records), (
                caplog.text
            )
            assert await store.get_global_position() == 0
        finally:
            await tx.rollback()
        assert (await store.append_events(aid, "Cart", added(aid), 0)).new_version == 1
