"""Conformance of ordered outbox claims (``get_pending_events(..., per_aggregate_order=True)``):
one entry per aggregate out at a time, published in add order, raced between real connections."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from .._exceptions import InvalidArgumentError
from ..repositories._entries import OutboxStatus
from ._base import ConformanceBase
from ._events import noted
from ._outbox import PAST, SHORT, manual_clock
from ._roles import RoleBackend, RoleOpener

__all__ = ["OutboxOrderConformance"]

#: The race's lease: far longer than the test, so no claim runs out while it is held.
_LONG = timedelta(hours=1)


async def _add(backend: RoleBackend, aggregates: list[UUID], rounds: int) -> dict[UUID, list[UUID]]:
    """``rounds`` entries per aggregate, interleaved; each aggregate's entry ids in add order."""
    added: dict[UUID, list[UUID]] = defaultdict(list)
    for r in range(rounds):
        for aid in aggregates:
            (event,) = noted(aid, 1, prefix=f"o{r}-")
            added[aid].append(await backend.outbox.add_event(event))
    return added


class OutboxOrderConformance(ConformanceBase):
    """Ordered claims per aggregate (capability ``outbox_aggregate_order``)."""

    async def test_ordered_claim_hands_out_oldest_per_aggregate(self, backend: RoleBackend) -> None:
        """An ordered claim returns only the oldest pending entry of each aggregate; the next
        one becomes claimable once it is published, not while it is claimed, waiting for its
        retry, or back after its lease (then it is claimed again, not its successor); a
        failed entry no longer holds its aggregate back. A non-bool switch is refused.

        Fix: claim an entry only when no entry of its aggregate with a smaller outbox order
        is still pending (``NOT EXISTS (... e.seq < o.seq AND e.status = 'pending')``),
        whatever that entry's claim or retry time.
        """
        self.require(backend, "outbox_aggregate_order")
        clock = manual_clock(backend)
        outbox = backend.outbox
        a, b = uuid4(), uuid4()
        added = await _add(backend, [a, b], 3)
        (a1, a2, a3), (b1, b2, b3) = added[a], added[b]

        async def claim(worker: str = "w1") -> list[UUID]:
            entries = await outbox.get_pending_events(
                10, worker_id=worker, lease=SHORT, per_aggregate_order=True
            )
            return [entry.id for entry in entries]

        assert await claim() == [a1, b1]
        assert await claim("w2") == [], "a later entry was handed out while the first is out"
        await outbox.mark_published(a1)
        assert await claim("w2") == [a2]
        await outbox.release(b1, "broker down", retry_after=SHORT)
        assert await claim("w2") == [], "an entry waiting for its retry must hold back b2"
        clock.advance(PAST.total_seconds())
        assert await claim("w3") == [b1, a2], "expired or due entries come back, not successors"
        await outbox.mark_failed(b1, "given up")
        assert await claim("w4") == [b2], "a failed entry must not hold its aggregate back"
        await outbox.mark_published_many([a2, b2])
        assert await claim("w4") == [a3, b3]
        assert (await outbox.get_entry(b1)).status == OutboxStatus.FAILED
        with pytest.raises(InvalidArgumentError, match="per_aggregate_order"):
            await outbox.get_pending_events(1, per_aggregate_order=1)  # type: ignore[arg-type]

    async def test_race_ordered_claims_one_entry_per_aggregate(
        self, backend: RoleBackend, kit_opener: RoleOpener
    ) -> None:
        """N connections claim (ordered) and publish concurrently until the outbox is empty:
        no two ever hold entries of one aggregate at once, every entry is published exactly
        once, and each aggregate's entries are published in the order they were added.

        Fix: decide claimability and take the claim in one statement or transaction (with
        ``FOR UPDATE SKIP LOCKED`` on the candidate rows), judging "an earlier entry is
        pending" on what is committed, so two claims never both pass an aggregate's check.
        """
        self.require(backend, "outbox_aggregate_order")
        aggregates = [uuid4() for _ in range(12)]
        added = await _add(backend, aggregates, 6)
        total = sum(len(ids) for ids in added.values())
        aggregate_of = {eid: aid for aid, ids in added.items() for eid in ids}
        held: dict[UUID, str] = {}
        published: dict[UUID, list[UUID]] = defaultdict(list)
        clashes: list[str] = []

        async def work(conn: RoleBackend, worker: str) -> None:
            idle = 0
            while sum(map(len, published.values())) < total and idle < 10_000:
                entries = await conn.outbox.get_pending_events(
                    3, worker_id=worker, lease=_LONG, per_aggregate_order=True
                )
                if not entries:
                    idle += 1
                    await asyncio.sleep(0)
                    continue
                for entry in entries:
                    other = held.get(entry.aggregate_id)
                    if other is not None:
                        clashes.append(f"{worker} got {entry.id} while {other} holds its aggregate")
                    held[entry.aggregate_id] = worker
                await asyncio.sleep(0)  # let the others claim meanwhile
                for entry in entries:
                    published[entry.aggregate_id].append(entry.id)
                    del held[entry.aggregate_id]  # before the mark commits: then it is free
                await conn.outbox.mark_published_many([entry.id for entry in entries])

        async with self.connections(kit_opener, backend) as conns:
            await asyncio.gather(*(work(c, f"w{i}") for i, c in enumerate(conns)))
        assert not clashes, clashes[:5]
        for aid, ids in added.items():
            assert published[aid] == ids, (
                f"aggregate {aid}: published {published[aid]} but added {ids}"
            )
        assert {eid for ids in published.values() for eid in ids} == set(aggregate_of)
        stats = await backend.outbox.get_stats()
        assert (stats.pending_count, stats.published_count) == (0, total)
