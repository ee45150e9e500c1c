"""eventsource: async event-sourcing storage with pluggable backends.

The front door. Backend classes (``SQLiteEventStore``, ``PostgreSQLEventStore``, ...) resolve
lazily through the plugin registry: importing one whose backend is not installed raises
:class:`BackendNotInstalledError` with the pip command that fixes it. Only the backend classes we
ship are lazy; any other missing name is a plain :class:`AttributeError` that loads no plugin.
Type checkers see the real classes.

Backend authors: see :mod:`eventsource.spi`.
"""

from typing import TYPE_CHECKING

from ._exceptions import (
    AggregateNotCreatedError,
    AggregateNotFoundError,
    BackendNotInstalledError,
    BrokerError,
    BrokerNotInstalledError,
    BrokerUnavailableError,
    CheckpointError,
    ConfigurationError,
    ConnectionLostError,
    DatabaseLockedError,
    DuplicateEventError,
    DuplicateEventTypeError,
    EntryNotFoundError,
    EventDecodeError,
    EventNotFoundError,
    EventSourceError,
    EventStoreError,
    EventVersionError,
    ImportConflictError,
    InvalidArgumentError,
    InvalidBackendURLError,
    InvalidEventError,
    InvalidStateError,
    KafkaNotAvailableError,
    LegacySchemaError,
    NatsNotAvailableError,
    OptimisticLockError,
    OwnershipLostError,
    PayloadTooLargeError,
    PluginConflictError,
    ProjectionError,
    ProjectionOwnedError,
    ProjectionStoppedError,
    PublishRejectedError,
    RabbitMQNotAvailableError,
    RedisNotAvailableError,
    ReplayError,
    RepositoryError,
    SchemaVersionError,
    SerializationError,
    SnapshotDeserializationError,
    SnapshotError,
    SnapshotNotFoundError,
    SnapshotSchemaVersionError,
    StorageError,
    StorageUnavailableError,
    StoreNotFoundError,
    StreamDeletedError,
    TenantContextNotSetError,
    TenantMismatchError,
    UnhandledEventError,
    UnknownBackendError,
    UnknownEventTypeError,
    UnknownPublisherError,
    UpcastError,
    UpgradeVerificationError,
    WorkerBusyError,
)

if TYPE_CHECKING:
    from eventsource_postgres import (
        PostgreSQLCheckpointRepository as PostgreSQLCheckpointRepository,
    )
    from eventsource_postgres import PostgreSQLDLQRepository as PostgreSQLDLQRepository
    from eventsource_postgres import PostgreSQLEventStore as PostgreSQLEventStore
    from eventsource_postgres import PostgreSQLOutboxRepository as PostgreSQLOutboxRepository
    from eventsource_postgres import PostgreSQLSnapshotStore as PostgreSQLSnapshotStore
    from eventsource_sqlite import SQLiteCheckpointRepository as SQLiteCheckpointRepository
    from eventsource_sqlite import SQLiteDLQRepository as SQLiteDLQRepository
    from eventsource_sqlite import SQLiteEventStore as SQLiteEventStore
    from eventsource_sqlite import SQLiteOutboxRepository as SQLiteOutboxRepository
    from eventsource_sqlite import SQLiteSnapshotStore as SQLiteSnapshotStore

    from .aggregates import AggregateRepository, AggregateRoot
    from .events import DomainEvent, EventRegistry, default_registry
    from .memory import MemoryEventStore, MemorySnapshotStore
    from .plugins import Backend, BackendURL, open_backend, parse_url
    from .snapshots import EveryNEvents, Snapshot, SnapshotStore, SnapshotStrategy
    from .stores import (
        LIFECYCLE_AGGREGATE_TYPE,
        AppendResult,
        EventStore,
        EventStream,
        ExpectedVersion,
        ReadDirection,
        ReadOptions,
        RetentionPolicy,
        StoredEvent,
        StreamDeleted,
        StreamRestored,
        StreamTruncated,
        stream_id_for,
    )
    from .upcasting import Upcaster, upcaster

__version__ = "0.1.0"

#: The names imported on first use (so ``import eventsource`` stays light: the ``eventsource``
#: command's ``--help`` loads neither pydantic nor pluggy), and the module of each.
_LAZY_NAMES = {
    "AggregateRepository": "aggregates",
    "AggregateRoot": "aggregates",
    "AppendResult": "stores",
    "Backend": "plugins",
    "BackendURL": "plugins",
    "DomainEvent": "events",
    "EventRegistry": "events",
    "EventStore": "stores",
    "EventStream": "stores",
    "EveryNEvents": "snapshots",
    "ExpectedVersion": "stores",
    "LIFECYCLE_AGGREGATE_TYPE": "stores",
    "MemoryEventStore": "memory",
    "MemorySnapshotStore": "memory",
    "ReadDirection": "stores",
    "ReadOptions": "stores",
    "RetentionPolicy": "stores",
    "Snapshot": "snapshots",
    "SnapshotStore": "snapshots",
    "SnapshotStrategy": "snapshots",
    "StoredEvent": "stores",
    "StreamDeleted": "stores",
    "StreamRestored": "stores",
    "StreamTruncated": "stores",
    "Upcaster": "upcasting",
    "default_registry": "events",
    "open_backend": "plugins",
    "parse_url": "plugins",
    "stream_id_for": "stores",
    "upcaster": "upcasting",
    # the name other event-sourcing libraries use, and 0.5.0's name of the snapshot store
    "InMemoryEventStore": "memory:MemoryEventStore",
    "InMemorySnapshotStore": "memory:MemorySnapshotStore",
}

if TYPE_CHECKING:
    #: Alias under the name other event-sourcing libraries use.
    InMemoryEventStore = MemoryEventStore
    #: eventsource-py 0.5.0's name of the in-memory snapshot store.
    InMemorySnapshotStore = MemorySnapshotStore

__all__ = [
    "LIFECYCLE_AGGREGATE_TYPE",
    "AggregateNotCreatedError",
    "AggregateNotFoundError",
    "AggregateRepository",
    "AggregateRoot",
    "AppendResult",
    "Backend",
    "BackendNotInstalledError",
    "BackendURL",
    "BrokerError",
    "BrokerNotInstalledError",
    "BrokerUnavailableError",
    "CheckpointError",
    "ConfigurationError",
    "ConnectionLostError",
    "DatabaseLockedError",
    "DomainEvent",
    "DuplicateEventError",
    "DuplicateEventTypeError",
    "EntryNotFoundError",
    "EventDecodeError",
    "EventNotFoundError",
    "EventRegistry",
    "EventSourceError",
    "EventStore",
    "EventStoreError",
    "EventStream",
    "EventVersionError",
    "EveryNEvents",
    "ExpectedVersion",
    "ImportConflictError",
    "InMemoryEventStore",
    "InMemorySnapshotStore",
    "InvalidArgumentError",
    "InvalidBackendURLError",
    "InvalidEventError",
    "InvalidStateError",
    "KafkaNotAvailableError",
    "LegacySchemaError",
    "MemoryEventStore",
    "MemorySnapshotStore",
    "NatsNotAvailableError",
    "OptimisticLockError",
    "OwnershipLostError",
    "PayloadTooLargeError",
    "PluginConflictError",
    "ProjectionError",
    "ProjectionOwnedError",
    "ProjectionStoppedError",
    "PublishRejectedError",
    "RabbitMQNotAvailableError",
    "ReadDirection",
    "ReadOptions",
    "RedisNotAvailableError",
    "ReplayError",
    "RepositoryError",
    "RetentionPolicy",
    "SchemaVersionError",
    "SerializationError",
    "Snapshot",
    "SnapshotDeserializationError",
    "SnapshotError",
    "SnapshotNotFoundError",
    "SnapshotSchemaVersionError",
    "SnapshotStore",
    "SnapshotStrategy",
    "StorageError",
    "StorageUnavailableError",
    "StoreNotFoundError",
    "StoredEvent",
    "StreamDeleted",
    "StreamDeletedError",
    "StreamRestored",
    "StreamTruncated",
    "TenantContextNotSetError",
    "TenantMismatchError",
    "UnhandledEventError",
    "UnknownBackendError",
    "UnknownEventTypeError",
    "UnknownPublisherError",
    "UpcastError",
    "Upcaster",
    "UpgradeVerificationError",
    "WorkerBusyError",
    "__version__",
    "default_registry",
    "open_backend",
    "parse_url",
    "stream_id_for",
    "upcaster",
]


if not TYPE_CHECKING:  # to a type checker, the names above are the real classes

    def __dir__() -> list[str]:
        """The module's names, the lazy ones included before their first use."""
        return sorted(set(globals()) | set(_LAZY_NAMES) | set(__all__))

    def __getattr__(name: str) -> object:
        """Import the names of :data:`_LAZY_NAMES` (and submodules) on first use; resolve
        backend classes (``SQLiteEventStore``, ...) through the plugin registry, and
        eventsource-py 0.5.0's other top-level names from :mod:`eventsource.compat`."""
        import importlib.util

        where = _LAZY_NAMES.get(name)
        if where is not None:
            module, _, attr = where.partition(":")
            value = getattr(importlib.import_module(f".{module}", __name__), attr or name)
            globals()[name] = value
            return value
        if not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}"):
            return importlib.import_module(f".{name}", __name__)
        from .compat import TOP_LEVEL

        if name in TOP_LEVEL:
            from . import compat

            return getattr(compat, name)
        from .plugins._manager import resolve_lazy_class

        return resolve_lazy_class(__name__, name)
