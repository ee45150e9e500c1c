"""Global order under concurrent writers, and live waits by LISTEN/NOTIFY (or polling)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
import warnings
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from eventsource import ExpectedVersion, ReadOptions, StorageUnavailableError
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
            deadline = time.monotonic() + 120  # a bound for a hang, not a speed target
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

        # poll_interval=60 is longer than the wait: only the notification can end it True
        waiting = asyncio.create_task(reader.wait_for_events(0, 50))
        await append_soon()
        assert await waiting is True, "not woken by the notification"
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
        for _ in range(3000):  # listening again soon (bounded at 30 s, however busy)
            if reader._listener.is_listening:
                break
            await asyncio.sleep(0.01)
        assert reader._listener.is_listening
        await writer.append_events(aid, "Cart", added(aid, start=2), 1)
        assert await waiting is True


@contextlib.contextmanager
def no_leaked_connections() -> Iterator[None]:
    """Fail if a connection or socket opened inside the block is garbage collected unclosed
    (callers drop their references to the stores first)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        yield
        gc.collect()
    leaked = [str(w.message)[:160] for w in caught if issubclass(w.category, ResourceWarning)]
    assert leaked == [], f"{len(leaked)} connection(s) leaked: {leaked}"


async def _settle(task: asyncio.Task[Any]) -> None:
    """Let a waiter end (it may be cancelled, or find its store closed)."""
    with contextlib.suppress(asyncio.CancelledError, StorageUnavailableError):
        await task


async def test_wait_cancelled_as_listen_connection_opens_leaks_nothing(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A task cancelled (a relay or runner stopping) just as the LISTEN connection is opened
    must not leave that connection to the garbage collector."""
    real_connect = asyncpg.connect

    async def connect_then_get_cancelled(*args: Any, **kwargs: Any) -> Any:
        conn = await real_connect(*args, **kwargs)
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().call_soon(task.cancel)  # lands in the LISTEN round trip
        return conn

    with no_leaked_connections():
        store = PostgreSQLEventStore(pg_url)
        await store.initialize()
        monkeypatch.setattr(asyncpg, "connect", connect_then_get_cancelled)
        waiter = asyncio.create_task(store.wait_for_events(0, 5))
        with pytest.raises(asyncio.CancelledError):
            await waiter
        monkeypatch.undo()
        assert not store._listener.is_listening
        assert await store.wait_for_events(0, 0.05) is False  # a later wait listens again
        assert store._listener.is_listening
        await store.close()
        del store, waiter


async def test_store_closed_while_listen_connection_opens_leaks_nothing(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``close()`` by another task while a wait is opening its LISTEN connection: the wait ends
    (the store is closed) and neither that connection nor a new pool outlives the store."""
    real_connect = asyncpg.connect
    stores: list[PostgreSQLEventStore] = []
    closed_meanwhile: list[bool] = []

    async def connect_while_store_closes(*args: Any, **kwargs: Any) -> Any:
        conn = await real_connect(*args, **kwargs)
        await asyncio.create_task(stores[0].close())
        closed_meanwhile.append(True)
        return conn

    with no_leaked_connections():
        stores.append(PostgreSQLEventStore(pg_url))
        store = stores[0]
        await store.initialize()
        monkeypatch.setattr(asyncpg, "connect", connect_while_store_closes)
        # A wait that outlived its store would return False after its 60 s, not raise.
        waiter = asyncio.create_task(store.wait_for_events(0, 60))
        with pytest.raises(StorageUnavailableError, match="closed"):
            await waiter
        monkeypatch.undo()
        assert closed_meanwhile and store.pool is None and not store._listener.is_listening
        with pytest.raises(StorageUnavailableError, match="closed"):
            await store.get_global_position()  # a closed store opens no new pool
        await store.close()
        stores.clear()
        del store, waiter


async def test_store_closed_under_waiters_and_cancellations_leaks_nothing(pg_url: str) -> None:
    """Real timings: stores closed, and waits cancelled, at every stage of opening the LISTEN
    connection (connecting, LISTEN, waiting)."""
    setup = PostgreSQLEventStore(pg_url)
    await setup.initialize()
    await setup.close()
    with no_leaked_connections():
        for step in range(40):
            store = PostgreSQLEventStore(pg_url, pool_min=1, pool_max=2)
            await store.connect()
            waiters = [asyncio.create_task(store.wait_for_events(0, 5)) for _ in range(3)]
            await asyncio.sleep(step * 0.0003)
            if step % 2:
                waiters[0].cancel()
                await store.close()
            else:
                for waiter in waiters:
                    waiter.cancel()
            for waiter in waiters:
                await _settle(waiter)
            await store.close()
            del store, waiters, waiter


async def test_closed_store_reopens_on_connect(pg_url: str) -> None:
    store = PostgreSQLEventStore(pg_url)
    try:
        await store.initialize()
        assert await store.wait_for_events(0, 0.01) is False
        await store.close()
        with pytest.raises(StorageUnavailableError, match="closed"):
            await store.get_global_position()
        assert await asyncio.wait_for(store._listener.start(), 1) is False
        await store.connect()
        assert await store.get_global_position() == 0
        assert await store.wait_for_events(0, 0.01) is False
        assert store._listener.is_listening
    finally:
        await store.close()


async def test_schema_whose_channel_name_is_shared_is_not_woken_by_the_other(
    pg_server: str, admin: Any
) -> None:
    """Channel names stop at 63 characters, so two long schema names with a common start share
    one: the other schema's positions must not make a wait return at once (a hot loop)."""
    stem = "es_test_" + uuid4().hex + "_" * 20  # 60 characters in common
    schemas = [stem + "_a", stem + "_b"]
    try:
        async with contextlib.AsyncExitStack() as stack:
            quiet, busy = [
                await stack.enter_async_context(PostgreSQLEventStore(pg_server, schema=s))
                for s in schemas
            ]
            assert quiet.options.channel == busy.options.channel
            for store in (quiet, busy):
                await store.initialize()
            assert not await quiet.wait_for_events(0, 0.01)  # listening now
            aid = uuid4()
            await busy.append_events(aid, "Cart", added(aid, 5), 0)
            await asyncio.sleep(0.1)  # the notification has arrived
            assert not await quiet.wait_for_events(0, 0.2)
            mine = uuid4()
            await quiet.append_events(mine, "Cart", added(mine), 0)
            assert await quiet.wait_for_events(0, 1.0)
    finally:
        for s in schemas:
            await admin.execute(f'DROP SCHEMA IF EXISTS "{s}" CASCADE')
