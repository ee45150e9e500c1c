"""The SQLite backend's plugin, registered through the ``eventsource.backends`` entry point.

URLs: ``sqlite:///relative.db``, ``sqlite:////abs/path.db``, ``sqlite:///:memory:`` (or
``sqlite://``). Options (``OPTION_SPECS``, with type, range and default): ``wal_mode``,
``busy_timeout`` (ms), ``synchronous`` (OFF/NORMAL/FULL/EXTRA), ``read_only``,
``max_event_bytes``. The repositories and the snapshot store share the store's one connection.
"""

from __future__ import annotations

import os

from eventsource.spi import (
    BackendURL,
    Capabilities,
    CheckpointRepositorySpec,
    DLQRepositorySpec,
    EventStore,
    EventStoreSpec,
    InvalidArgumentError,
    InvalidBackendURLError,
    OutboxRepositorySpec,
    SnapshotStoreSpec,
    hookimpl,
    read_options,
)

from ._checkpoints import SQLiteCheckpointRepository
from ._dlq import SQLiteDLQRepository
from ._legacy_upgrade import SQLiteLegacyConverter
from ._options import OPTION_SPECS
from ._outbox import SQLiteOutboxRepository
from ._scratch import scratch_storage
from ._snapshots import SQLiteSnapshotStore
from ._store import SQLiteEventStore

__all__ = ["OPTIONS", "OPTION_SPECS", "same_store", "store_from_url"]

#: The names of the query options a ``sqlite://`` URL may carry (see ``OPTION_SPECS``).
OPTIONS = frozenset(spec.name for spec in OPTION_SPECS)


def store_from_url(url: BackendURL) -> SQLiteEventStore:
    """An unconnected store for a ``sqlite://`` URL; every option is checked here."""
    values = read_options(url, OPTION_SPECS)
    if url.host:
        raise InvalidBackendURLError(
            f"{url}: a sqlite URL has no host; use sqlite:///relative.db or sqlite:////abs.db"
        )
    return SQLiteEventStore(url.database or ":memory:", **values)


def _file(url: BackendURL) -> str | None:
    """The resolved path of a file URL's database (None for ``:memory:``)."""
    database = url.database or ":memory:"
    if database == ":memory:" or database.startswith("file:"):
        return None
    return os.path.realpath(database)


def same_store(a: BackendURL, b: BackendURL) -> bool:
    """Two ``sqlite://`` URLs name one store when they resolve to one file (``same.db`` and
    ``./same.db``; a symlink and its target); ``:memory:`` is private to each connection."""
    path_a, path_b = _file(a), _file(b)
    if path_a is None or path_b is None:
        return False
    if path_a == path_b:
        return True
    try:
        return os.path.samefile(path_a, path_b)
    except OSError:  # either file not there (yet): different paths, different files
        return False


def _store(store: EventStore) -> SQLiteEventStore:
    if not isinstance(store, SQLiteEventStore):
        raise InvalidArgumentError(
            f"SQLite repositories need a SQLiteEventStore, got {type(store).__name__}"
        )
    return store


@hookimpl
def eventsource_event_stores() -> list[EventStoreSpec]:
    """The SQLite event store."""
    return [
        EventStoreSpec(
            name="sqlite",
            store_class=SQLiteEventStore,
            from_url=store_from_url,
            capabilities=Capabilities(
                persistent=True,
                concurrent_connections=True,
                parallel_writers=False,
                transactional_outbox=True,
                live_notifications=False,
                projection_leases=True,
                outbox_aggregate_order=True,
                stream_lifecycle=True,
            ),
            description="One SQLite file (aiosqlite): single writer, concurrent readers (WAL).",
            same_store=same_store,
            legacy_converter=SQLiteLegacyConverter,
            scratch_storage=scratch_storage,
        )
    ]


@hookimpl
def eventsource_checkpoint_repositories() -> list[CheckpointRepositorySpec]:
    """The SQLite checkpoint repository, over the store's connection."""
    return [
        CheckpointRepositorySpec(
            "sqlite",
            SQLiteCheckpointRepository,
            lambda store: SQLiteCheckpointRepository(_store(store)),
        )
    ]


@hookimpl
def eventsource_outbox_repositories() -> list[OutboxRepositorySpec]:
    """The SQLite outbox repository, over the store's connection."""
    return [
        OutboxRepositorySpec(
            "sqlite", SQLiteOutboxRepository, lambda store: SQLiteOutboxRepository(_store(store))
        )
    ]


@hookimpl
def eventsource_dlq_repositories() -> list[DLQRepositorySpec]:
    """The SQLite DLQ repository, over the store's connection."""
    return [
        DLQRepositorySpec(
            "sqlite", SQLiteDLQRepository, lambda store: SQLiteDLQRepository(_store(store))
        )
    ]


@hookimpl
def eventsource_snapshot_stores() -> list[SnapshotStoreSpec]:
    """The SQLite snapshot store, a table of the store's file over its connection."""
    return [
        SnapshotStoreSpec(
            "sqlite", SQLiteSnapshotStore, lambda store: SQLiteSnapshotStore(_store(store))
        )
    ]
