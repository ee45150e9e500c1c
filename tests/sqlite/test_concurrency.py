"""Single writer, concurrent readers, the typed locked error, wakeups and transactions, each
raced on real connections to one file."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import aiosqlite
import pytest

from eventsource import DatabaseLockedError, OptimisticLockError, ReadOptions
from eventsource_sqlite import SQLiteEventStore, SQLiteOutboxRepository

from ._events import noted


@pytest.fixture
async def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "c.db"
    async with SQLiteEventStore(path) as store:
        await store.initialize()
    return path


@pytest.fixture
async def stores(db_path: Path) -> AsyncIterator[list[SQLiteEventStore]]:
    """Eight stores (eight connections) on one file."""
    opened = [SQLiteEventStore(db_path) for _ in range(8)]
    for store in opened:
        await store.connect()
    yield opened
    for store in opened:
        await store.close()


async def test_an_append_is_one_thread_hop(db_path: Path) -> None:
    async with SQLiteEventStore(db_path) as store:
        conn: Any = store.connection
        original = conn._execute
        hops = 0

        async def counting(fn: Any, *args: Any, **kwargs: Any) -> Any:
            nonlocal hops
            hops += 1
            return await original(fn, *args, **kwargs)

        conn._execute = counting
        aid = uuid4()
        await store.append_events(aid, "Note", [noted(aid, n=i) for i in range(5)], 0, outbox=True)
        assert hops == 1
        await store.get_events(aid, "Note")
        assert hops == 2


async def test_writers_queue_without_errors(stores: list[SQLiteEventStore]) -> None:
    """Eight connections append 25 times each to one stream with ANY: all 200 land, in one
    gapless order, none fails with a lock error."""
    aid = uuid4()

    async def writer(store: SQLiteEventStore, k: int) -> None:
        for i in range(25):
            await store.append_events(aid, "Note", [noted(aid, n=k * 100 + i)], -1)

    await asyncio.gather(*(writer(s, k) for k, s in enumerate(stores)))
    stream = await stores[0].get_events(aid, "Note")
    assert stream.version == 200
    assert [e.aggregate_version for e in stream.events] == list(range(1, 201))
    assert len({e.n for e in stream.events}) == 200  # type: ignore[attr-defined]


async def test_one_winner_per_expected_version_across_connections(
    stores: list[SQLiteEventStore],
) -> None:
    aid = uuid4()
    for version in range(5):
        results = await asyncio.gather(
            *(s.append_events(aid, "Note", [noted(aid)], version) for s in stores),
            return_exceptions=True,
        )
        wins = [r for r in results if not isinstance(r, BaseException)]
        assert len(wins) == 1
        assert all(isinstance(r, OptimisticLockError) for r in results if r not in wins)
    assert await stores[0].get_stream_version(aid, "Note") == 5


async def test_a_tailing_reader_never_skips(stores: list[SQLiteEventStore]) -> None:
    """Writers on seven connections; a reader on the eighth resumes from the last position it
    saw and must see every event exactly once, in increasing position."""
    reader, writers = stores[0], stores[1:]
    total = len(writers) * 20
    seen: list[int] = []

    async def write(store: SQLiteEventStore) -> None:
        for _ in range(20):
            aid = uuid4()
            await store.append_events(aid, "Note", [noted(aid)], 0)

    async def tail() -> None:
        last = 0
        while len(seen) < total:
            async for stored in reader.read_all(ReadOptions(from_position=last)):
                seen.append(stored.global_position)
                last = stored.global_position
            await reader.wait_for_events(last, 0.2)

    await asyncio.wait_for(asyncio.gather(tail(), *(write(s) for s in writers)), 60)
    assert seen == list(range(1, total + 1))


async def test_readers_do_not_wait_for_a_writer(db_path: Path) -> None:
    """In WAL mode a reader answers while another connection holds the write lock with
    uncommitted rows, and sees none of them: with ``busy_timeout=0`` a read that had to wait
    for the lock would fail with DatabaseLockedError at once."""
    async with SQLiteEventStore(db_path, busy_timeout=0) as store:
        aid = uuid4()
        await store.append_events(aid, "Note", [noted(aid)], 0)
        blocker = sqlite3.connect(db_path, isolation_level=None)
        try:
            blocker.execute("BEGIN IMMEDIATE")
            blocker.execute(
                "INSERT INTO events (event_id, aggregate_id, aggregate_type, aggregate_version,"
                " event_type, event_version, occurred_at, stored_at, payload)"
                " VALUES ('x', 'y', 'Note', 1, 'SqlNoted', 1, 0, 0, '{}')"
            )
            assert await store.get_global_position() == 1
            assert [e.global_position async for e in store.read_all()] == [1]
            assert (await store.get_events(aid, "Note")).version == 1
        finally:
            blocker.rollback()
            blocker.close()


async def test_locked_database_error_is_typed_both_ways(db_path: Path) -> None:
    async with SQLiteEventStore(db_path, busy_timeout=0) as store:
        blocker = sqlite3.connect(db_path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            aid = uuid4()
            # busy_timeout=0: fail at once (the blocker never lets go, so any wait would end
            # in the same error; the pragma is what makes it immediate)
            with pytest.raises(DatabaseLockedError) as info:
                await store.append_events(aid, "Note", [noted(aid)], 0)
            pragma = await store.connection.execute("PRAGMA busy_timeout")
            assert await pragma.fetchone() == (0,)
            assert isinstance(info.value, aiosqlite.OperationalError)
            assert isinstance(info.value, sqlite3.OperationalError)
            assert "database is locked" in str(info.value)
            assert str(db_path) in str(info.value)
        finally:
            blocker.rollback()
            blocker.close()
        assert await store.get_stream_version(aid, "Note") == 0  # nothing half written
        await store.append_events(aid, "Note", [noted(aid)], 0)  # and the store carries on


async def test_wait_for_events_is_woken_by_a_writer_of_this_process(
    stores: list[SQLiteEventStore],
) -> None:
    """A commit by a store of this process wakes the waiters of every store on the file
    (no polling involved: the future below is resolved only by that wakeup)."""
    waiter, writer = stores[0], stores[1]
    loop = asyncio.get_running_loop()
    woken: asyncio.Future[None] = loop.create_future()
    waiter.shared.add_waiter(loop, woken)
    try:
        assert not woken.done()
        aid = uuid4()
        await writer.append_events(aid, "Note", [noted(aid)], 0)
        await asyncio.wait_for(woken, 60)  # resolved by the writer's commit, never by a poll
    finally:
        waiter.shared.remove_waiter(woken)
    # The waits themselves: True once there is an event, False after the timeout.
    assert await waiter.wait_for_events(0, 60.0)
    assert not await waiter.wait_for_events(1, 0.05)  # and times out when nothing comes


async def test_append_joins_a_callers_transaction_on_its_connection(db_path: Path) -> None:
    """Inside the caller's open transaction an append writes within it and commits nothing."""
    async with SQLiteEventStore(db_path) as store:
        conn = store.connection
        aid = uuid4()
        await conn.execute("BEGIN IMMEDIATE")
        await store.append_events(aid, "Note", [noted(aid)], 0, outbox=True)
        assert conn.in_transaction
        with sqlite3.connect(db_path) as other:
            assert other.execute("SELECT COUNT(*) FROM events").fetchone() == (0,)
        await conn.rollback()
        assert await store.get_global_position() == 0
        with pytest.raises(OptimisticLockError):  # a failed append undoes only its own part
            await conn.execute("BEGIN IMMEDIATE")
            await store.append_events(aid, "Note", [noted(aid)], 0)
            await store.append_events(aid, "Note", [noted(aid)], 0)
        await conn.commit()
        assert await store.get_stream_version(aid, "Note") == 1


async def test_append_with_outbox_is_atomic(db_path: Path) -> None:
    async with SQLiteEventStore(db_path) as store:
        aid = uuid4()
        events = [noted(aid, n=i) for i in range(3)]
        await store.append_events(aid, "Note", events, 0, outbox=True)
        with pytest.raises(OptimisticLockError):
            await store.append_events(aid, "Note", [noted(aid)], 0, outbox=True)
        pending = await SQLiteOutboxRepository(store).get_pending_events(limit=10)
    assert [p.event_id for p in pending] == [e.event_id for e in events]
    assert [p.event_data["n"] for p in pending] == [0, 1, 2]


@pytest.mark.parametrize("isolation", [None, ""], ids=["autocommit", "implicit-begin"])
async def test_outbox_never_commits_the_callers_transaction(
    db_path: Path, isolation: str | None
) -> None:
    """The guide's pattern: the caller writes its own row and the outbox entry in one
    transaction; the repository must not commit it (rollback removes both)."""
    async with aiosqlite.connect(db_path, isolation_level=isolation) as db:
        await db.execute("CREATE TABLE orders (id TEXT)")
        await db.commit()
        repo = SQLiteOutboxRepository(db)
        aid = uuid4()
        for outcome in ("rollback", "commit"):
            if isolation is None:
                await db.execute("BEGIN")
            await db.execute("INSERT INTO orders VALUES (?)", (outcome,))
            await repo.add_event(noted(aid))
            assert db.in_transaction
            with sqlite3.connect(db_path) as other:  # nothing visible before the caller commits
                assert other.execute("SELECT COUNT(*) FROM event_outbox").fetchone() == (0,)
            await (db.rollback() if outcome == "rollback" else db.commit())
        # with no transaction open the repository commits its own write at once
        await repo.add_event(noted(aid))
        assert not db.in_transaction
    with sqlite3.connect(db_path) as other:
        assert other.execute("SELECT id FROM orders").fetchall() == [("commit",)]
        assert other.execute("SELECT COUNT(*) FROM event_outbox").fetchone() == (2,)


async def test_outbox_claims_race_across_connections(db_path: Path) -> None:
    async with SQLiteEventStore(db_path) as store:
        for _ in range(60):
            aid = uuid4()
            await store.append_events(aid, "Note", [noted(aid)], 0, outbox=True)
    connections = [await aiosqlite.connect(db_path) for _ in range(4)]
    try:
        repos = [SQLiteOutboxRepository(db) for db in connections]
        claimed: list[Any] = []

        async def worker(repo: SQLiteOutboxRepository, name: str) -> None:
            while batch := await repo.get_pending_events(limit=7, worker_id=name):
                claimed.extend(batch)

        await asyncio.gather(*(worker(r, f"w{i}") for i, r in enumerate(repos)))
    finally:
        for db in connections:
            await db.close()
    ids = [entry.id for entry in claimed]
    assert len(ids) == 60 and len(set(ids)) == 60
