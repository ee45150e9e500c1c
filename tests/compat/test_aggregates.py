"""eventsource-py 0.5.0's aggregates, DeclarativeAggregate, repository and EventPublisher
(reference section 3 and 6) on every backend."""

from __future__ import annotations

from uuid import uuid4

import pytest

from eventsource import (  # type: ignore[attr-defined]
    AggregateNotCreatedError,
    AggregateNotFoundError,
    AggregateRepository,
    Backend,
    DeclarativeAggregate,
    DomainEvent,
    InvalidArgumentError,
    OptimisticLockError,
    UnhandledEventError,
    tenant_scope,
)

from ._model import CpOrder, CpOrderNoted, CpOrderPlaced, CpOrderState


class Published:
    """An EventPublisher recording what it was given."""

    def __init__(self) -> None:
        self.batches: list[list[DomainEvent]] = []

    async def publish(self, events: list[DomainEvent]) -> None:
        self.batches.append(list(events))


async def test_repository_round_trip_and_publisher(backend: Backend) -> None:
    publisher = Published()
    repo = AggregateRepository(backend.events, CpOrder, event_publisher=publisher)
    assert repo.aggregate_type == "CpOrder" and repo.event_publisher is publisher
    oid = uuid4()
    order = repo.create_new(oid)
    order.place("ann")
    assert order.has_uncommitted_events
    await repo.save(order)
    assert not order.has_uncommitted_events
    assert [[e.event_type for e in b] for b in publisher.batches] == [["CpOrderPlaced"]]
    loaded = await repo.load(oid)
    loaded.ship()
    await repo.save(loaded)
    again = await repo.get_or_raise(oid)
    assert (again.version, again.state.shipped, again.state.customer) == (2, True, "ann")
    assert await repo.get_version(oid) == 2 and await repo.get_version(uuid4()) == 0
    assert await repo.exists(oid) and not await repo.exists(uuid4())
    fresh = await repo.load_or_create(uuid4())
    assert (fresh.version, fresh.state_or_none, fresh.is_created) == (0, None, False)
    with pytest.raises(AggregateNotFoundError):
        await repo.load(uuid4())
    stale = await repo.load(oid)
    loaded_again = await repo.load(oid)
    loaded_again.create_event(CpOrderNoted, note="x")
    await repo.save(loaded_again)
    stale.create_event(CpOrderNoted, note="y")
    with pytest.raises(OptimisticLockError):
        await repo.save(stale)
    assert len(publisher.batches) == 3  # the refused save published nothing


async def test_create_event_stamps_the_current_tenant(backend: Backend) -> None:
    repo = AggregateRepository(backend.events, CpOrder, "CpOrder")
    tenant = uuid4()
    order = repo.create_new(uuid4())
    async with tenant_scope(tenant) as scoped:
        assert scoped == tenant
        order.place("t")
    order.ship()
    await repo.save(order)
    events = (await backend.events.get_events(order.aggregate_id, "CpOrder")).events
    assert [e.tenant_id for e in events] == [tenant, None]
    in_tenant = await backend.events.get_events_by_type("CpOrder", tenant_id=tenant)
    assert [e.event_type for e in in_tenant] == ["CpOrderPlaced"]


def test_aggregate_type_is_inferred_or_required() -> None:
    from eventsource import InMemoryEventStore

    class Nameless(DeclarativeAggregate[CpOrderState]):  # type: ignore[misc]
        pass

    with pytest.raises(InvalidArgumentError):
        AggregateRepository(InMemoryEventStore(), Nameless)
    assert AggregateRepository(InMemoryEventStore(), Nameless, "N").aggregate_type == "N"
    # Deviation: tracing is not part of this release; the arguments are accepted and unused.
    publisher = Published()
    positional = AggregateRepository(InMemoryEventStore(), CpOrder, "CpOrder", publisher)
    assert positional.event_publisher is publisher  # 0.5.0's positional order
    traced = AggregateRepository(InMemoryEventStore(), CpOrder, tracer=None, enable_tracing=False)
    assert traced.aggregate_type == "CpOrder"


def test_declarative_aggregate_rules() -> None:
    class Strict(CpOrder):
        requires_creation_event = True
        unregistered_event_handling = "error"

    order = Strict(uuid4())
    with pytest.raises(AggregateNotCreatedError) as caught:
        order.state  # noqa: B018
    assert caught.value.aggregate_class == "Strict"
    with pytest.raises(UnhandledEventError) as unhandled:
        order.create_event(CpOrderNoted)
    assert unhandled.value.event_type == "CpOrderNoted"
    assert unhandled.value.available_handlers == ["CpOrderPlaced", "CpOrderShipped"]
    order.create_event(CpOrderPlaced, customer="c")
    assert order.is_created and order.state.customer == "c"
    lenient = CpOrder(uuid4())
    lenient.create_event(CpOrderNoted)  # "ignore": no handler, no error
    assert (
        lenient.version == 1 and lenient.clear_uncommitted_events()[0].event_type == "CpOrderNoted"
    )
    assert not lenient.has_uncommitted_events
    assert lenient == CpOrder(lenient.aggregate_id) and lenient != CpOrder(uuid4())
    assert len({lenient, CpOrder(lenient.aggregate_id)}) == 1


def test_apply_event_checks_the_next_version(caplog: pytest.LogCaptureFixture) -> None:
    """0.5.0's ``apply_event``: a new event must carry ``version + 1``, else
    ``EventVersionError`` with its four attributes (nothing applied, nothing kept); with
    ``validate_versions = False`` only a warning; replays are not checked."""
    from eventsource.exceptions import EventVersionError

    aid = uuid4()
    order = CpOrder(aid)
    order.apply_event(CpOrderPlaced(aggregate_id=aid, aggregate_version=1, customer="ann"))
    wrong = CpOrderNoted(aggregate_id=aid, aggregate_version=5, note="n")
    with pytest.raises(EventVersionError) as raised:
        order.apply_event(wrong)
    assert (raised.value.expected_version, raised.value.actual_version) == (2, 5)
    assert (raised.value.event_id, raised.value.aggregate_id) == (wrong.event_id, aid)
    assert (order.version, len(order.uncommitted_events)) == (1, 1)

    class Lenient(CpOrder):
        validate_versions = False

    lenient = Lenient(aid)
    lenient.apply_event(CpOrderPlaced(aggregate_id=aid, aggregate_version=3, customer="bo"))
    assert lenient.version == 1 and "validate_versions off" in caplog.text

    replayed = CpOrder(aid)
    replayed.load_from_history([CpOrderPlaced(aggregate_id=aid, aggregate_version=4, customer="c")])
    assert replayed.version == 4
