"""The in-memory backend's plugin, registered through the ``eventsource.backends`` entry point.

``memory://`` opens a fresh, private database; ``memory://NAME`` (or ``memory:///NAME``) opens
the database called NAME, shared by every backend opened with that name in this process.

With ``create=False`` a private ``memory://`` never exists (it would be new), and
``memory://NAME`` exists only while another store or backend of this process holds it.
"""

from __future__ import annotations

from ..spi import (
    MAX_EVENT_BYTES,
    BackendURL,
    Capabilities,
    CheckpointRepositorySpec,
    DLQRepositorySpec,
    EventStore,
    EventStoreSpec,
    InvalidArgumentError,
    OptionSpec,
    OutboxRepositorySpec,
    SnapshotStoreSpec,
    hookimpl,
    read_options,
)
from ._names import state_named
from ._repositories import MemoryCheckpointRepository, MemoryDLQRepository, MemoryOutboxRepository
from ._scratch import scratch_storage
from ._snapshots import MemorySnapshotStore
from ._store import MemoryEventStore, MemoryState

__all__ = ["OPTIONS", "store_from_url"]

#: The query options a ``memory://`` URL may carry.
OPTIONS: tuple[OptionSpec, ...] = (MAX_EVENT_BYTES,)


def store_from_url(url: BackendURL) -> MemoryEventStore:
    """A memory store for ``url``; named URLs share state while any store holds it."""
    max_bytes = read_options(url, OPTIONS)["max_event_bytes"]
    name = url.host or url.database
    if not name:
        return MemoryEventStore(max_event_bytes=max_bytes)
    state, created = state_named(name, MemoryState)
    return MemoryEventStore(state, max_event_bytes=max_bytes, name=name, new=created)


def _state(store: EventStore) -> MemoryEventStore:
    if not isinstance(store, MemoryEventStore):
        raise InvalidArgumentError(
            f"memory repositories need a MemoryEventStore, got {type(store).__name__}"
        )
    return store


@hookimpl
def eventsource_event_stores() -> list[EventStoreSpec]:
    """The memory event store."""
    return [
        EventStoreSpec(
            name="memory",
            store_class=MemoryEventStore,
            from_url=store_from_url,
            capabilities=Capabilities(
                persistent=False,
                concurrent_connections=True,
                parallel_writers=False,
                transactional_outbox=True,
                live_notifications=True,
                projection_leases=True,
                outbox_aggregate_order=True,
                stream_lifecycle=True,
            ),
            description="In-process memory; for tests and demos. Nothing outlives the process.",
            scratch_storage=scratch_storage,
        )
    ]


@hookimpl
def eventsource_checkpoint_repositories() -> list[CheckpointRepositorySpec]:
    """The memory checkpoint repository."""
    return [
        CheckpointRepositorySpec(
            "memory",
            MemoryCheckpointRepository,
            lambda store: MemoryCheckpointRepository(_state(store)),
        )
    ]


@hookimpl
def eventsource_outbox_repositories() -> list[OutboxRepositorySpec]:
    """The memory outbox repository."""
    return [
        OutboxRepositorySpec(
            "memory", MemoryOutboxRepository, lambda store: MemoryOutboxRepository(_state(store))
        )
    ]


@hookimpl
def eventsource_dlq_repositories() -> list[DLQRepositorySpec]:
    """The memory DLQ repository."""
    return [
        DLQRepositorySpec(
            "memory", MemoryDLQRepository, lambda store: MemoryDLQRepository(_state(store))
        )
    ]


@hookimpl
def eventsource_snapshot_stores() -> list[SnapshotStoreSpec]:
    """The memory snapshot store, in the store's database."""
    return [
        SnapshotStoreSpec(
            "memory", MemorySnapshotStore, lambda store: MemorySnapshotStore(_state(store))
        )
    ]
