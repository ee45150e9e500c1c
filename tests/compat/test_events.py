"""eventsource-py 0.5.0's events, registry, JSON helpers, multitenancy and exceptions
(reference sections 1 and 5)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

import eventsource
import eventsource.exceptions
from eventsource import (  # type: ignore[attr-defined]
    DomainEvent,
    EventRegistry,
    EventTypeNotFoundError,
    InvalidArgumentError,
    TenantContextNotSetError,
    TenantDomainEvent,
    clear_tenant_context,
    get_current_tenant,
    get_event_class,
    get_event_class_or_none,
    get_required_tenant,
    is_event_registered,
    list_registered_events,
    register_event,
    set_current_tenant,
    tenant_context,
    tenant_scope_sync,
)
from eventsource.serialization import EventSourceJSONEncoder, json_dumps, json_loads

from ._model import CpOrderNoted, CpOrderPlaced


class CpTenantNote(TenantDomainEvent):
    aggregate_type: str = "CpOrder"


def test_event_helpers() -> None:
    aid = uuid4()
    cause = CpOrderPlaced(aggregate_id=aid, customer="a")
    effect = CpOrderNoted(aggregate_id=aid).with_causation(cause)
    assert effect.is_caused_by(cause) and effect.is_correlated_with(cause)
    assert effect.with_metadata(k=1).with_metadata(j=2).metadata == {"k": 1, "j": 2}
    assert effect.with_aggregate_version(4).aggregate_version == 4
    data = cause.to_dict()
    assert data["aggregate_id"] == str(aid) and data["occurred_at"].endswith("Z")
    assert CpOrderPlaced.from_dict(data) == cause
    assert str(cause) == f"CpOrderPlaced(event_id={cause.event_id}, aggregate_id={aid}, version=1)"
    assert CpOrderPlaced.from_dict({**data, "event_type": ""}).event_type == "CpOrderPlaced"


def test_registry_functions() -> None:
    assert get_event_class("CpOrderPlaced") is CpOrderPlaced
    assert get_event_class_or_none("CpNoSuchEvent") is None
    assert is_event_registered("CpOrderNoted") and not is_event_registered("CpNoSuchEvent")
    assert "CpOrderPlaced" in list_registered_events()
    with pytest.raises(EventTypeNotFoundError) as caught:
        get_event_class("CpNoSuchEvent")
    assert isinstance(caught.value, KeyError) and "CpOrderPlaced" in caught.value.available_types
    registry = EventRegistry()
    assert register_event(registry=registry)(CpOrderPlaced) is CpOrderPlaced
    assert register_event(CpOrderNoted, registry=registry) is CpOrderNoted
    assert registry.register(CpOrderNoted, "CpOrderNoted") is CpOrderNoted
    assert registry.list_types() == ["CpOrderNoted", "CpOrderPlaced"]
    assert registry.list_classes() == [CpOrderNoted, CpOrderPlaced]
    assert registry.contains("CpOrderNoted") and registry.get_or_none("x") is None
    assert registry.unregister("CpOrderNoted") and not registry.unregister("CpOrderNoted")
    registry.clear()
    assert len(registry) == 0 and bool(registry)


def test_registering_under_another_name_is_refused() -> None:
    """Deviation: 0.5.0 registered a class under any name; ours keys a class by its own
    event_type (so every registry decodes it the same)."""
    with pytest.raises(InvalidArgumentError, match="event_type"):
        register_event(event_type="other.name", registry=EventRegistry())(CpOrderNoted)
    with pytest.raises(InvalidArgumentError):
        EventRegistry().register(CpOrderNoted, "other.name")


def test_json_helpers() -> None:
    aid = uuid4()
    at = datetime(2026, 1, 2, tzinfo=UTC)
    text = json_dumps({"id": aid, "at": at})
    assert json.loads(text) == {"id": str(aid), "at": "2026-01-02T00:00:00+00:00"}
    assert json_loads(text)["id"] == str(aid)
    assert json.dumps(aid, cls=EventSourceJSONEncoder) == f'"{aid}"'


def test_tenancy() -> None:
    clear_tenant_context()
    assert get_current_tenant() is None
    with pytest.raises(TenantContextNotSetError):
        get_required_tenant()
    with pytest.raises(TenantContextNotSetError):
        CpTenantNote.with_tenant_context(aggregate_id=uuid4())
    tenant = uuid4()
    with tenant_scope_sync(tenant):
        assert get_required_tenant() == tenant
        assert CpTenantNote.with_tenant_context(aggregate_id=uuid4()).tenant_id == tenant
    assert get_current_tenant() is None
    token = set_current_tenant(tenant)
    assert tenant_context.get() == tenant
    tenant_context.reset(token)
    with pytest.raises(ValueError):
        CpTenantNote(aggregate_id=uuid4())  # tenant_id is required


def test_exceptions_keep_their_050_attributes() -> None:
    aid, eid = uuid4(), uuid4()
    lock = eventsource.OptimisticLockError(aid, 1, 2)
    assert (lock.aggregate_id, lock.expected_version, lock.actual_version) == (aid, 1, 2)
    assert eventsource.EventNotFoundError(eid).event_id == eid
    projection = eventsource.ProjectionError("p", eid, "boom")
    assert (projection.projection_name, projection.event_id) == ("p", eid)
    missing = eventsource.AggregateNotFoundError(aid, "Order")
    assert (missing.aggregate_id, missing.aggregate_type) == (aid, "Order")
    version = eventsource.EventVersionError(2, 3, eid, aid)
    assert (version.expected_version, version.actual_version, version.event_id) == (2, 3, eid)
    created = eventsource.AggregateNotCreatedError("Order", suggestion="create it")
    assert (created.aggregate_class, created.suggestion) == ("Order", "create it")
    mismatch = eventsource.TenantMismatchError(aid, eid, (eid,))
    assert (mismatch.expected, mismatch.actual, mismatch.event_ids) == (aid, eid, [eid])
    for cls in (
        eventsource.EventStoreError,
        eventsource.exceptions.EventBusError,
        eventsource.CheckpointError,
        eventsource.SerializationError,
        eventsource.ProjectionError,
        eventsource.TenantContextNotSetError,
    ):
        assert issubclass(cls, eventsource.EventSourceError)
    assert issubclass(eventsource.ProjectionStoppedError, eventsource.ProjectionError)


def test_types_module() -> None:
    from eventsource import types

    assert types.AggregateId is UUID and types.EventId is UUID and types.Version is int
    assert types.TState.__bound__.__name__ == "BaseModel"
    assert isinstance(DomainEvent.suppress_event_type_warning, bool)
