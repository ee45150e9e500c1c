"""The SQLite backend's plugin, registered through the ``eventsource.backends`` entry point.

URLs: ``sqlite:///relative.db``, ``sqlite:////abs/path.db``, ``sqlite:///:memory:`` (or
``sqlite://``). Options: ``wal_mode`` (bool), ``busy_timeout`` (ms), ``synchronous``
(OFF/NORMAL/FULL/EXTRA), ``read_only`` (bool), ``max_event_bytes`` (int). The three
repositories share the store's one connection.
"""

from __future__ import annotations

from eventsource._exceptions import InvalidBackendURLError
from eventsource.events import DEFAULT_MAX_EVENT_BYTES
from eventsource.plugins._hookspecs import hookimpl
from eventsource.plugins._specs import (
    Capabilities,
    CheckpointRepositorySpec,
    DLQRepositorySpec,
    EventStoreSpec,
    OutboxRepositorySpec,
)
from eventsource.plugins._url import BackendURL
from eventsource.stores._contract import EventStore

from ._checkpoints import SQLiteCheckpointRepository
from ._dlq import SQLiteDLQRepository
from ._outbox import SQLiteOutboxRepository
from ._store import SYNCHRONOUS_MODES, SQLiteEventStore

__all__ = ["OPTIONS", "store_from_url"]

#: The query options a ``sqlite://`` URL may carry.
OPTIONS = frozenset({"wal_mode", "busy_timeout", "synchronous", "read_only", "max_event_bytes"})


def store_from_url(url: BackendURL) -> SQLiteEventStore:
    """An unconnected store for a ``sqlite://`` URL."""
    url.check_options(OPTIONS)
    synchronous = url.option("synchronous", str)
    if synchronous is not None and synchronous.upper() not in SYNCHRONOUS_MODES:
        raise InvalidBackendURLError(
            f"option synchronous={synchronous!r} in {url} is not one of "
            + ", ".join(SYNCHRONOUS_MODES)
        )
    busy_timeout = url.option("busy_timeout", int, 5000)
    if busy_timeout < 0:
        raise InvalidBackendURLError(f"option busy_timeout in {url} must be >= 0")
    if url.host:
        raise InvalidBackendURLError(
            f"{url}: a sqlite URL has no host; use sqlite:///relative.db or sqlite:////abs.db"
        )
    return SQLiteEventStore(
        url.database or ":memory:",
        wal_mode=url.option("wal_mode", bool, True),
        busy_timeout=busy_timeout,
        synchronous=synchronous,
        read_only=url.option("read_only", bool, False),
        max_event_bytes=url.option("max_event_bytes", int, DEFAULT_MAX_EVENT_BYTES),
    )


def _store(store: EventStore) -> SQLiteEventStore:
    if not isinstance(store, SQLiteEventStore):
        raise TypeError(f"SQLite repositories need a SQLiteEventStore, got {type(store).__name__}")
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
            ),
            description="One SQLite file (aiosqlite): single writer, concurrent readers (WAL).",
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
