"""Conformance under real concurrency: N connections racing on one database.

Each race opens ``concurrency`` connections with the subclass's opener (or, for a backend
without ``concurrent_connections``, runs its tasks over one backend) and releases the tasks
together, so a check-then-write done outside a transaction or lock shows up as a failure.
"""

from __future__ import annotations

import asyncio
import random
from uuid import UUID, uuid4

from .._exceptions import OptimisticLockError
from ..stores._types import AppendResult, ExpectedVersion, ReadOptions, StoredEvent
from ._base import (
    ConformanceBase,
    ids,
    race,
    raise_unexpected,
    read_all_list,
)
from ._events import AGGREGATE_TYPE, noted
from ._roles import RoleBackend, RoleOpener

__all__ = ["ConcurrencyConformance"]


class ConcurrencyConformance(ConformanceBase):
    """The guarantees that only show under concurrent writers, readers and workers."""

    #: Events each writer commits in the tailing-reader race.
    tail_events_per_writer: int = 40

    async def test_race_one_winner_per_expected_version(
        self, backend: RoleBackend, kit_opener: RoleOpener
    ) -> None:
        """N writers append to one stream with the same exact expected version: exactly one
        succeeds, every other gets OptimisticLockError, and the stream holds exactly the
        winner's events.

        Fix: check the version and insert in one transaction that serialises writers of a
        stream (a unique key on (stream, version), SELECT ... FOR UPDATE, or BEGIN IMMEDIATE),
        and map the conflict to OptimisticLockError.
        """
        aid = uuid4()
        await backend.events.append_events(aid, AGGREGATE_TYPE, noted(aid, 1), 0)
        async with self.connections(kit_opener, backend) as conns:
            batches = [noted(aid, 2, prefix=f"w{i}-") for i in range(len(conns))]
            results = await race(
                [
                    c.events.append_events(aid, AGGREGATE_TYPE, b, 1)
                    for c, b in zip(conns, batches, strict=True)
                ]
            )
        raise_unexpected(results, (OptimisticLockError,))
        winners = [i for i, r in enumerate(results) if isinstance(r, AppendResult)]
        assert len(winners) == 1, f"{len(winners)} of {len(results)} writers won"
        stream = await backend.events.get_events(aid, AGGREGATE_TYPE)
        assert stream.version == 3
        assert ids(stream.events[1:]) == ids(batches[winners[0]])
        assert await backend.events.get_global_position() >= 3
        assert len(await read_all_list(backend)) == 3

    async def test_race_one_creator_per_new_stream(
        self, backend: RoleBackend, kit_opener: RoleOpener
    ) -> None:
        """N writers create the same new stream with ExpectedVersion.NO_STREAM: exactly one
        succeeds and the others get OptimisticLockError.

        Fix: the same serialisation as for exact versions must hold for a stream that does not
        exist yet (there is no row to lock: rely on a unique key or a table/database lock).
        """
        aid = uuid4()
        async with self.connections(kit_opener, backend) as conns:
            batches = [noted(aid, 2, prefix=f"w{i}-") for i in range(len(conns))]
            results = await race(
                [
                    c.events.append_events(aid, AGGREGATE_TYPE, b, ExpectedVersion.NO_STREAM)
                    for c, b in zip(conns, batches, strict=True)
                ]
            )
        raise_unexpected(results, (OptimisticLockError,))
        winners = [i for i, r in enumerate(results) if isinstance(r, AppendResult)]
        assert len(winners) == 1, f"{len(winners)} of {len(results)} writers created the stream"
        stream = await backend.events.get_events(aid, AGGREGATE_TYPE)
        assert ids(stream.events) == ids(batches[winners[0]])
        assert len(await read_all_list(backend)) == 2

    async def test_race_any_writers_all_succeed(
        self, backend: RoleBackend, kit_opener: RoleOpener
    ) -> None:
        """N writers each append k batches to one stream with ExpectedVersion.ANY: all succeed,
        the stream's versions are exactly 1..total, and each writer's events keep their order.

        Fix: with ANY, compute the next version inside the writing transaction (retry
        internally on a unique-key conflict); never surface OptimisticLockError for ANY.
        """
        aid = uuid4()
        rounds, per_batch = 5, 2
        async with self.connections(kit_opener, backend) as conns:

            async def writer(conn: RoleBackend, index: int) -> list[UUID]:
                written: list[UUID] = []
                for r in range(rounds):
                    batch = noted(aid, per_batch, prefix=f"w{index}-r{r}-")
                    await conn.events.append_events(aid, AGGREGATE_TYPE, batch, ExpectedVersion.ANY)
                    written.extend(ids(batch))
                    await asyncio.sleep(0)
                return written

            results = await race([writer(c, i) for i, c in enumerate(conns)])
        raise_unexpected(results, ())
        total = len(conns) * rounds * per_batch
        stream = await backend.events.get_events(aid, AGGREGATE_TYPE)
        assert [e.aggregate_version for e in stream.events] == list(range(1, total + 1))
        assert stream.version == total
        stored = ids(stream.events)
        for written in results:
            assert isinstance(written, list)
            positions = [stored.index(event_id) for event_id in written]
            assert positions == sorted(positions), "a writer's events are out of order"
            for start in range(0, len(positions), per_batch):
                chunk = positions[start : start + per_batch]
                assert chunk == list(range(chunk[0], chunk[0] + per_batch)), (
                    "a batch was interleaved with another writer's events"
                )

    async def test_race_tailing_reader_sees_every_event_once(
        self, backend: RoleBackend, kit_opener: RoleOpener
    ) -> None:
        """While N writers commit hundreds of events, a reader that tails read_all resuming
        from the last global position it saw ends having seen every event exactly once, in
        strictly increasing positions.

        Fix: a position must never become visible after a higher one was visible (assign it
        at commit, serialise the assignment with the commit, or let read_all stop below any
        position whose transaction is still in flight).
        """
        per_writer = self.tail_events_per_writer
        written: set[UUID] = set()
        seen: list[StoredEvent] = []
        done = asyncio.Event()
        async with self.connections(kit_opener, backend, self.concurrency + 1) as conns:
            reader, writers = conns[0], conns[1:]

            async def write(conn: RoleBackend, index: int) -> None:
                rng = random.Random(index)
                aid = uuid4()
                version = 0
                while version < per_writer:
                    size = min(rng.randint(1, 3), per_writer - version)
                    batch = noted(aid, size, prefix=f"w{index}-{version}-")
                    await conn.events.append_events(aid, AGGREGATE_TYPE, batch, version)
                    written.update(ids(batch))
                    version += size
                    await asyncio.sleep(0)

            async def tail() -> None:
                position = 0
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 120
                while loop.time() < deadline:
                    finished = done.is_set()
                    got = 0
                    options = ReadOptions(from_position=position, limit=50)
                    async for stored in reader.events.read_all(options):
                        assert stored.global_position > position, (
                            f"read_all from {position} yielded position {stored.global_position}"
                        )
                        position = stored.global_position
                        seen.append(stored)
                        got += 1
                    if finished and got == 0:
                        return
                    if got == 0:
                        await reader.events.wait_for_events(position, 0.02)
                raise AssertionError("the tailing reader did not finish within 120s")

            tail_task = asyncio.ensure_future(tail())
            try:
                results = await race([write(c, i) for i, c in enumerate(writers)])
                raise_unexpected(results, ())
            finally:
                done.set()
                await tail_task
        seen_ids = ids(seen)
        assert len(written) == per_writer * (len(conns) - 1)
        missing = written - set(seen_ids)
        assert not missing, f"the tailing reader never saw {len(missing)} of {len(written)} events"
        assert len(seen_ids) == len(set(seen_ids)), "the tailing reader saw an event twice"
        positions = [s.global_position for s in seen]
        assert positions == sorted(set(positions))
        assert ids(await read_all_list(backend)) == seen_ids

    async def test_race_outbox_entry_claimed_once(
        self, backend: RoleBackend, kit_opener: RoleOpener
    ) -> None:
        """N workers claim pending outbox entries concurrently until none are left: no entry
        is handed to two workers, and every entry is handed to one.

        Fix: claim atomically (UPDATE ... WHERE claimed_until < now RETURNING, or SELECT ...
        FOR UPDATE SKIP LOCKED, or the claim inside a write transaction).
        """
        outbox = backend.outbox
        aid = uuid4()
        added = {await outbox.add_event(e) for e in noted(aid, 40)}
        async with self.connections(kit_opener, backend) as conns:

            async def worker(conn: RoleBackend, index: int) -> list[UUID]:
                claimed: list[UUID] = []
                for _ in range(100):
                    batch = await conn.outbox.get_pending_events(limit=3, worker_id=f"w{index}")
                    if not batch:
                        return claimed
                    for entry in batch:
                        assert entry.claimed_by in (None, f"w{index}")
                    claimed.extend(entry.id for entry in batch)
                    await asyncio.sleep(0)
                return claimed

            results = await race([worker(c, i) for i, c in enumerate(conns)])
        raise_unexpected(results, ())
        claims = [entry_id for result in results if isinstance(result, list) for entry_id in result]
        duplicates = len(claims) - len(set(claims))
        assert duplicates == 0, f"{duplicates} outbox entries were handed to two workers"
        assert set(claims) == added

    async def test_race_checkpoint_never_moves_backwards(
        self, backend: RoleBackend, kit_opener: RoleOpener
    ) -> None:
        """N connections update one projection's checkpoint concurrently with shuffled
        positions (some given, some looked up from the event id): a concurrent reader never sees it
        move backwards, and it ends at the highest.

        Fix: update with a condition (``... WHERE excluded.global_position >= global_position``
        in an upsert) rather than read-compare-write across statements.
        """
        aid = uuid4()
        events = noted(aid, 24)
        await backend.events.append_events(aid, AGGREGATE_TYPE, events, 0)
        stored = await read_all_list(backend)
        top = stored[-1]
        rng = random.Random(7)
        async with self.connections(kit_opener, backend) as conns:
            plans = [stored[i :: len(conns)] for i in range(len(conns))]
            for plan in plans:
                rng.shuffle(plan)

            async def updater(conn: RoleBackend, plan: list[StoredEvent]) -> None:
                for n, item in enumerate(plan):
                    position = item.global_position if n % 2 == 0 else None
                    await conn.checkpoints.update_checkpoint(
                        "kit-race", item.event_id, item.event_type, position
                    )
                    await asyncio.sleep(0)

            done = asyncio.Event()
            observed: list[int] = []

            async def observer() -> None:
                for _ in range(10_000):
                    position = await backend.checkpoints.get_position("kit-race")
                    if position is not None:
                        observed.append(position)
                    if done.is_set():
                        return
                    await asyncio.sleep(0)

            watching = asyncio.ensure_future(observer())
            try:
                results = await race([updater(c, p) for c, p in zip(conns, plans, strict=True)])
            finally:
                done.set()
                await watching
        raise_unexpected(results, ())
        assert observed == sorted(observed), "a reader saw the checkpoint move backwards"
        assert await backend.checkpoints.get_position("kit-race") == top.global_position
        assert await backend.checkpoints.get_checkpoint("kit-race") == top.event_id
