"""eventsource: async event-sourcing storage with pluggable backends.

The front door. Backend classes (``SQLiteEventStore``, ``PostgreSQLEventStore``, ...) resolve
lazily through the plugin registry: importing one whose backend is not installed raises
:class:`BackendNotInstalledError` with the pip command that fixes it.
"""

from typing import Any

from ._exceptions import (
    AggregateNotFoundError,
    BackendNotInstalledError,
    ConfigurationError,
    ConnectionLostError,
    DatabaseLockedError,
    DuplicateEventError,
    DuplicateEventTypeError,
    EntryNotFoundError,
    EventDecodeError,
    EventSourceError,
    EventStoreError,
    InvalidArgumentError,
    InvalidBackendURLError,
    InvalidEventError,
    InvalidStateError,
    OptimisticLockError,
    PayloadTooLargeError,
    PluginConflictError,
    ProjectionStoppedError,
    ReplayError,
    RepositoryError,
    SchemaVersionError,
    SerializationError,
    StorageError,
    StorageUnavailableError,
    StoreNotFoundError,
    UnknownBackendError,
    UnknownEventTypeError,
    UnknownPublisherError,
    UpcastError,
)
from .aggregates import AggregateRepository, AggregateRoot
from .events import DomainEvent, EventRegistry, default_registry
from .memory import MemoryEventStore
from .plugins import Backend, BackendURL, open_backend, parse_url
from .stores import (
    AppendResult,
    EventStore,
    EventStream,
    ExpectedVersion,
    ReadDirection,
    ReadOptions,
    StoredEvent,
    stream_id_for,
)
from .upcasting import Upcaster, upcaster

__version__ = "0.1.0"

#: Alias under the name other event-sourcing libraries use.
InMemoryEventStore = MemoryEventStore

__all__ = [
    "AggregateNotFoundError",
    "AggregateRepository",
    "AggregateRoot",
    "AppendResult",
    "Backend",
    "BackendNotInstalledError",
    "BackendURL",
    "ConfigurationError",
    "ConnectionLostError",
    "DatabaseLockedError",
    "DomainEvent",
    "DuplicateEventError",
    "DuplicateEventTypeError",
    "EntryNotFoundError",
    "EventDecodeError",
    "EventRegistry",
    "EventSourceError",
    "EventStore",
    "EventStoreError",
    "EventStream",
    "ExpectedVersion",
    "InMemoryEventStore",
    "InvalidArgumentError",
    "InvalidBackendURLError",
    "InvalidEventError",
    "InvalidStateError",
    "MemoryEventStore",
    "OptimisticLockError",
    "PayloadTooLargeError",
    "PluginConflictError",
    "ProjectionStoppedError",
    "ReadDirection",
    "ReadOptions",
    "ReplayError",
    "RepositoryError",
    "SchemaVersionError",
    "SerializationError",
    "StorageError",
    "StorageUnavailableError",
    "StoreNotFoundError",
    "StoredEvent",
    "UnknownBackendError",
    "UnknownEventTypeError",
    "UnknownPublisherError",
    "UpcastError",
    "Upcaster",
    "__version__",
    "default_registry",
    "open_backend",
    "parse_url",
    "stream_id_for",
    "upcaster",
]


def __getattr__(name: str) -> Any:
    """Resolve backend classes (``SQLiteEventStore``, ...) through the plugin registry."""
    if name.startswith("__"):
        raise AttributeError(name)
    from .plugins._manager import get_registry

    return get_registry().resolve_class(name)
