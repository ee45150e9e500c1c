"""The PostgreSQL backend's plugin (entry point ``postgresql`` in ``eventsource.backends``).

``postgresql://user:pass@host:5432/db?pool_max=20&schema=myapp`` (or ``postgres://``); the
repositories and the snapshot store share the store's pool and schema.
"""

from __future__ import annotations

from eventsource.spi import (
    BackendURL,
    Capabilities,
    CheckpointRepositorySpec,
    DLQRepositorySpec,
    EventStore,
    EventStoreSpec,
    InvalidArgumentError,
    OutboxRepositorySpec,
    SnapshotStoreSpec,
    hookimpl,
)

from ._checkpoints import PostgreSQLCheckpointRepository
from ._dlq import PostgreSQLDLQRepository
from ._legacy_upgrade import PostgresLegacyConverter
from ._options import PostgresOptions
from ._outbox import PostgreSQLOutboxRepository
from ._scratch import scratch_storage
from ._snapshots import PostgreSQLSnapshotStore
from ._store import PostgreSQLEventStore

__all__ = ["CAPABILITIES", "same_store"]

#: What the PostgreSQL backend can do.
CAPABILITIES = Capabilities(
    persistent=True,
    concurrent_connections=True,
    parallel_writers=True,
    transactional_outbox=True,
    live_notifications=True,
    projection_leases=True,
    outbox_aggregate_order=True,
    stream_lifecycle=True,
)


_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _where(url: BackendURL) -> tuple[str, int, str | None, str]:
    """Server, port, database and schema a ``postgresql://`` URL names, defaults filled in
    as asyncpg fills them (the database defaults to the user's name)."""
    host = (url.host or "localhost").lower()
    schema = PostgresOptions.from_url(url).schema
    return (
        "localhost" if host in _LOCAL_HOSTS else host,
        url.port or 5432,
        url.database or url.username,
        schema,
    )


def same_store(a: BackendURL, b: BackendURL) -> bool:
    """Two ``postgresql://`` URLs name one store when host, port, database and schema are the
    same (user, password and pool options do not pick a store; another schema is another
    store)."""
    return _where(a) == _where(b)


def _store(store: EventStore) -> PostgreSQLEventStore:
    if not isinstance(store, PostgreSQLEventStore):
        raise InvalidArgumentError(
            f"PostgreSQL repositories need a PostgreSQLEventStore, got {type(store).__name__}"
        )
    return store


@hookimpl
def eventsource_event_stores() -> list[EventStoreSpec]:
    """The PostgreSQL event store."""
    return [
        EventStoreSpec(
            name="postgresql",
            store_class=PostgreSQLEventStore,
            from_url=PostgreSQLEventStore.from_url,
            schemes=("postgresql", "postgres"),
            capabilities=CAPABILITIES,
            description="PostgreSQL via asyncpg: many writers, LISTEN/NOTIFY, JSONB payloads.",
            same_store=same_store,
            legacy_converter=PostgresLegacyConverter,
            scratch_storage=scratch_storage,
        )
    ]


@hookimpl
def eventsource_checkpoint_repositories() -> list[CheckpointRepositorySpec]:
    """The PostgreSQL checkpoint repository."""
    return [
        CheckpointRepositorySpec(
            "postgresql",
            PostgreSQLCheckpointRepository,
            lambda store: PostgreSQLCheckpointRepository(_store(store)),
        )
    ]


@hookimpl
def eventsource_outbox_repositories() -> list[OutboxRepositorySpec]:
    """The PostgreSQL outbox repository."""
    return [
        OutboxRepositorySpec(
            "postgresql",
            PostgreSQLOutboxRepository,
            lambda store: PostgreSQLOutboxRepository(_store(store)),
        )
    ]


@hookimpl
def eventsource_dlq_repositories() -> list[DLQRepositorySpec]:
    """The PostgreSQL DLQ repository."""
    return [
        DLQRepositorySpec(
            "postgresql",
            PostgreSQLDLQRepository,
            lambda store: PostgreSQLDLQRepository(_store(store)),
        )
    ]


@hookimpl
def eventsource_snapshot_stores() -> list[SnapshotStoreSpec]:
    """The PostgreSQL snapshot store, a table of the store's schema in its pool."""
    return [
        SnapshotStoreSpec(
            "postgresql",
            PostgreSQLSnapshotStore,
            lambda store: PostgreSQLSnapshotStore(_store(store)),
        )
    ]
