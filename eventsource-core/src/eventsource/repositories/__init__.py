"""Checkpoint, outbox and DLQ contracts, projection ownership leases, their records, and
in-memory implementations.

User API only: the helpers a backend author needs (``check_limit``, ``prepare_failed_event``,
``hand_out_claims``, ...) are in :mod:`eventsource.spi`. Backend repositories
(``SQLiteCheckpointRepository``, ``PostgreSQLOutboxRepository``, ...) resolve lazily through
the plugin registry, so importing one names the pip command when its backend is not installed.
"""

from typing import TYPE_CHECKING

from ._contracts import DEFAULT_LEASE, CheckpointRepository, DLQRepository, OutboxRepository
from ._entries import (
    CheckpointData,
    DLQEntry,
    DLQStats,
    DLQStatus,
    ErrorDetails,
    LagMetrics,
    OutboxEntry,
    OutboxStats,
    OutboxStatus,
    ProjectionFailureCount,
)
from ._leases import ProjectionLease, ProjectionLeases

if TYPE_CHECKING:
    from eventsource_postgres import (
        PostgreSQLCheckpointRepository as PostgreSQLCheckpointRepository,
    )
    from eventsource_postgres import PostgreSQLDLQRepository as PostgreSQLDLQRepository
    from eventsource_postgres import PostgreSQLOutboxRepository as PostgreSQLOutboxRepository
    from eventsource_sqlite import SQLiteCheckpointRepository as SQLiteCheckpointRepository
    from eventsource_sqlite import SQLiteDLQRepository as SQLiteDLQRepository
    from eventsource_sqlite import SQLiteOutboxRepository as SQLiteOutboxRepository

    from ..memory._repositories import (
        MemoryCheckpointRepository as MemoryCheckpointRepository,
    )
    from ..memory._repositories import MemoryDLQRepository as MemoryDLQRepository
    from ..memory._repositories import MemoryOutboxRepository as MemoryOutboxRepository

__all__ = [
    "DEFAULT_LEASE",
    "CheckpointData",
    "CheckpointRepository",
    "DLQEntry",
    "DLQRepository",
    "DLQStats",
    "DLQStatus",
    "ErrorDetails",
    "LagMetrics",
    "MemoryCheckpointRepository",
    "MemoryDLQRepository",
    "MemoryOutboxRepository",
    "OutboxEntry",
    "OutboxRepository",
    "OutboxStats",
    "OutboxStatus",
    "ProjectionFailureCount",
    "ProjectionLease",
    "ProjectionLeases",
]

_MEMORY = {"MemoryCheckpointRepository", "MemoryDLQRepository", "MemoryOutboxRepository"}

#: eventsource-py 0.5.0's names of this module, resolved from :mod:`eventsource.compat`.
_COMPAT = {
    "CheckpointRepositoryProtocol",
    "DLQRepositoryProtocol",
    "OutboxRepositoryProtocol",
    "InMemoryCheckpointRepository",
    "InMemoryDLQRepository",
    "InMemoryOutboxRepository",
    "EventSourceJSONEncoder",
    "json_dumps",
    "json_loads",
}

#: Backend classes this module resolves on first use.
_LAZY_CLASSES = (
    "SQLiteCheckpointRepository",
    "SQLiteOutboxRepository",
    "SQLiteDLQRepository",
    "PostgreSQLCheckpointRepository",
    "PostgreSQLOutboxRepository",
    "PostgreSQLDLQRepository",
)

if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        if name in _MEMORY:  # the memory backend imports this package: resolve on first use
            from ..memory import _repositories

            return getattr(_repositories, name)
        if name in _COMPAT:  # eventsource-py 0.5.0's names (eventsource.compat)
            from .. import compat

            return getattr(compat, name)
        from ..plugins._manager import resolve_lazy_class

        return resolve_lazy_class(__name__, name, _LAZY_CLASSES)
