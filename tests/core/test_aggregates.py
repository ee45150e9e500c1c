"""AggregateRoot and AggregateRepository over the in-memory store."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from eventsource import (
    AggregateNotFoundError,
    AggregateRepository,
    ExpectedVersion,
    InvalidEventError,
    MemoryEventStore,
    OptimisticLockError,
)

from ._model import CtItemAdded, CtOrder, CtOrderPlaced


@pytest.fixture
def store() -> MemoryEventStore:
    return MemoryEventStore()


@pytest.fixture
def repo(store: MemoryEventStore) -> AggregateRepository[CtOrder]:
    return AggregateRepository(
        event_store=store, aggregate_factory=CtOrder, aggregate_type="CtOrder"
    )


def test_raise_event_fills_the_envelope_and_applies() -> None:
    order = CtOrder(uuid4())
    assert order.version == 0 and order.state.status == "new"
    order.place("ann")
    order.add("sku-1", 2)
    first, second = order.uncommitted_events
    assert isinstance(first, CtOrderPlaced) and isinstance(second, CtItemAdded)
    assert (first.aggregate_version, second.aggregate_version) == (1, 2)
    assert first.aggregate_id == order.aggregate_id and first.aggregate_type == "CtOrder"
    assert order.version == 2 and order.committed_version == 0
    assert order.get_next_version() == 3
    assert order.state.status == "placed" and order.state.items == {"sku-1": 2}
    order.uncommitted_events.clear()  # a copy: the aggregate keeps its own list
    assert len(order.uncommitted_events) == 2
    assert repr(order).endswith("v2>")


def test_apply_event_of_another_aggregate_is_refused() -> None:
    order = CtOrder(uuid4())
    stranger = CtOrderPlaced(aggregate_id=uuid4(), customer="x")
    with pytest.raises(InvalidEventError, match="is for aggregate"):
        order.apply_event(stranger)
    assert order.version == 0 and order.uncommitted_events == []


async def test_create_save_load_exists(repo: AggregateRepository[CtOrder]) -> None:
    order_id = uuid4()
    order = repo.create_new(order_id)
    assert isinstance(order, CtOrder) and order.version == 0
    assert not await repo.exists(order_id)
    order.place("ann")
    order.add("sku-1")
    result = await repo.save(order)
    assert result is not None and result.new_version == 2 and result.events_written == 2
    assert order.uncommitted_events == [] and order.committed_version == 2
    assert await repo.exists(order_id)
    loaded = await repo.load(order_id)
    assert loaded.version == 2 and loaded.uncommitted_events == []
    assert loaded.state == order.state
    assert await repo.save(loaded) is None  # nothing new to save


async def test_save_after_load_appends_at_the_next_version(
    repo: AggregateRepository[CtOrder], store: MemoryEventStore
) -> None:
    order = repo.create_new(uuid4())
    order.place("ann")
    await repo.save(order)
    loaded = await repo.load(order.aggregate_id)
    loaded.add("sku-2", 3)
    result = await repo.save(loaded)
    assert result is not None and result.new_version == 2
    stream = await store.get_events(order.aggregate_id, "CtOrder")
    assert [e.aggregate_version for e in stream.events] == [1, 2]
    assert (await repo.load(order.aggregate_id)).state.items == {"sku-2": 3}


async def test_load_of_unknown_aggregate(repo: AggregateRepository[CtOrder]) -> None:
    missing = uuid4()
    with pytest.raises(AggregateNotFoundError) as caught:
        await repo.load(missing)
    assert caught.value.aggregate_id == missing and caught.value.aggregate_type == "CtOrder"
    assert str(caught.value) == f"aggregate CtOrder {missing} not found"


async def test_concurrent_saves_one_wins_one_gets_optimistic_lock(
    repo: AggregateRepository[CtOrder], store: MemoryEventStore
) -> None:
    order = repo.create_new(uuid4())
    order.place("ann")
    await repo.save(order)
    copies = [await repo.load(order.aggregate_id) for _ in range(5)]
    for i, copy in enumerate(copies):
        copy.add(f"sku-{i}")
    results = await asyncio.gather(*(repo.save(c) for c in copies), return_exceptions=True)
    winners = [r for r in results if not isinstance(r, BaseException)]
    losers = [r for r in results if isinstance(r, OptimisticLockError)]
    assert len(winners) == 1 and len(losers) == 4
    assert all(e.expected_version == 1 and e.actual_version == 2 for e in losers)
    assert await store.get_stream_version(order.aggregate_id, "CtOrder") == 2
    # A loser keeps its events; after reloading and replaying the command it saves.
    loser = next(c for c, r in zip(copies, results, strict=True) if r in losers)
    assert len(loser.uncommitted_events) == 1
    fresh = await repo.load(order.aggregate_id)
    fresh.add("retry")
    assert (await repo.save(fresh)) is not None
    assert await store.get_stream_version(order.aggregate_id, "CtOrder") == 3


async def test_two_new_aggregates_with_one_id_conflict(
    repo: AggregateRepository[CtOrder],
) -> None:
    order_id = uuid4()
    first, second = repo.create_new(order_id), repo.create_new(order_id)
    first.place("a")
    second.place("b")
    await repo.save(first)
    with pytest.raises(OptimisticLockError) as caught:
        await repo.save(second)
    assert caught.value.expected_version == ExpectedVersion.NO_STREAM
    assert (await repo.load(order_id)).state.customer == "a"


async def test_repository_type_must_match_the_events(store: MemoryEventStore) -> None:
    other = AggregateRepository(
        event_store=store, aggregate_factory=CtOrder, aggregate_type="Other"
    )
    order = other.create_new(uuid4())
    order.place("ann")
    with pytest.raises(InvalidEventError, match="aggregate_type 'CtOrder', not 'Other'"):
        await other.save(order)
    assert await store.get_global_position() == 0
