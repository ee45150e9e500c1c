"""Conformance of the outbox repository: entries, claims, leases, retries, stats."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from .._exceptions import EntryNotFoundError, InvalidArgumentError
from ..clock import ManualClock
from ..repositories._entries import OutboxStatus
from ._base import ConformanceBase
from ._events import AGGREGATE_TYPE, noted, rich_event
from ._roles import RoleBackend

__all__ = ["OutboxConformance"]

#: Lease used by the lease tests, on a ManualClock: it runs out only when the test says so.
SHORT = timedelta(seconds=1)
#: How far past a lease the lease tests move the clock.
PAST = SHORT + timedelta(milliseconds=1)


def manual_clock(backend: RoleBackend) -> ManualClock:
    """Put the backend's outbox on a ManualClock (its leases then run out on advance())."""
    clock = ManualClock()
    backend.outbox.clock = clock
    return clock


class OutboxConformance(ConformanceBase):
    """Events waiting to be published: adding, claiming, publishing, retrying, failing."""

    async def test_outbox_add_and_get_entry(self, backend: RoleBackend) -> None:
        """add_event returns an id; get_entry returns a pending entry describing the event,
        readable as attributes and as a mapping (``entry["id"]``).

        Fix: store the event's id, type, aggregate, tenant and its JSON document.
        """
        aid = uuid4()
        event = rich_event(aid)
        entry_id = await backend.outbox.add_event(event)
        entry = await backend.outbox.get_entry(entry_id)
        assert entry.id == entry_id and entry["id"] == entry_id
        assert entry.event_id == event.event_id
        assert entry.event_type == "KitRichEvent"
        assert entry.aggregate_id == aid
        assert entry.aggregate_type == AGGREGATE_TYPE
        assert entry.tenant_id == event.tenant_id
        assert entry.status == OutboxStatus.PENDING
        assert entry["status"] == "pending"
        assert entry.retry_count == 0
        assert entry.last_error is None and entry.published_at is None
        assert entry.event_data["event_id"] == str(event.event_id)
        assert entry.event_data["metadata"] == event.metadata
        assert entry.created_at.tzinfo is not None

    async def test_outbox_claim_publish(self, backend: RoleBackend) -> None:
        """get_pending_events claims up to ``limit`` entries oldest first for the worker;
        claimed entries are not handed out again; mark_published takes an entry out for good.

        Fix: order claims by creation, record claimed_by/claimed_until, and skip entries whose
        lease is still running or that are not pending.
        """
        outbox = backend.outbox
        aid = uuid4()
        added = [await outbox.add_event(e) for e in noted(aid, 5)]
        first = await outbox.get_pending_events(limit=2, worker_id="kit-w1")
        assert [e.id for e in first] == added[:2]
        assert all(e.claimed_by == "kit-w1" for e in first)
        assert all(e.claimed_until is not None for e in first)
        second = await outbox.get_pending_events(limit=10, worker_id="kit-w2")
        assert [e.id for e in second] == added[2:]
        assert await outbox.get_pending_events(limit=10) == []
        await outbox.mark_published(added[0])
        published = await outbox.get_entry(added[0])
        assert published.status == OutboxStatus.PUBLISHED
        assert published.published_at is not None
        stats = await outbox.get_stats()
        assert (stats.pending_count, stats.published_count, stats.failed_count) == (4, 1, 0)
        assert stats.claimed_count == 4
        assert await outbox.get_pending_events(limit=0) == []
        for bad in (-1, "10", 2.5, True):
            with pytest.raises(InvalidArgumentError):
                await outbox.get_pending_events(limit=bad)  # type: ignore[arg-type]
        assert (await outbox.get_stats()).claimed_count == 4

    async def test_outbox_mark_published_many(self, backend: RoleBackend) -> None:
        """mark_published_many marks every known id published and returns how many; unknown
        ids are skipped; the entries are not claimable again.

        Fix: one UPDATE over the ids (``IN (...)`` / ``= ANY($1)``) in one transaction, and
        return its row count.
        """
        outbox = backend.outbox
        added = [await outbox.add_event(e) for e in noted(uuid4(), 4)]
        claimed = await outbox.get_pending_events(limit=10, worker_id="kit-batch")
        assert [e.id for e in claimed] == added
        assert await outbox.mark_published_many([*added[:3], uuid4()]) == 3
        assert await outbox.mark_published_many([]) == 0
        for entry_id in added[:3]:
            entry = await outbox.get_entry(entry_id)
            assert entry.status == OutboxStatus.PUBLISHED and entry.published_at is not None
            assert entry.claimed_by is None
        assert (await outbox.get_entry(added[3])).status == OutboxStatus.PENDING
        stats = await outbox.get_stats()
        assert (stats.pending_count, stats.published_count) == (1, 3)

    async def test_outbox_release_and_retry(self, backend: RoleBackend) -> None:
        """release gives a claimed entry back: with an error it counts a retry and records the
        error; without, it counts nothing; ``retry_after`` keeps it unclaimable until then.

        Fix: clear the claim on release, increment retry_count only with an error, and store a
        not-before time for ``retry_after``, reading now from ``self.clock``.
        """
        outbox = backend.outbox
        clock = manual_clock(backend)
        aid = uuid4()
        a, b = [await outbox.add_event(e) for e in noted(aid, 2)]
        await outbox.get_pending_events(limit=10, worker_id="kit-w1")
        await outbox.release(a, "broker down")
        entry = await outbox.get_entry(a)
        assert entry.retry_count == 1 and entry.last_error == "broker down"
        assert entry.status == OutboxStatus.PENDING
        await outbox.release(b)
        assert (await outbox.get_entry(b)).retry_count == 0
        again = await outbox.get_pending_events(limit=10, worker_id="kit-w2")
        assert sorted(e.id for e in again) == sorted([a, b])
        await outbox.release(a, "still down", retry_after=SHORT)
        await outbox.release(b, retry_after=timedelta(0))
        assert (await outbox.get_entry(a)).retry_count == 2
        assert [e.id for e in await outbox.get_pending_events(limit=10)] == [b]
        clock.advance(SHORT / 2)
        assert await outbox.get_pending_events(limit=10) == [], "claimable before retry_after"
        clock.advance(PAST - SHORT / 2)
        after = [e.id for e in await outbox.get_pending_events(limit=10)]
        assert after == [a], (
            f"an entry released with retry_after={SHORT} was not claimable once outbox.clock "
            f"had moved {PAST} on: got {after}"
        )

    async def test_outbox_expired_lease_is_claimable_again(self, backend: RoleBackend) -> None:
        """An entry claimed with a lease that ran out (a crashed worker) is claimable by another
        worker; before it runs out, it is not.

        Fix: treat ``claimed_until < now`` as unclaimed when selecting pending entries,
        reading now from ``self.clock`` (the lease is stamped from it too).
        """
        outbox = backend.outbox
        clock = manual_clock(backend)
        aid = uuid4()
        (entry_id,) = [await outbox.add_event(e) for e in noted(aid, 1)]
        claimed = await outbox.get_pending_events(limit=1, worker_id="kit-crashed", lease=SHORT)
        assert [e.id for e in claimed] == [entry_id]
        assert await outbox.get_pending_events(limit=1, worker_id="kit-other") == []
        clock.advance(SHORT / 2)
        assert await outbox.get_pending_events(limit=1, worker_id="kit-other") == []
        clock.advance(PAST - SHORT / 2)
        reclaimed = await outbox.get_pending_events(limit=1, worker_id="kit-other")
        assert [e.id for e in reclaimed] == [entry_id], (
            f"an entry whose {SHORT} lease ran out (outbox.clock moved {PAST} on) was not "
            f"claimable again: got {reclaimed}"
        )
        assert reclaimed[0].claimed_by == "kit-other"

    async def test_outbox_mark_failed(self, backend: RoleBackend) -> None:
        """mark_failed records the error and takes the entry out of the pending set.

        Fix: set status 'failed' and the error; never hand failed entries to workers.
        """
        outbox = backend.outbox
        aid = uuid4()
        (entry_id,) = [await outbox.add_event(e) for e in noted(aid, 1)]
        await outbox.get_pending_events(limit=1)
        await outbox.mark_failed(entry_id, "poison message")
        entry = await outbox.get_entry(entry_id)
        assert entry.status == OutboxStatus.FAILED
        assert entry.last_error == "poison message"
        assert await outbox.get_pending_events(limit=10) == []
        stats = await outbox.get_stats()
        assert (stats.pending_count, stats.failed_count) == (0, 1)
        assert stats.oldest_pending_at is None

    async def test_outbox_stats_and_cleanup(self, backend: RoleBackend) -> None:
        """get_stats counts by status with the oldest pending time; cleanup_published deletes
        only published entries older than ``older_than`` and returns how many.

        Fix: compare ``published_at`` with now - older_than, both read from ``self.clock``.
        """
        outbox = backend.outbox
        clock = manual_clock(backend)
        empty = await outbox.get_stats()
        assert (empty.pending_count, empty.published_count, empty.failed_count) == (0, 0, 0)
        assert empty.oldest_pending_at is None
        aid = uuid4()
        ids_ = [await outbox.add_event(e) for e in noted(aid, 4)]
        first = await outbox.get_entry(ids_[0])
        await outbox.mark_published(ids_[0])
        await outbox.mark_published(ids_[1])
        stats = await outbox.get_stats()
        assert (stats.pending_count, stats.published_count) == (2, 2)
        assert stats.claimed_count == 0
        assert stats.oldest_pending_at is not None
        assert stats.oldest_pending_at >= first.created_at
        assert await outbox.cleanup_published(older_than=timedelta(days=1)) == 0
        clock.advance(timedelta(hours=1))
        assert await outbox.cleanup_published(older_than=timedelta(minutes=59)) == 2
        with pytest.raises(EntryNotFoundError):
            await outbox.get_entry(ids_[0])
        assert (await outbox.get_entry(ids_[2])).status == OutboxStatus.PENDING
        assert (await outbox.get_stats()).published_count == 0

    async def test_outbox_unknown_entry(self, backend: RoleBackend) -> None:
        """get_entry, mark_published, release and mark_failed raise EntryNotFoundError for an
        id that is not in the outbox.

        Fix: check the affected row count and raise EntryNotFoundError (a KeyError) when zero.
        """
        outbox = backend.outbox
        missing = uuid4()
        with pytest.raises(EntryNotFoundError):
            await outbox.get_entry(missing)
        with pytest.raises(EntryNotFoundError):
            await outbox.mark_published(missing)
        with pytest.raises(EntryNotFoundError):
            await outbox.release(missing, "error")
        with pytest.raises(EntryNotFoundError):
            await outbox.mark_failed(missing, "error")
        assert (await outbox.get_stats()).pending_count == 0
