"""Snapshots in core: strategies, the repository's options and modes, state (de)serialisation,
the 0.5.0 names, and the snapshot store found from an event store's backend."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any, ClassVar
from uuid import UUID, uuid4

import pytest
from pydantic import BaseModel, Field

import eventsource
import eventsource.snapshots
from eventsource import (
    AggregateRepository,
    AggregateRoot,
    ConfigurationError,
    DomainEvent,
    EveryNEvents,
    InMemorySnapshotStore,
    InvalidArgumentError,
    MemoryEventStore,
    Snapshot,
    SnapshotDeserializationError,
    SnapshotError,
    SnapshotNotFoundError,
    SnapshotSchemaVersionError,
    SnapshotStore,
    open_backend,
)
from eventsource.plugins._snapshot_stores import snapshot_store_for
from eventsource.spi import BackendRegistry, decode_snapshot, encode_snapshot, reset_registry

from ._model import CtItemAdded, CtOrder, CtOrderState

TYPE = "CtOrder"


def repo(store: MemoryEventStore | None = None, **options: Any) -> AggregateRepository[CtOrder]:
    return AggregateRepository(store or MemoryEventStore(), CtOrder, TYPE, **options)


async def saved(repository: AggregateRepository[CtOrder], *batches: int) -> CtOrder:
    """An order saved in batches of the given numbers of events."""
    order = repository.create_new(uuid4())
    order.place("ann")
    for i, size in enumerate(batches):
        for j in range(size - (1 if i == 0 else 0)):
            order.add(f"sku-{j % 3}")
        await repository.save(order)
    return order


def test_every_n_events_fires_when_a_save_crosses_a_multiple() -> None:
    every = EveryNEvents(100)
    assert not every.should_snapshot(None, 0, 99)
    assert every.should_snapshot(None, 99, 100)
    assert every.should_snapshot(None, 98, 103)
    assert not every.should_snapshot(None, 100, 199)
    assert every.should_snapshot(None, 150, 350)
    for bad in (0, -1, True, 1.5, "10"):
        with pytest.raises(InvalidArgumentError):
            EveryNEvents(bad)  # type: ignore[arg-type]


async def test_snapshot_every_writes_after_saves_that_cross_the_threshold() -> None:
    store = MemoryEventStore()
    repository = repo(store, snapshot_every=5)
    assert repository.snapshot_threshold == 5 and repository.has_snapshot_support
    assert repository.snapshot_store is snapshot_store_for(store)
    order = await saved(repository, 3)
    snapshots = repository.snapshot_store
    assert snapshots is not None
    assert await snapshots.get_snapshot(order.aggregate_id, TYPE) is None
    order.add("x")
    order.add("y")
    order.add("z")
    await repository.save(order)  # 3 -> 6 crosses 5
    snapshot = await snapshots.get_snapshot(order.aggregate_id, TYPE)
    assert snapshot is not None and snapshot.version == 6
    assert snapshot.state == order.state.model_dump(mode="json")
    loaded = await repository.load(order.aggregate_id)
    assert loaded.state == order.state and loaded.version == 6
    assert loaded.last_event_id == order.last_event_id


async def test_the_0_5_threshold_name_and_a_strategy_object() -> None:
    class OnPlacedOnly:
        def should_snapshot(self, aggregate: Any, previous: int, new: int) -> bool:
            return previous == 0

    assert repo(snapshot_threshold=7).snapshot_threshold == 7
    repository = repo(snapshot_strategy=OnPlacedOnly())
    assert repository.snapshot_threshold is None
    order = await saved(repository, 2, 2)
    assert repository.snapshot_store is not None
    snapshot = await repository.snapshot_store.get_snapshot(order.aggregate_id, TYPE)
    assert snapshot is not None and snapshot.version == 2


def test_bad_snapshot_options_are_refused() -> None:
    with pytest.raises(InvalidArgumentError, match="one of"):
        repo(snapshot_every=2, snapshot_threshold=2)
    with pytest.raises(InvalidArgumentError, match="snapshot_mode"):
        repo(snapshot_every=2, snapshot_mode="later")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="should_snapshot"):
        repo(snapshot_strategy=object())  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="SnapshotStore"):
        repo(snapshot_every=2, snapshot_store=object())  # type: ignore[arg-type]
    plain = repo()
    assert not plain.has_snapshot_support and plain.snapshot_store is None


async def test_an_event_store_whose_backend_has_no_snapshot_store_needs_one_given() -> None:
    class Unregistered(MemoryEventStore):
        pass

    # a subclass of the memory store is still the memory backend's: it gets its store
    assert isinstance(snapshot_store_for(Unregistered()), InMemorySnapshotStore)

    reset_registry(BackendRegistry(load_entry_points=False))  # no backend knows the store
    try:
        with pytest.raises(ConfigurationError, match="snapshot_store="):
            AggregateRepository(MemoryEventStore(), CtOrder, TYPE, snapshot_every=3)
    finally:
        reset_registry(None)
    with pytest.raises(ConfigurationError, match="no snapshot store"):
        await repo().create_snapshot(CtOrder(uuid4()))


async def test_snapshot_store_overrides_the_backends() -> None:
    own = InMemorySnapshotStore()
    store = MemoryEventStore()
    repository = repo(store, snapshot_every=1, snapshot_store=own)
    order = await saved(repository, 2)
    assert own.snapshot_count == 1
    backend_store = snapshot_store_for(store)
    assert backend_store is not None
    assert await backend_store.get_snapshot(order.aggregate_id, TYPE) is None
    await own.clear()
    assert own.snapshot_count == 0


async def test_background_and_manual_modes() -> None:
    background = repo(snapshot_every=1, snapshot_mode="background")
    order = await saved(background, 2)
    assert background.pending_snapshot_count == 1
    assert await background.await_pending_snapshots() == 1
    assert background.pending_snapshot_count == 0
    assert background.snapshot_store is not None
    assert await background.snapshot_store.snapshot_exists(order.aggregate_id, TYPE)

    manual = repo(snapshot_mode="manual")
    assert manual.snapshot_mode == "manual" and manual.has_snapshot_support
    order = await saved(manual, 2)
    assert manual.snapshot_store is not None
    assert not await manual.snapshot_store.snapshot_exists(order.aggregate_id, TYPE)
    order.add("pending")
    with pytest.raises(SnapshotError, match="unsaved"):
        await manual.create_snapshot(order)
    await manual.save(order)
    snapshot = await manual.create_snapshot(order)
    assert snapshot.version == 3 and snapshot.event_id == order.last_event_id
    assert await manual.snapshot_store.get_snapshot(order.aggregate_id, TYPE) == snapshot


async def test_a_snapshot_the_state_class_refuses_is_replayed_past() -> None:
    repository = repo(snapshot_every=1)
    order = await saved(repository, 3)
    stored = repository.snapshot_store
    assert stored is not None
    snapshot = await stored.get_snapshot(order.aggregate_id, TYPE)
    assert snapshot is not None
    await stored.save_snapshot(dataclasses.replace(snapshot, state={"items": "not a dict"}))
    loaded = await repository.load(order.aggregate_id)
    assert loaded.state == order.state


class DictState(AggregateRoot[dict[str, int]]):
    aggregate_type = "Counter"

    def _get_initial_state(self) -> dict[str, int]:
        return {}

    def _apply(self, event: DomainEvent) -> None:
        if isinstance(event, CtItemAdded):
            self._state = {**self.state, event.sku: self.state.get(event.sku, 0) + 1}


class Opaque(AggregateRoot[object]):
    aggregate_type = "Opaque"
    schema_version: ClassVar[int] = 3

    def _get_initial_state(self) -> object:
        return object()

    def _apply(self, event: DomainEvent) -> None:
        pass


async def test_dict_states_snapshot_and_other_states_fail_no_save() -> None:
    counters = AggregateRepository(MemoryEventStore(), DictState, "Counter", snapshot_every=1)
    counter = counters.create_new(uuid4())
    counter.raise_event(CtItemAdded, sku="a")
    counter.raise_event(CtItemAdded, sku="a")
    await counters.save(counter)
    assert (await counters.load(counter.aggregate_id)).state == {"a": 2}
    assert counters.snapshot_store is not None
    assert await counters.snapshot_store.snapshot_exists(counter.aggregate_id, "Counter")

    opaque = AggregateRepository(MemoryEventStore(), Opaque, "Opaque", snapshot_every=1)
    thing = opaque.create_new(uuid4())
    thing.raise_event(CtItemAdded, sku="a")
    assert await opaque.save(thing) is not None  # the snapshot fails, not the save
    with pytest.raises(SnapshotError, match="_serialize_state"):
        await opaque.create_snapshot(thing)
    assert (await opaque.load(thing.aggregate_id)).version == 1


class Secretive(BaseModel):
    seen: int = 0
    cache: dict[str, int] = Field(default_factory=dict, exclude=True)


class Forgetful(AggregateRoot[Secretive]):
    aggregate_type = "Forgetful"

    def _get_initial_state(self) -> Secretive:
        return Secretive()

    def _apply(self, event: DomainEvent) -> None:
        self._state = Secretive(seen=self.state.seen + 1, cache={"last": self.state.seen})


async def test_a_state_that_would_not_come_back_equal_is_never_snapshotted() -> None:
    forgetful = AggregateRepository(MemoryEventStore(), Forgetful, "Forgetful", snapshot_every=1)
    thing = forgetful.create_new(uuid4())
    thing.raise_event(CtItemAdded, sku="a")
    thing.raise_event(CtItemAdded, sku="b")
    await forgetful.save(thing)
    assert forgetful.snapshot_store is not None
    assert not await forgetful.snapshot_store.snapshot_exists(thing.aggregate_id, "Forgetful")
    with pytest.raises(SnapshotError, match="come back equal"):
        await forgetful.create_snapshot(thing)
    assert (await forgetful.load(thing.aggregate_id)).state == thing.state


def test_state_type_comes_from_the_generic_argument() -> None:
    assert CtOrder(uuid4())._state_type() is CtOrderState
    order = CtOrder(uuid4())
    order._restore_from_snapshot({}, 4)  # 0.5.0: an empty dict sets only the version
    assert order.version == 4 and order.state == CtOrderState(order_id=order.aggregate_id)


def test_the_0_5_snapshot_names_and_fields() -> None:
    from eventsource.snapshots import InMemorySnapshotStore as Legacy

    assert Legacy is InMemorySnapshotStore is eventsource.MemorySnapshotStore
    aid = uuid4()
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    snapshot = Snapshot(aid, "Order", 3, {"a": 1}, 2, moment)
    assert (snapshot.aggregate_id, snapshot.aggregate_type, snapshot.version) == (aid, "Order", 3)
    assert (snapshot.state, snapshot.schema_version, snapshot.created_at) == ({"a": 1}, 2, moment)
    assert snapshot.event_id is None
    error = SnapshotDeserializationError(aid, "Order", ValueError("bad"))
    assert error.original_error is not None and "bad" in error.message and error.aggregate_id == aid
    assert str(SnapshotDeserializationError(aid, "Order", message="custom")) == "custom"
    version = SnapshotSchemaVersionError(aid, "Order", 1, 2)
    assert (version.snapshot_schema_version, version.expected_schema_version) == (1, 2)
    missing = SnapshotNotFoundError(aid, "Order")
    assert missing.aggregate_type == "Order" and str(aid) in missing.message
    for cls in (SnapshotDeserializationError, SnapshotSchemaVersionError, SnapshotNotFoundError):
        assert issubclass(cls, SnapshotError) and issubclass(cls, eventsource.EventSourceError)


async def test_a_user_store_with_the_three_0_5_methods_works() -> None:
    class DictStore(SnapshotStore):
        def __init__(self) -> None:
            self.rows: dict[tuple[UUID, str], Snapshot] = {}

        async def save_snapshot(self, snapshot: Snapshot) -> None:
            self.rows[(snapshot.aggregate_id, snapshot.aggregate_type)] = snapshot

        async def get_snapshot(self, aggregate_id: UUID, aggregate_type: str) -> Snapshot | None:
            return self.rows.get((aggregate_id, aggregate_type))

        async def delete_snapshot(self, aggregate_id: UUID, aggregate_type: str) -> bool:
            return self.rows.pop((aggregate_id, aggregate_type), None) is not None

    mine = DictStore()
    repository = repo(snapshot_every=2, snapshot_store=mine)
    order = await saved(repository, 3)
    assert await mine.snapshot_exists(order.aggregate_id, TYPE)
    assert (await repository.load(order.aggregate_id)).state == order.state
    with pytest.raises(SnapshotError, match="delete_snapshots_by_type"):
        await mine.delete_snapshots_by_type(TYPE)


def test_rows_verify_their_checksum() -> None:
    record = encode_snapshot(Snapshot(uuid4(), TYPE, 2, {"x": [1, 2]}, event_id=uuid4()))
    columns = [getattr(record, f.name) for f in dataclasses.fields(record)]
    assert decode_snapshot(*columns).state == {"x": [1, 2]}
    for index, forged in ((2, 3), (3, 2), (4, '{"x": [1, 3]}'), (5, None), (7, "0" * 32)):
        bad = list(columns)
        bad[index] = forged
        with pytest.raises(SnapshotDeserializationError):
            decode_snapshot(*bad)


async def test_backends_expose_their_snapshot_store() -> None:
    async with open_backend("memory://") as backend:
        assert backend.has_snapshots
        assert isinstance(backend.snapshots, InMemorySnapshotStore)
        assert snapshot_store_for(backend.events) is backend.snapshots
    assert eventsource.snapshots.SQLiteSnapshotStore.__name__ == "SQLiteSnapshotStore"
    with pytest.raises(AttributeError):
        eventsource.snapshots.NoSuchStore  # noqa: B018


async def test_snapshot_stores_do_not_keep_event_stores_alive() -> None:
    import gc
    import weakref

    store = MemoryEventStore()
    state = weakref.ref(store.state)
    repository = repo(store, snapshot_every=1)
    await saved(repository, 2)
    assert snapshot_store_for(store) is repository.snapshot_store  # one while in use
    del repository, store
    gc.collect()
    assert state() is None
