"""eventsource-postgres: the PostgreSQL backend (asyncpg) of eventsource.

All five roles over one asyncpg pool: :class:`PostgreSQLEventStore`, the checkpoint,
outbox and DLQ repositories and :class:`PostgreSQLSnapshotStore`. Open it by URL with
``eventsource.open_backend("postgresql://user@host/db?schema=myapp")``.
"""

from ._checkpoints import PostgreSQLCheckpointRepository
from ._diagnostics import InFlightAppend
from ._dlq import PostgreSQLDLQRepository
from ._options import OPTION_SPECS, PostgresOptions
from ._outbox import PostgreSQLOutboxRepository
from ._schema import SCHEMA_VERSION
from ._snapshots import PostgreSQLSnapshotStore
from ._store import PostgreSQLEventStore

__all__ = [
    "OPTION_SPECS",
    "SCHEMA_VERSION",
    "InFlightAppend",
    "PostgreSQLCheckpointRepository",
    "PostgreSQLDLQRepository",
    "PostgreSQLEventStore",
    "PostgreSQLOutboxRepository",
    "PostgreSQLSnapshotStore",
    "PostgresOptions",
]
