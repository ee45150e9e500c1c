"""Every module path and public name eventsource-py 0.5.0's reference lists (storage API)
imports here and resolves to our objects."""

from __future__ import annotations

import importlib

import pytest

import eventsource
from eventsource import compat, exceptions, repositories, stores
from eventsource.memory import MemoryEventStore

TOP_LEVEL = [
    "__version__",
    "TState",
    "AggregateId",
    "EventId",
    "TenantId",
    "CorrelationId",
    "CausationId",
    "DomainEvent",
    "EventRegistry",
    "default_registry",
    "register_event",
    "get_event_class",
    "get_event_class_or_none",
    "is_event_registered",
    "list_registered_events",
    "EventTypeNotFoundError",
    "DuplicateEventTypeError",
    "EventStore",
    "EventPublisher",
    "EventStream",
    "AppendResult",
    "StoredEvent",
    "ReadOptions",
    "ReadDirection",
    "ExpectedVersion",
    "InMemoryEventStore",
    "PostgreSQLEventStore",
    "SQLiteEventStore",
    "SQLITE_AVAILABLE",
    "AggregateRoot",
    "AggregateRepository",
    "DeclarativeAggregate",
    "handles",
    "AggregateNotCreatedError",
    "AggregateNotFoundError",
    "EventNotFoundError",
    "EventSourceError",
    "EventVersionError",
    "OptimisticLockError",
    "ProjectionError",
    "CheckpointRepository",
    "PostgreSQLCheckpointRepository",
    "InMemoryCheckpointRepository",
    "CheckpointData",
    "LagMetrics",
    "DLQRepository",
    "PostgreSQLDLQRepository",
    "InMemoryDLQRepository",
    "DLQEntry",
    "DLQStats",
    "ProjectionFailureCount",
    "OutboxRepository",
    "PostgreSQLOutboxRepository",
    "InMemoryOutboxRepository",
    "OutboxEntry",
    "OutboxStats",
    "EventSourceJSONEncoder",
    "SQLiteCheckpointRepository",
    "SQLiteOutboxRepository",
    "SQLiteDLQRepository",
    "Snapshot",
    "SnapshotStore",
    "InMemorySnapshotStore",
    "SnapshotError",
    "SnapshotDeserializationError",
    "SnapshotSchemaVersionError",
    "SnapshotNotFoundError",
    "SyncEventStoreAdapter",
    "tenant_context",
    "get_current_tenant",
    "get_required_tenant",
    "set_current_tenant",
    "clear_tenant_context",
    "tenant_scope",
    "tenant_scope_sync",
    "TenantDomainEvent",
    "TenantContextNotSetError",
    "TenantMismatchError",
]

STORES = [
    "AppendResult",
    "EventStream",
    "StoredEvent",
    "ReadOptions",
    "ReadDirection",
    "ExpectedVersion",
    "EventStore",
    "InMemoryEventStore",
    "PostgreSQLEventStore",
    "EventPublisher",
    "TypeConverter",
    "DefaultTypeConverter",
    "DEFAULT_UUID_FIELDS",
    "DEFAULT_STRING_ID_FIELDS",
    "SQLiteEventStore",
]

REPOSITORIES = [
    "CheckpointRepository",
    "CheckpointRepositoryProtocol",
    "PostgreSQLCheckpointRepository",
    "SQLiteCheckpointRepository",
    "InMemoryCheckpointRepository",
    "CheckpointData",
    "LagMetrics",
    "DLQRepository",
    "DLQRepositoryProtocol",
    "PostgreSQLDLQRepository",
    "SQLiteDLQRepository",
    "InMemoryDLQRepository",
    "DLQEntry",
    "DLQStats",
    "ProjectionFailureCount",
    "OutboxRepository",
    "OutboxRepositoryProtocol",
    "PostgreSQLOutboxRepository",
    "SQLiteOutboxRepository",
    "InMemoryOutboxRepository",
    "OutboxEntry",
    "OutboxStats",
    "EventSourceJSONEncoder",
    "json_dumps",
    "json_loads",
]

EXCEPTIONS = [
    "EventSourceError",
    "OptimisticLockError",
    "EventNotFoundError",
    "ProjectionError",
    "AggregateNotFoundError",
    "EventStoreError",
    "EventBusError",
    "CheckpointError",
    "SerializationError",
    "EventVersionError",
    "UnhandledEventError",
    "AggregateNotCreatedError",
    "EventTypeNotFoundError",
]

#: 0.5.0's module paths (the reference's, plus the per-role modules its users import) and
#: the names each must hold.
MODULES: dict[str, list[str]] = {
    "eventsource": TOP_LEVEL,
    "eventsource.stores": STORES,
    "eventsource.repositories": REPOSITORIES,
    "eventsource.exceptions": EXCEPTIONS,
    "eventsource.types": [
        "TState",
        "AggregateId",
        "EventId",
        "TenantId",
        "CorrelationId",
        "CausationId",
        "Version",
        "StreamPosition",
        "GlobalPosition",
    ],
    "eventsource.events": ["DomainEvent", "EventRegistry", "default_registry"],
    "eventsource.events.base": ["DomainEvent"],
    "eventsource.events.registry": [
        "EventRegistry",
        "default_registry",
        "register_event",
        "get_event_class",
        "get_event_class_or_none",
        "is_event_registered",
        "list_registered_events",
        "EventTypeNotFoundError",
        "DuplicateEventTypeError",
    ],
    "eventsource.serialization": ["EventSourceJSONEncoder", "json_dumps", "json_loads"],
    "eventsource.repositories._json": ["EventSourceJSONEncoder", "json_dumps", "json_loads"],
    "eventsource.stores.interface": [
        "AppendResult",
        "EventStream",
        "StoredEvent",
        "ReadOptions",
        "ReadDirection",
        "ExpectedVersion",
        "EventStore",
        "EventPublisher",
    ],
    "eventsource.stores.in_memory": ["InMemoryEventStore"],
    "eventsource.stores.sqlite": ["SQLiteEventStore"],
    "eventsource.stores.postgresql": ["PostgreSQLEventStore"],
    "eventsource.stores._type_converter": [
        "TypeConverter",
        "DefaultTypeConverter",
        "DEFAULT_UUID_FIELDS",
        "DEFAULT_STRING_ID_FIELDS",
    ],
    "eventsource.repositories.checkpoint": [
        "CheckpointRepository",
        "CheckpointRepositoryProtocol",
        "InMemoryCheckpointRepository",
        "SQLiteCheckpointRepository",
        "PostgreSQLCheckpointRepository",
        "CheckpointData",
        "LagMetrics",
    ],
    "eventsource.repositories.outbox": [
        "OutboxRepository",
        "OutboxRepositoryProtocol",
        "InMemoryOutboxRepository",
        "SQLiteOutboxRepository",
        "PostgreSQLOutboxRepository",
        "OutboxEntry",
        "OutboxStats",
    ],
    "eventsource.repositories.dlq": [
        "DLQRepository",
        "DLQRepositoryProtocol",
        "InMemoryDLQRepository",
        "SQLiteDLQRepository",
        "PostgreSQLDLQRepository",
        "DLQEntry",
        "DLQStats",
        "ProjectionFailureCount",
    ],
    "eventsource.aggregates": ["AggregateRoot", "AggregateRepository"],
    "eventsource.handlers": ["handles"],
    "eventsource.multitenancy": [
        "tenant_context",
        "get_current_tenant",
        "get_required_tenant",
        "set_current_tenant",
        "clear_tenant_context",
        "tenant_scope",
        "tenant_scope_sync",
        "TenantDomainEvent",
        "TenantContextNotSetError",
        "TenantMismatchError",
    ],
    "eventsource.sync": ["SyncEventStoreAdapter"],
    "eventsource.snapshots": [
        "Snapshot",
        "SnapshotStore",
        "InMemorySnapshotStore",
        "SQLiteSnapshotStore",
        "PostgreSQLSnapshotStore",
        "SnapshotError",
        "SnapshotDeserializationError",
        "SnapshotSchemaVersionError",
        "SnapshotNotFoundError",
    ],
}


@pytest.mark.parametrize("module_name", sorted(MODULES))
def test_every_listed_path_and_name_imports(module_name: str) -> None:
    module = importlib.import_module(module_name)
    missing = [name for name in MODULES[module_name] if not hasattr(module, name)]
    assert missing == [], f"{module_name} lacks {missing}"


@pytest.mark.parametrize("module_name", sorted(MODULES))
def test_the_names_are_our_objects(module_name: str) -> None:
    """The same name is the same object on every path (no second copy of a class)."""
    module = importlib.import_module(module_name)
    for name in MODULES[module_name]:
        ours = None
        for source in (eventsource, stores, repositories, exceptions, compat):
            if name in getattr(source, "__all__", ()) or hasattr(source, name):
                try:
                    ours = getattr(source, name)
                except AttributeError:
                    continue
                break
        if ours is not None and name not in ("__version__",):
            assert getattr(module, name) is ours, f"{module_name}.{name}"


def test_renamed_classes_are_aliases() -> None:
    assert eventsource.InMemoryEventStore is MemoryEventStore
    assert repositories.CheckpointRepositoryProtocol is repositories.CheckpointRepository
    assert eventsource.InMemoryOutboxRepository is repositories.MemoryOutboxRepository
    assert exceptions.EventTypeNotFoundError is eventsource.UnknownEventTypeError
    assert issubclass(eventsource.EventTypeNotFoundError, KeyError)
    assert eventsource.SQLITE_AVAILABLE is True


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        eventsource.NoSuchName  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(AttributeError):
        stores.NoSuchName  # type: ignore[attr-defined]  # noqa: B018
