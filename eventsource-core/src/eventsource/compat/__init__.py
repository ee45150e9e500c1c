"""eventsource-py 0.5.0's public names that are not (yet) ours, in one place.

The core contract (:mod:`eventsource`, :mod:`eventsource.stores`, ...) keeps our names; the
names only 0.5.0 had live here, and its module paths (``eventsource.stores.sqlite``,
``eventsource.repositories.checkpoint``, ``eventsource.types``, ...) are small modules that
re-export them. ``from eventsource import register_event`` (any name in
:data:`TOP_LEVEL`) resolves here lazily. What differs from 0.5.0, and why:
``docs/migrating-from-eventsource-py.md``.
"""

from .._exceptions import UnknownEventTypeError as EventTypeNotFoundError
from ..memory._repositories import MemoryCheckpointRepository as InMemoryCheckpointRepository
from ..memory._repositories import MemoryDLQRepository as InMemoryDLQRepository
from ..memory._repositories import MemoryOutboxRepository as InMemoryOutboxRepository
from ..repositories import (
    CheckpointData,
    CheckpointRepository,
    DLQEntry,
    DLQRepository,
    DLQStats,
    LagMetrics,
    OutboxEntry,
    OutboxRepository,
    OutboxStats,
    ProjectionFailureCount,
)
from ._converter import (
    DEFAULT_STRING_ID_FIELDS,
    DEFAULT_UUID_FIELDS,
    DefaultTypeConverter,
    TypeConverter,
)
from ._declarative import DeclarativeAggregate, handles
from ._json import EventSourceJSONEncoder, json_dumps, json_loads
from ._publisher import EventPublisher
from ._registry import (
    get_event_class,
    get_event_class_or_none,
    is_event_registered,
    list_registered_events,
    register_event,
)
from ._sync import SyncEventStoreAdapter
from ._tenancy import (
    TenantDomainEvent,
    clear_tenant_context,
    get_current_tenant,
    get_required_tenant,
    set_current_tenant,
    tenant_context,
    tenant_scope,
    tenant_scope_sync,
)
from ._types import AggregateId, CausationId, CorrelationId, EventId, TenantId, TState

#: 0.5.0's Protocol names: plain aliases of the contracts.
CheckpointRepositoryProtocol = CheckpointRepository
DLQRepositoryProtocol = DLQRepository
OutboxRepositoryProtocol = OutboxRepository


def _sqlite_available() -> bool:
    from importlib.util import find_spec

    return find_spec("eventsource_sqlite") is not None


#: True when the SQLite backend is installed (0.5.0: when aiosqlite imports).
SQLITE_AVAILABLE: bool = _sqlite_available()

__all__ = [
    "DEFAULT_STRING_ID_FIELDS",
    "DEFAULT_UUID_FIELDS",
    "SQLITE_AVAILABLE",
    "TOP_LEVEL",
    "AggregateId",
    "CausationId",
    "CheckpointData",
    "CheckpointRepository",
    "CheckpointRepositoryProtocol",
    "CorrelationId",
    "DLQEntry",
    "DLQRepository",
    "DLQRepositoryProtocol",
    "DLQStats",
    "DeclarativeAggregate",
    "DefaultTypeConverter",
    "EventId",
    "EventPublisher",
    "EventSourceJSONEncoder",
    "EventTypeNotFoundError",
    "InMemoryCheckpointRepository",
    "InMemoryDLQRepository",
    "InMemoryOutboxRepository",
    "LagMetrics",
    "OutboxEntry",
    "OutboxRepository",
    "OutboxRepositoryProtocol",
    "OutboxStats",
    "ProjectionFailureCount",
    "SyncEventStoreAdapter",
    "TState",
    "TenantDomainEvent",
    "TenantId",
    "TypeConverter",
    "clear_tenant_context",
    "get_current_tenant",
    "get_event_class",
    "get_event_class_or_none",
    "get_required_tenant",
    "handles",
    "is_event_registered",
    "json_dumps",
    "json_loads",
    "list_registered_events",
    "register_event",
    "set_current_tenant",
    "tenant_context",
    "tenant_scope",
    "tenant_scope_sync",
]

#: The 0.5.0 top-level names that ``eventsource`` resolves from here.
TOP_LEVEL: frozenset[str] = frozenset(
    name
    for name in __all__
    if name
    not in {
        "TOP_LEVEL",
        "DEFAULT_STRING_ID_FIELDS",
        "DEFAULT_UUID_FIELDS",
        "TypeConverter",
        "DefaultTypeConverter",
        "CheckpointRepositoryProtocol",
        "DLQRepositoryProtocol",
        "OutboxRepositoryProtocol",
        "json_dumps",
        "json_loads",
    }
)
