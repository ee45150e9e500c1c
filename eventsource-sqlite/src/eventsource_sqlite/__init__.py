"""eventsource-sqlite: the SQLite backend (aiosqlite) for eventsource.

All five roles over one SQLite file or ``:memory:``: :class:`SQLiteEventStore`,
:class:`SQLiteCheckpointRepository`, :class:`SQLiteOutboxRepository`,
:class:`SQLiteDLQRepository` and :class:`SQLiteSnapshotStore`. Usually reached as
``open_backend("sqlite:///events.db")`` or ``from eventsource import SQLiteEventStore``.
:class:`SQLiteProjection` is a read model in SQLite that the runtime's ``ProjectionRunner``
feeds exactly once (change and position in one transaction).
"""

from ._checkpoints import SQLiteCheckpointRepository
from ._dlq import SQLiteDLQRepository
from ._errors import SQLiteDatabaseLockedError
from ._options import OPTION_SPECS
from ._outbox import SQLiteOutboxRepository
from ._projection import SQLiteProjection
from ._schema import SCHEMA_VERSION
from ._snapshots import SQLiteSnapshotStore
from ._store import SQLiteEventStore

__all__ = [
    "OPTION_SPECS",
    "SCHEMA_VERSION",
    "SQLiteCheckpointRepository",
    "SQLiteDLQRepository",
    "SQLiteDatabaseLockedError",
    "SQLiteEventStore",
    "SQLiteOutboxRepository",
    "SQLiteProjection",
    "SQLiteSnapshotStore",
]
