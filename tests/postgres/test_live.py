"""Global order under concurrent writers, and live waits by LISTEN/NOTIFY (or polling)."""

from __future__ import annotations

import asyncio
import time
from uuid import uuid4

from eventsource import ExpectedVersion, ReadOptions
from eventsource_postgres import PostgreSQLEventStore

from .conftest import with_options
from .helpers import added, open_stores

WRITERS = 8
APPENDS_PER_WRITER = 200
EVENTS_PER_APPEND = 2


async def test_tailing_reader_never_skips_with_8_writers(pg_url: str) -> None:
    """8 writers (own pools) append 3,200 events while a reader tails ``read_all`` by resuming
    after the last position it saw; it must see every event exactly once, in order."""
    total = WRITERS * APPENDS_PER_WRITER * EVENTS_PER_APPEND
    async with open_stores(pg_url, WRITERS + 1, pool_max=1) as stores:
        reader_store, writers = stores[0], stores[1:]
        reader_store.page_size = 97  # small pages: many resumptions while writers run
        seen: list[int] = []
        ids: set[object] = set()

        async def writer(store: PostgreSQLEventStore) -> None:
            for _ in range(APPENDS_PER_WRITER):
                aid = uuid4()
                await store.append_events(
                    aid, "Cart", added(aid, EVENTS_PER_APPEND), ExpectedVersion.ANY
                )

        async def reader() -> None:
            last = 0
            deadline = time.monotonic() + 30
            while len(seen) < total and time.monotonic() < deadline:
                async for stored in reader_store.read_all(ReadOptions(from_position=last)):
                    seen.append(stored.global_position)
                    ids.add(stored.event_id)
                    last = stored.global_position
                await reader_store.wait_for_events(last, 1.0)

        start = time.perf_counter()
        await asyncio.gather(reader(), *(writer(s) for s in writers))
        elapsed = time.perf_counter() - start
        print(
            f"\n{total} events by {WRITERS} writers + tailing reader in {elapsed:.2f}s: "
            f"{total / elapsed:,.0f} events/s, {WRITERS * APPENDS_PER_WRITER / elapsed:,.0f} "
            "appends/s"
        )
        assert seen == list(range(1, total + 1)), "the tailing reader skipped or repeated events"
        assert len(ids) == total
        assert elapsed < 30


async def test_notification_wakes_waiter_without_polling(pg_url: str) -> None:
    # A poll interval far beyond the test's patience: only NOTIFY can wake the waiter in time.
    async with (
        PostgreSQLEventStore(pg_url, poll_interval=60) as reader,
        PostgreSQLEventStore(pg_url) as writer,
    ):
        await writer.initialize()
        assert await reader.wait_for_events(0, 0.05) is False
        aid = uuid4()

        async def append_soon() -> float:
            await asyncio.sleep(0.2)
            await writer.append_events(aid, "Cart", added(aid), 0)
            return time.perf_counter()

        waiting = asyncio.create_task(reader.wait_for_events(0, 10))
        appended_at = await append_soon()
        assert await waiting is True
        woke_after = time.perf_counter() - appended_at
        assert woke_after < 1.0, f"waiter woke {woke_after:.2f}s after the append"
        assert reader._listener.position == 1


async def test_without_notify_waits_poll(pg_url: str) -> None:
    url = with_options(pg_url, notify="false", poll_interval="0.05")
    async with PostgreSQLEventStore(url) as reader, PostgreSQLEventStore(url) as writer:
        await writer.initialize()
        aid = uuid4()
        waiting = asyncio.create_task(reader.wait_for_events(0, 5))
        await asyncio.sleep(0.1)
        await writer.append_events(aid, "Cart", added(aid), 0)
        assert await waiting is True
        assert reader._listener.is_listening is False
        channel_listeners = await writer.pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE query ILIKE 'LISTEN%'"
        )
        assert channel_listeners is not None


async def test_waiter_survives_listener_connection_loss(pg_url: str, admin: object) -> None:
    async with (
        PostgreSQLEventStore(pg_url, poll_interval=0.2) as reader,
        PostgreSQLEventStore(pg_url) as writer,
    ):
        await writer.initialize()
        assert await reader.wait_for_events(0, 0.01) is False
        pid = reader._listener._conn.get_server_pid()
        await admin.fetchval("SELECT pg_terminate_backend($1)", pid)  # type: ignore[attr-defined]
        aid = uuid4()
        waiting = asyncio.create_task(reader.wait_for_events(0, 5))
        await asyncio.sleep(0.3)
        await writer.append_events(aid, "Cart", added(aid), 0)
        assert await waiting is True
        # The next wait listens again on a new connection.
        waiting = asyncio.create_task(reader.wait_for_events(1, 5))
        await asyncio.sleep(0.3)
        assert reader._listener.is_listening
        await writer.append_events(aid, "Cart", added(aid, start=2), 1)
        assert await waiting is True
