"""The deferred flush (schema version 6): an append that waited for the global-order lock
commits without waiting for its WAL flush and flushes after, outside the lock; until then its
positions are marked and no reader reads them. Contention is made by holding the order lock on
another connection while the append queues behind it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from eventsource import ExpectedVersion, ReadDirection, ReadOptions
from eventsource.stores._contract import prepare_append
from eventsource_postgres import PostgreSQLEventStore
from eventsource_postgres._schema import APPEND_LOCK_CLASS, FLUSH_SQL

from .helpers import added

pytestmark = pytest.mark.postgres


@contextlib.asynccontextmanager
async def order_lock_held(admin: Any, store: PostgreSQLEventStore) -> AsyncIterator[None]:
    """Hold the store's global-order lock on ``admin`` until the block ends."""
    async with admin.transaction():
        await admin.execute(
            "SELECT pg_advisory_xact_lock($1, $2)", APPEND_LOCK_CLASS, store.options.lock_key
        )
        yield


async def queued(admin: Any, store: PostgreSQLEventStore, count: int = 1) -> None:
    """Wait until ``count`` sessions wait for the order lock (polls the lock table)."""
    for _ in range(2000):
        waiting = await admin.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND classid = $1::bigint::oid AND objid = ($2::int)::oid",
            APPEND_LOCK_CLASS,
            store.options.lock_key,
        )
        if waiting >= count:
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the append never queued for the order lock")


async def contended(store: PostgreSQLEventStore, lock_holder: Any, watcher: Any, call: Any) -> Any:
    """Run ``call()`` (an awaitable factory) while ``lock_holder`` holds the order lock: it
    queues, the lock is let go, and its result is returned."""
    async with order_lock_held(lock_holder, store):
        task = asyncio.ensure_future(call())
        await queued(watcher, store)
    return await task


def _s(store: PostgreSQLEventStore) -> str:
    return store.options.quoted_schema


async def marks(admin: Any, store: PostgreSQLEventStore) -> list[tuple[int, int | None]]:
    rows = await admin.fetch(f"SELECT pid, first_position FROM {_s(store)}.append_marks")
    return [(r[0], r[1]) for r in rows]


async def positions(store: PostgreSQLEventStore) -> list[int]:
    return [s.global_position async for s in store.read_all(ReadOptions())]


def _args(store: PostgreSQLEventStore, expected: int = ExpectedVersion.NO_STREAM) -> Any:
    aid = uuid4()
    _, prepared = prepare_append(store, aid, "Cart", added(aid), expected)
    return store._append_args(aid, "Cart", expected, prepared, False)


@pytest.fixture
async def lock_holder(pg_server: str) -> AsyncIterator[Any]:
    conn = await asyncpg.connect(pg_server)
    yield conn
    await conn.close()


@pytest.fixture
async def store(pg_url: str) -> AsyncIterator[PostgreSQLEventStore]:
    async with PostgreSQLEventStore(pg_url) as store:
        await store.initialize()
        yield store


async def test_an_append_that_waited_for_the_lock_defers_and_flushes_before_it_returns(
    store: PostgreSQLEventStore, admin: Any, lock_holder: Any
) -> None:
    aid = uuid4()
    await store.append_events(aid, "Cart", added(aid), 0)  # the lock free: no deferral
    assert await marks(admin, store) == []
    other = uuid4()
    result = await contended(
        store, lock_holder, admin, lambda: store.append_events(other, "Cart", added(other), 0)
    )
    assert result.global_position == 2
    # the deferred append made its connection's row, and cleared it before returning
    [(_, first)] = await marks(admin, store)
    assert first is None
    assert await positions(store) == [1, 2]
    assert await store.get_global_position() == 2


async def test_a_deferred_append_is_read_by_no_one_until_its_flush(
    store: PostgreSQLEventStore, admin: Any, lock_holder: Any, pg_server: str
) -> None:
    aid = uuid4()
    await store.append_events(aid, "Cart", added(aid), 0)
    writer = await asyncpg.connect(pg_server)
    try:
        args = _args(store)
        row = await contended(
            store, lock_holder, admin, lambda: writer.fetchrow(store._append_sql, *args, True)
        )
        assert (row[1], row[2]) == (2, True)  # committed, its flush owed
        # committed and visible to plain SQL, but not to any reader of the global order
        assert await admin.fetchval(f"SELECT count(*) FROM {_s(store)}.events") == 2
        assert await marks(admin, store) == [(await writer.fetchval("SELECT pg_backend_pid()"), 2)]
        assert await positions(store) == [1]
        assert await store.get_global_position() == 1
        backwards = ReadOptions(direction=ReadDirection.BACKWARD)
        assert [s.global_position async for s in store.read_all(backwards)] == [1]
        # an append after it is held back with it (readers never skip past the mark)
        third = uuid4()
        assert (await store.append_events(third, "Cart", added(third), 0)).global_position == 3
        assert await positions(store) == [1]
        await writer.execute(FLUSH_SQL.format(s=_s(store)))
        assert await positions(store) == [1, 2, 3]
        assert await store.get_global_position() == 3
    finally:
        await writer.close()


async def test_a_writer_that_died_before_its_flush_holds_readers_only_until_its_mark_is_stale(
    store: PostgreSQLEventStore, admin: Any, lock_holder: Any, pg_server: str
) -> None:
    writer = await asyncpg.connect(pg_server)
    args = _args(store)
    row = await contended(
        store, lock_holder, admin, lambda: writer.fetchrow(store._append_sql, *args, True)
    )
    assert row[2] is True
    await writer.close()  # gone without its flush: its mark stays
    assert await positions(store) == []
    # a waiting reader clears the stale mark (a synchronous commit: a flush of its own)
    assert await store.wait_for_events(0, timeout=30)
    assert await positions(store) == [1]
    assert [first for _, first in await marks(admin, store)] == [None]


async def test_calls_of_an_earlier_release_never_defer(
    store: PostgreSQLEventStore, admin: Any, lock_holder: Any, pg_server: str
) -> None:
    writer = await asyncpg.connect(pg_server)
    try:
        args = _args(store)
        earlier = store._append_sql.replace(", flush_owed", "").replace(", $16)", ")")
        row = await contended(store, lock_holder, admin, lambda: writer.fetchrow(earlier, *args))
        assert len(row) == 2 and row[1] == 1
        assert await marks(admin, store) == []
        assert await positions(store) == [1]
    finally:
        await writer.close()


async def test_a_batch_that_waited_for_the_lock_defers_and_flushes(
    store: PostgreSQLEventStore, admin: Any, lock_holder: Any
) -> None:
    batch = [_args(store) for _ in range(3)]
    rows = await contended(store, lock_holder, admin, lambda: store._append_batch(batch, 5.0))
    assert [r[1] for r in rows] == [1, 2, 3]
    [(_, first)] = await marks(admin, store)  # made by the deferral, cleared by its flush
    assert first is None
    assert await positions(store) == [1, 2, 3]
