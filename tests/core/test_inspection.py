"""eventsource.inspection: the read-only overview behind ``eventsource status``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from eventsource import open_backend
from eventsource.inspection import (
    ProjectionState,
    inspect_store,
    projections_overview,
    split_projection_name,
    store_overview,
)

from ._model import CtItemAdded, CtOrderPlaced

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
TTL = timedelta(seconds=30)


def test_split_projection_name() -> None:
    assert split_projection_name("orders#1/4") == ("orders", "1/4")
    assert split_projection_name("orders#workers/host-1") == ("orders", "workers/host-1")
    assert split_projection_name("orders") == ("orders", None)
    assert split_projection_name("a#b") == ("a#b", None)


async def test_overview_groups_shards_workers_leases_and_dlq() -> None:
    async with open_backend("memory://") as backend:
        events = []
        for _ in range(3):
            aggregate_id = uuid4()
            batch = [
                CtOrderPlaced(aggregate_id=aggregate_id, customer="c"),
                CtItemAdded(aggregate_id=aggregate_id, sku="s", aggregate_version=2),
            ]
            await backend.events.append_events(aggregate_id, "CtOrder", batch, 0)
            events += batch
        cp = backend.checkpoints
        # a plain projection, owned now; one whose owner stopped; one that crashed
        await cp.update_checkpoint("totals", events[3].event_id, events[3].event_type)
        await cp.acquire_lease("totals", "host-a", TTL, now=NOW)
        stopped = await cp.acquire_lease("emails", "host-b", TTL, now=NOW)
        assert stopped is not None
        await cp.release_lease(stopped, now=NOW)
        await cp.acquire_lease("audit", "host-c", TTL, now=NOW - timedelta(minutes=5))
        # a projection of two shards: shard 0 owned and at 5, shard 1 at 2 and unowned
        await cp.update_checkpoint("search#0/2", events[4].event_id, events[4].event_type)
        await cp.update_checkpoint("search#1/2", events[1].event_id, events[1].event_type)
        await cp.acquire_lease("search#0/2", "w1", TTL, now=NOW)
        await cp.acquire_lease("search#workers/w1", "w1", TTL, now=NOW)
        await cp.acquire_lease("search#workers/w2", "w2", TTL, now=NOW - timedelta(hours=1))
        await backend.dlq.add_failed_event(uuid4(), "search#1/2", "t", {}, "boom")
        await backend.dlq.add_failed_event(uuid4(), "totals", "t", {}, "boom")

        projections = {p.name: p for p in await projections_overview(cp, backend.dlq, now=NOW)}
        assert sorted(projections) == ["audit", "emails", "search", "totals"]
        totals = projections["totals"]
        assert (totals.position, totals.lag_events, totals.state) == (4, 2, "running")
        assert [o.owner_id for o in totals.owners] == ["host-a"] and totals.dlq_open == 1
        assert projections["emails"].state == ProjectionState.STOPPED
        assert projections["emails"].position is None and not projections["emails"].owners
        assert projections["audit"].state == ProjectionState.STALE
        search = projections["search"]
        assert search.state == ProjectionState.RUNNING
        assert [(s.index, s.count, s.position) for s in search.shards] == [(0, 2, 5), (1, 2, 2)]
        assert search.position == 2 and search.lag_events == 4  # the slowest shard
        assert search.events_processed == 2 and search.dlq_open == 1
        assert [o.name for o in search.owners] == ["search#0/2"]
        assert search.shards[1].owner is None
        assert [w.owner_id for w in search.workers] == ["w1"]  # w2's heartbeat is stale

        status = await inspect_store(backend, now=NOW)
        assert (status.store.global_position, status.store.events, status.store.streams) == (
            6,
            6,
            3,
        )
        assert (status.dlq.open, status.dlq.by_projection["totals"]) == (2, 1)
        assert status.outbox.pending == 0
        data = status.to_dict()
        assert data["projections"][2]["shards"][0]["owner"]["since"] == NOW.isoformat()
        assert data["at"] == NOW.isoformat()

        limited = await store_overview(backend, count_limit=5)
        assert (limited.global_position, limited.events, limited.streams) == (6, None, None)


def test_a_dlq_entrys_stream_for_the_cli_and_the_console() -> None:
    """One function names a DLQ entry's stream for ``eventsource dlq list`` and the console:
    the undecodable row's, else the parked event's aggregate, else None."""
    from eventsource.inspection import dlq_entry_stream
    from eventsource.repositories import DLQEntry
    from eventsource.runtime import UndecodableEvent

    def entry(data: dict[str, object]) -> DLQEntry:
        return DLQEntry(1, uuid4(), "p", "T", data, "E", "boom", "", 0, NOW, NOW)

    aggregate_id = uuid4()
    parked = entry({"aggregate_id": str(aggregate_id), "aggregate_type": "Order"})
    assert dlq_entry_stream(parked, None) == f"{aggregate_id}:Order"
    assert dlq_entry_stream(entry({"aggregate_id": str(aggregate_id)}), None) is None
    poison = UndecodableEvent("{bad", "T", 1, None, 7, "x:Y", 3)
    assert dlq_entry_stream(parked, poison) == "x:Y"
