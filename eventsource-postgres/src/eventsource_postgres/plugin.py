"""The PostgreSQL backend's plugin (entry point ``postgresql`` in ``eventsource.backends``).

``postgresql://user:pass@host:5432/db?pool_max=20&schema=myapp`` (or ``postgres://``); the
repositories share the store's pool and schema.
"""

from __future__ import annotations

from eventsource.spi import (
    Capabilities,
    CheckpointRepositorySpec,
    DLQRepositorySpec,
    EventStore,
    EventStoreSpec,
    InvalidArgumentError,
    OutboxRepositorySpec,
    hookimpl,
)

from ._checkpoints import PostgreSQLCheckpointRepository
from ._dlq import PostgreSQLDLQRepository
from ._outbox import PostgreSQLOutboxRepository
from ._store import PostgreSQLEventStore

__all__ = ["CAPABILITIES"]

#: What the PostgreSQL backend can do.
CAPABILITIES = Capabilities(
    persistent=True,
    concurrent_connections=True,
    parallel_writers=True,
    transactional_outbox=True,
    live_notifications=True,
    projection_leases=True,
)


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
