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


async def deferred(store: PostgreSQLEventStore, lock_holder: Any, admin: Any, writer: Any) -> Any:
    """A one-event append on ``writer`` (a plain connection) that waited for the order lock,
    so it committed with its flush deferred; its row (current_version, last_position,
    flush_owed). The caller runs FLUSH_SQL, or closes ``writer`` without it."""
    args = _args(store)
    row = await contended(
        store, lock_holder, admin, lambda: writer.fetchrow(store._append_sql, *args, True)
    )
    assert row[2] is True  # its flush owed
    return row


@pytest.fixture
async def lock_holder(pg_server: str) -> AsyncIterator[Any]:
    conn = await asyncpg.connect(pg_server)
    yield conn
    await conn.close()


@pytest.fixture
async def store(pg_url: str) -> AsyncIterator[PostgreSQLEventStore]:
    async with PostgreSQLEventStore(pg_url) as store:
        await store.initialize()
        store.stale_mark_after = 3600.0  # a held mark stays held; stale tests set 0
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
        row = await deferred(store, lock_holder, admin, writer)
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
    await deferred(store, lock_holder, admin, writer)
    await writer.close()  # gone without its flush: its mark stays
    assert await positions(store) == []
    assert await store.wait_for_events(0, timeout=0.05) is False  # held, not yet stale
    # once stale, a waiting reader clears the mark (a synchronous commit: a flush of its own)
    store.stale_mark_after = 0.0
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


async def _abandoned_deferral(
    store: PostgreSQLEventStore, admin: Any, lock_holder: Any, pg_server: str
) -> None:
    """A deferred append whose writer went away before its flush: its mark stays (and is
    stale at once: the store clears marks of any age)."""
    store.stale_mark_after = 0.0
    writer = await asyncpg.connect(pg_server)
    await deferred(store, lock_holder, admin, writer)
    await writer.close()


async def _eventually(check: Any) -> None:
    for _ in range(3000):
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never happened")


async def test_a_reader_that_never_waits_clears_a_stale_mark_at_the_end_of_its_read(
    store: PostgreSQLEventStore, admin: Any, lock_holder: Any, pg_server: str
) -> None:
    await _abandoned_deferral(store, admin, lock_holder, pg_server)

    async def read_through() -> bool:
        return await positions(store) == [1]

    await _eventually(read_through)  # held while the mark is fresh, then read past it
    assert [first for _, first in await marks(admin, store)] == [None]


async def test_the_head_and_a_backward_read_clear_a_stale_mark(
    store: PostgreSQLEventStore, admin: Any, lock_holder: Any, pg_server: str
) -> None:
    await _abandoned_deferral(store, admin, lock_holder, pg_server)

    async def head_moved() -> bool:
        return await store.get_global_position() == 1

    await _eventually(head_moved)
    await _abandoned_deferral(store, admin, lock_holder, pg_server)
    backwards = ReadOptions(direction=ReadDirection.BACKWARD)

    async def backward_sees_it() -> bool:
        return [s.global_position async for s in store.read_all(backwards)] == [2, 1]

    await _eventually(backward_sees_it)


async def test_a_failed_flush_is_confirmed_and_redone_on_another_connection(
    store: PostgreSQLEventStore, admin: Any, lock_holder: Any
) -> None:
    s = _s(store)
    # the first clearing of a mark fails (a sequence: not rolled back with the error)
    await admin.execute(
        f"""
        CREATE SEQUENCE {s}.sabotage;
        CREATE FUNCTION {s}.fail_first_flush() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.first_position IS NOT NULL AND nextval('{s}.sabotage') = 1 THEN
                RAISE EXCEPTION 'flush sabotaged';
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER fail_first_flush BEFORE UPDATE ON {s}.append_marks
            FOR EACH ROW EXECUTE FUNCTION {s}.fail_first_flush();
        """
    )
    aid = uuid4()
    result = await contended(
        store, lock_holder, admin, lambda: store.append_events(aid, "Cart", added(aid), 0)
    )
    assert result.global_position == 1 and result.new_version == 1
    assert await admin.fetchval(f"SELECT last_value FROM {s}.sabotage") >= 1
    # the writer's own mark may not have been cleared: readers clear it once it is stale
    store.stale_mark_after = 0.0

    async def readable() -> bool:
        return await positions(store) == [1]

    await _eventually(readable)


async def test_an_export_stops_short_of_a_deferred_append_until_its_flush(
    store: PostgreSQLEventStore, admin: Any, lock_holder: Any, pg_server: str
) -> None:
    aid = uuid4()
    await store.append_events(aid, "Cart", added(aid), 0)
    writer = await asyncpg.connect(pg_server)
    try:
        await deferred(store, lock_holder, admin, writer)
        assert [r.global_position for r in await store.export_rows(0, 10)] == [1]
        await writer.execute(FLUSH_SQL.format(s=_s(store)))
        assert [r.global_position for r in await store.export_rows(0, 10)] == [1, 2]
    finally:
        await writer.close()


async def test_a_deferred_appends_notification_is_not_trusted_until_the_head_passes_it(
    store: PostgreSQLEventStore, admin: Any, lock_holder: Any, pg_server: str
) -> None:
    """Deferred appends announce ``last:first``; a waiter trusts announced positions only
    below the first of those until it has seen the readable head pass them."""
    listener = store._listener
    assert await listener.start()
    writer = await asyncpg.connect(pg_server)
    try:
        await deferred(store, lock_holder, admin, writer)

        async def announced() -> bool:
            return listener.position == 1

        await _eventually(announced)
        assert listener.readable == 0  # announced, but held
        await writer.execute(FLUSH_SQL.format(s=_s(store)))
        assert await store.wait_for_events(0, timeout=30)
        assert listener.readable == 1
    finally:
        await writer.close()
    listener._on_notify(None, 0, "", "not a position")  # ignored, as before
    assert listener.readable == 1
