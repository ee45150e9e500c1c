"""Group commit: appends racing in ONE store share a transaction, each keeping its own outcome.

Most tests make batching deterministic with :func:`one_batch`: a first append waits in the
database for the global-order lock (held by the test), the appends started meanwhile queue in
the store, and when the test lets go they are sent together as one batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from eventsource import (
    ConnectionLostError,
    DatabaseLockedError,
    DuplicateEventError,
    ExpectedVersion,
    OptimisticLockError,
    ReadOptions,
    SerializationError,
)
from eventsource_postgres import PostgreSQLEventStore, PostgreSQLOutboxRepository
from eventsource_postgres._group_commit import GroupCommit
from eventsource_postgres._schema import APPEND_LOCK_CLASS

from .conftest import with_options
from .helpers import added, open_stores


def committer(store: PostgreSQLEventStore) -> GroupCommit[Any, Any]:
    assert store.group_commit is not None
    return store.group_commit


async def until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    for _ in range(500):
        if await condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting until {what}")


@contextlib.asynccontextmanager
async def one_batch(
    store: PostgreSQLEventStore, admin: Any, size: int
) -> AsyncIterator[asyncio.Task[Any]]:
    """Appends started in the block (``size`` of them) are sent as one batch when it ends.

    Yields the blocked first append (to a stream of its own)."""
    tx = admin.transaction()
    await tx.start()
    try:
        await admin.execute(
            "SELECT pg_advisory_xact_lock($1, $2)", APPEND_LOCK_CLASS, store.options.lock_key
        )
        plug_id = uuid4()
        plug = asyncio.create_task(store.append_events(plug_id, "Cart", added(plug_id), 0))

        async def plug_waits() -> bool:
            assert not plug.done(), plug
            return any(not a.holding for a in await store.in_flight_appends())

        await until(plug_waits, "the first append waits for the lock")
        yield plug

        async def all_queued() -> bool:
            return committer(store).queued == size

        await until(all_queued, f"{size} appends queue")
    finally:
        await tx.rollback()
    await plug


async def outcomes(tasks: list[asyncio.Task[Any]]) -> list[Any]:
    return list(await asyncio.gather(*tasks, return_exceptions=True))


def append(
    store: PostgreSQLEventStore, aid: UUID, events: list[Any], expected: int, **kw: Any
) -> asyncio.Task[Any]:
    return asyncio.create_task(store.append_events(aid, "Cart", events, expected, **kw))


async def test_lone_appends_are_never_batched(pg_url: str) -> None:
    async with open_stores(pg_url, 1) as (store,):
        for _ in range(5):
            aid = uuid4()
            await store.append_events(aid, "Cart", added(aid), 0)
        assert committer(store).batches == 0
        assert await store.get_global_position() == 5


async def test_racing_appends_from_one_store_share_transactions(pg_url: str) -> None:
    async with open_stores(pg_url, 1, pool_max=4) as (store,):
        aids = [uuid4() for _ in range(200)]
        results = await asyncio.gather(
            *(store.append_events(a, "Cart", added(a, 2), 0) for a in aids)
        )
        gc = committer(store)
        assert gc.batches > 0 and gc.largest_batch > 1, vars(gc)
        assert sorted(r.global_position for r in results) == list(range(2, 401, 2))
        positions = [e.global_position async for e in store.read_all()]
        assert positions == list(range(1, 401))


async def _all(store: PostgreSQLEventStore) -> list[Any]:
    return [e async for e in store.read_all()]


async def test_exact_version_race_inside_one_batch_has_one_winner(pg_url: str, admin: Any) -> None:
    async with open_stores(pg_url, 1) as (store,):
        aid = uuid4()
        await store.append_events(aid, "Cart", added(aid), 0)
        async with one_batch(store, admin, 10):
            tasks = [append(store, aid, added(aid, 2, start=2), 1) for _ in range(10)]
        results = await outcomes(tasks)
        assert committer(store).largest_batch == 10
        winners = [r for r in results if not isinstance(r, BaseException)]
        losers = [r for r in results if isinstance(r, OptimisticLockError)]
        assert len(winners) == 1 and len(losers) == 9, results
        assert winners[0].new_version == 3
        assert {(e.expected_version, e.actual_version) for e in losers} == {(1, 3)}
        assert (await store.get_events(aid, "Cart")).version == 3
        assert [e.global_position for e in await _all(store)] == [1, 2, 3, 4]


async def test_appends_to_one_stream_in_one_batch_see_each_other(pg_url: str, admin: Any) -> None:
    async with open_stores(pg_url, 1) as (store,):
        aid, other = uuid4(), uuid4()
        async with one_batch(store, admin, 5):
            tasks = [
                append(store, aid, added(aid, 1), 0),  # creates the stream
                append(store, aid, added(aid, 1, start=2), 1),  # sees it: version 1
                append(store, aid, added(aid, 1), 0),  # no longer new
                append(store, aid, added(aid, 1, start=3), ExpectedVersion.STREAM_EXISTS),
                append(store, other, added(other, 1), ExpectedVersion.STREAM_EXISTS),
            ]
        first, second, again, exists, missing = await outcomes(tasks)
        assert (first.new_version, second.new_version, exists.new_version) == (1, 2, 3)
        assert isinstance(again, OptimisticLockError) and again.actual_version == 2
        assert isinstance(missing, OptimisticLockError) and missing.actual_version == 0
        assert [e.aggregate_version for e in (await store.get_events(aid, "Cart")).events] == [
            1,
            2,
            3,
        ]


async def test_any_appends_to_one_stream_in_one_batch_are_contiguous(
    pg_url: str, admin: Any
) -> None:
    async with open_stores(pg_url, 1) as (store,):
        aid = uuid4()
        async with one_batch(store, admin, 20):
            tasks = [append(store, aid, added(aid, 3), ExpectedVersion.ANY) for _ in range(20)]
        results = await outcomes(tasks)
        assert committer(store).largest_batch == 20
        assert sorted(r.new_version for r in results) == list(range(3, 61, 3))
        stream = await store.get_events(aid, "Cart")
        assert [e.aggregate_version for e in stream.events] == list(range(1, 61))
        # Each append's three events are contiguous in the global order too.
        position = {e.event.aggregate_version: e.global_position for e in await _all(store)}
        for r in results:
            v = r.new_version
            assert [position[v - 2], position[v - 1], position[v]] == [
                r.global_position - 2,
                r.global_position - 1,
                r.global_position,
            ]


async def test_duplicate_event_id_fails_only_its_append(pg_url: str, admin: Any) -> None:
    async with open_stores(pg_url, 1) as (store,):
        stored_id = uuid4()
        old = uuid4()
        await store.append_events(old, "Cart", added(old, event_id=stored_id), 0)
        a, b, c, d = (uuid4() for _ in range(4))
        shared = uuid4()
        async with one_batch(store, admin, 4):
            tasks = [
                append(store, a, added(a, 1, event_id=shared), 0),
                append(store, b, [*added(b, 1), *added(b, 1, start=2, event_id=shared)], 0),
                append(store, c, added(c, 1, event_id=stored_id), 0),
                append(store, d, added(d, 2), 0),
            ]
        ra, rb, rc, rd = await outcomes(tasks)
        assert isinstance(rb, DuplicateEventError) and rb.event_id == shared
        assert isinstance(rc, DuplicateEventError) and rc.event_id == stored_id
        assert (ra.new_version, rd.new_version) == (1, 2)
        assert await store.get_stream_version(b, "Cart") == 0  # none of b's events
        assert await store.get_stream_version(c, "Cart") == 0
        assert [e.global_position for e in await _all(store)] == [1, 2, 3, 4, 5]


async def test_retries_in_a_batch_get_the_original_result_and_fail_no_other_append(
    pg_url: str, admin: Any
) -> None:
    """Retries of a stored append (exact version, ANY) and of an append earlier in the same
    batch share a batch with fresh appends: each retry gets its original result, the fresh
    appends are written, the batch is one transaction, and a duplicate id elsewhere is still
    refused for its append alone."""
    async with open_stores(pg_url, 1) as (store,):
        kept = uuid4()
        stored = added(kept, 2)
        original = await store.append_events(kept, "Cart", stored, 0)
        a, b, c = uuid4(), uuid4(), uuid4()
        twice = added(b, 2)
        async with one_batch(store, admin, 6) as plug:
            tasks = [
                append(store, kept, stored, 0),
                append(store, a, added(a, 1), 0),
                append(store, b, twice, 0),
                append(store, kept, stored, ExpectedVersion.ANY),
                append(store, b, twice, 0),  # a retry of the append two places before it
                append(store, c, [stored[0].model_copy(update={"aggregate_id": c})], 0),
            ]
        retry, fresh, first, any_retry, again, elsewhere = await outcomes(tasks)
        assert committer(store).largest_batch == 6
        assert retry == any_retry == original
        assert fresh.new_version == 1 and first.new_version == 2
        assert again == first
        assert (
            isinstance(elsewhere, DuplicateEventError) and elsewhere.event_id == stored[0].event_id
        )
        assert (await plug).global_position == 3
        positions = [e.global_position for e in await _all(store)]
        assert positions == [1, 2, 3, 4, 5, 6]  # kept 2, plug 1, a 1, b 2: nothing twice
        assert await store.get_stream_version(c, "Cart") == 0


async def test_payload_postgres_refuses_fails_only_its_append(
    pg_url: str, admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A payload the database refuses (core's checks keep such payloads out, so one is made
    here by corrupting the JSON text after them) fails the batch as a whole, so each append
    reruns alone: only the bad one fails, with a SerializationError."""
    async with open_stores(pg_url, 1) as (store,):
        a, bad, c = uuid4(), uuid4(), uuid4()
        original = store._append_args

        def corrupting(aggregate_id: UUID, *args: Any) -> Any:
            built = original(aggregate_id, *args)
            if aggregate_id != bad:
                return built
            return built._replace(payloads=[p[:-1] for p in built.payloads])  # cut the "}"

        monkeypatch.setattr(store, "_append_args", corrupting)
        async with one_batch(store, admin, 3):
            tasks = [
                append(store, a, added(a), 0),
                append(store, bad, added(bad), 0),
                append(store, c, added(c), 0),
            ]
        ra, rbad, rc = await outcomes(tasks)
        assert isinstance(rbad, SerializationError) and "json" in str(rbad).lower(), rbad
        assert committer(store).largest_batch == 3
        assert (ra.new_version, rc.new_version) == (1, 1)
        assert await store.get_stream_version(bad, "Cart") == 0
        assert [e.global_position for e in await _all(store)] == [1, 2, 3]


async def test_outbox_rows_only_for_committed_appends(pg_url: str, admin: Any) -> None:
    async with open_stores(pg_url, 1) as (store,):
        contended = uuid4()
        quiet = [uuid4() for _ in range(3)]
        async with one_batch(store, admin, 9):
            racing = [
                append(store, contended, added(contended, 2), 0, outbox=True) for _ in range(5)
            ]
            own = [append(store, q, added(q, 2), 0, outbox=True) for q in quiet]
            plain = uuid4()
            no_outbox = append(store, plain, added(plain, 2), 0)
        results = await outcomes([*racing, *own, no_outbox])
        assert sum(not isinstance(r, BaseException) for r in results[:5]) == 1
        assert committer(store).largest_batch == 9
        committed_ids = {
            e.event_id for e in await _all(store) if e.event.aggregate_id in {contended, *quiet}
        }
        assert len(committed_ids) == 8
        rows = await store.pool.fetch(f'SELECT event_id FROM "{store.schema}".outbox ORDER BY seq')
        assert {r["event_id"] for r in rows} == committed_ids
        assert len(rows) == 8
        assert (await PostgreSQLOutboxRepository(store).get_stats()).pending_count == 8
        assert not isinstance(results[-1], BaseException)


async def test_tailing_reader_never_skips_while_batched_writers_commit(pg_url: str) -> None:
    writers, appends, per_append = 8, 150, 2
    total = writers * appends * per_append
    async with open_stores(pg_url, 2, pool_max=4) as (writer_store, reader_store):
        reader_store.page_size = 97
        seen: list[int] = []
        shared = uuid4()

        async def writer(n: int) -> None:
            for i in range(appends):
                aid = shared if i % 5 == 0 else uuid4()
                await writer_store.append_events(
                    aid, "Cart", added(aid, per_append), ExpectedVersion.ANY
                )

        async def reader() -> None:
            last = 0
            deadline = time.monotonic() + 60
            while len(seen) < total and time.monotonic() < deadline:
                async for stored in reader_store.read_all(ReadOptions(from_position=last)):
                    seen.append(stored.global_position)
                    last = stored.global_position
                await reader_store.wait_for_events(last, 1.0)

        await asyncio.gather(reader(), *(writer(n) for n in range(writers)))
        gc = committer(writer_store)
        assert gc.batches > 0 and gc.largest_batch > 1, vars(gc)
        assert seen == list(range(1, total + 1)), "the tailing reader skipped or repeated events"
        shared_stream = await reader_store.get_events(shared, "Cart")
        assert [e.aggregate_version for e in shared_stream.events] == list(
            range(1, writers * appends // 5 * per_append + 1)
        )


@contextlib.asynccontextmanager
async def blocked_batch(
    store: PostgreSQLEventStore, admin: Any, pg_server: str, make: Callable[[UUID], list[Any]]
) -> AsyncIterator[tuple[list[asyncio.Task[Any]], Any, int]]:
    """A batch of the appends ``make(blocking_id)`` starts, sent and then stuck on a row a
    writer that bypassed the lock inserted (event id ``blocking_id``, not committed yet).

    Yields the tasks, that writer's transaction (commit or roll it back) and the batch's pid."""
    blocking_id = uuid4()
    rogue = await asyncpg.connect(pg_server)
    try:
        async with one_batch(store, admin, 3):
            tasks = make(blocking_id)
            rogue_tx = rogue.transaction()
            await rogue_tx.start()
            await rogue.execute(
                f'INSERT INTO "{store.schema}".events (global_position, event_id, aggregate_id, '
                "aggregate_type, aggregate_version, event_type, event_version, occurred_at, "
                "payload) VALUES (1000000, $1, $2, 'Rogue', 1, 'Rogue', 1, now(), '{}')",
                blocking_id,
                uuid4(),
            )

        async def batch_pid() -> int | None:
            pid: int | None = await admin.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE '%eventsource_append_batch%'"
            )
            return pid

        async def batch_waits() -> bool:
            return await batch_pid() is not None

        await until(batch_waits, "the batch waits for the row")
        pid = await batch_pid()
        assert pid is not None
        yield tasks, rogue_tx, pid
    finally:
        await rogue.close()  # rolls back a transaction still open


def trio(
    store: Any, a: UUID, b: UUID, c: UUID, *, last_expected: int = 0
) -> Callable[[UUID], list[asyncio.Task[Any]]]:
    """A ``make`` for :func:`blocked_batch`: an append to ``a`` whose event id is the blocking
    one, then two-event appends to ``b`` and ``c`` (the latter at ``last_expected``)."""

    def make(blocking: UUID) -> list[asyncio.Task[Any]]:
        return [
            append(store, a, added(a, 1, event_id=blocking), 0),
            append(store, b, added(b, 2), 0),
            append(store, c, added(c, 2), last_expected),
        ]

    return make


async def test_caller_cancelled_in_flight_does_not_break_its_batch(
    pg_url: str, pg_server: str, admin: Any
) -> None:
    async with open_stores(pg_url, 1) as (store,):
        a, b, c = uuid4(), uuid4(), uuid4()

        make = trio(store, a, b, c)

        async with blocked_batch(store, admin, pg_server, make) as (tasks, rogue_tx, _pid):
            tasks[2].cancel()
            with pytest.raises(asyncio.CancelledError):
                await tasks[2]
            await rogue_tx.rollback()
            ra, rb = await outcomes(tasks[:2])
        assert (ra.new_version, rb.new_version) == (1, 2)
        # The cancelled append was already sent: it committed with the others.
        assert await store.get_stream_version(c, "Cart") == 2
        assert committer(store).largest_batch == 3
        last = uuid4()
        assert (await store.append_events(last, "Cart", added(last), 0)).global_position == 7


async def test_caller_cancelled_while_queued_is_never_written(pg_url: str, admin: Any) -> None:
    async with open_stores(pg_url, 1) as (store,):
        a, b = uuid4(), uuid4()
        async with one_batch(store, admin, 2):
            kept, dropped = append(store, a, added(a), 0), append(store, b, added(b), 0)
            await asyncio.sleep(0)  # both queued
            dropped.cancel()
        assert (await kept).global_position == 2
        with pytest.raises(asyncio.CancelledError):
            await dropped
        assert await store.get_stream_version(b, "Cart") == 0
        assert committer(store).queued == 0


async def test_writer_bypassing_the_lock_fails_only_the_append_it_collides_with(
    pg_url: str, pg_server: str, admin: Any
) -> None:
    async with open_stores(pg_url, 1) as (store,):
        a, b, c = uuid4(), uuid4(), uuid4()

        make = trio(store, a, b, c, last_expected=ExpectedVersion.ANY)

        async with blocked_batch(store, admin, pg_server, make) as (tasks, rogue_tx, _pid):
            await rogue_tx.commit()  # the batch hits a unique violation: each append reruns alone
            ra, rb, rc = await outcomes(tasks)
        assert isinstance(ra, DuplicateEventError)
        assert (rb.new_version, rc.new_version) == (2, 2)
        assert await store.get_stream_version(a, "Cart") == 0


async def test_batch_connection_lost_reaches_every_caller(
    pg_url: str, pg_server: str, admin: Any
) -> None:
    async with open_stores(pg_url, 1) as (store,):
        a, b, c = uuid4(), uuid4(), uuid4()

        make = trio(store, a, b, c)

        async with blocked_batch(store, admin, pg_server, make) as (tasks, _rogue_tx, pid):
            await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
            results = await outcomes(tasks)
        assert all(isinstance(r, ConnectionLostError) for r in results), results
        assert len({id(r) for r in results}) == 3  # each caller its own error
        for aid in (a, b, c):
            assert await store.get_stream_version(aid, "Cart") == 0
        retried = await store.append_events(b, "Cart", added(b, 2), 0)
        assert retried.new_version == 2


async def test_queued_appends_keep_their_lock_timeout(pg_url: str, admin: Any) -> None:
    async with open_stores(pg_url, 1, lock_timeout=2.0, lock_warn_after=60) as (store,):
        tx = admin.transaction()
        await tx.start()
        try:
            await admin.execute(
                "SELECT pg_advisory_xact_lock($1, $2)", APPEND_LOCK_CLASS, store.options.lock_key
            )
            started = time.monotonic()
            aids = [uuid4() for _ in range(4)]
            results = await asyncio.gather(
                *(store.append_events(x, "Cart", added(x), 0) for x in aids),
                return_exceptions=True,
            )
            elapsed = time.monotonic() - started
        finally:
            await tx.rollback()
        assert all(isinstance(r, DatabaseLockedError) for r in results), results
        # Queued behind the first one, the others still give up about lock_timeout after
        # they started, not one lock_timeout after another (4 x 2 s = 8 s): a bound halfway
        # between, so a loaded machine does not fail it.
        assert elapsed < 6.0, elapsed
        assert await store.get_global_position() == 0


async def test_group_commit_can_be_turned_off(pg_url: str) -> None:
    async with open_stores(with_options(pg_url, group_commit="false"), 1) as (store,):
        assert store.group_commit is None
        aid = uuid4()
        await asyncio.gather(
            *(store.append_events(aid, "Cart", added(aid), ExpectedVersion.ANY) for _ in range(8))
        )
        assert await store.get_stream_version(aid, "Cart") == 8
