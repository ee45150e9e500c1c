"""The hooks plugins implement: one per storage role of a backend (the snapshot store is
optional), and one for outbox publishers, each returning named specs.

Hooks are synchronous (pluggy has no async support); they only describe what the plugin
provides. The objects their factories build are async. A backend plugin is found through
the ``eventsource.backends`` entry-point group, a publisher plugin through
``eventsource.publishers`` (one module may be both, declared in both groups).
"""

from __future__ import annotations

from collections.abc import Iterable

import pluggy

from ._specs import (
    CheckpointRepositorySpec,
    DLQRepositorySpec,
    EventStoreSpec,
    OutboxRepositorySpec,
    PublisherSpec,
    SnapshotStoreSpec,
)

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]

PROJECT_NAME = "eventsource"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def eventsource_event_stores() -> Iterable[EventStoreSpec]:
    """Return the event store backends this plugin provides.

    Example::

        @hookimpl
        def eventsource_event_stores():
            return [EventStoreSpec(name="mydb", store_class=MyStore,
                                   from_url=MyStore.from_url, schemes=("mydb",))]
    """
    raise NotImplementedError


@hookspec
def eventsource_checkpoint_repositories() -> Iterable[CheckpointRepositorySpec]:
    """Return the checkpoint repositories this plugin provides.

    Example::

        @hookimpl
        def eventsource_checkpoint_repositories():
            return [CheckpointRepositorySpec(
                name="mydb", repository_class=MyCheckpoints,
                factory=lambda store: MyCheckpoints(store.connection))]
    """
    raise NotImplementedError


@hookspec
def eventsource_outbox_repositories() -> Iterable[OutboxRepositorySpec]:
    """Return the outbox repositories this plugin provides.

    Example::

        @hookimpl
        def eventsource_outbox_repositories():
            return [OutboxRepositorySpec(name="mydb", repository_class=MyOutbox,
                                         factory=lambda store: MyOutbox(store.connection))]
    """
    raise NotImplementedError


@hookspec
def eventsource_dlq_repositories() -> Iterable[DLQRepositorySpec]:
    """Return the dead-letter-queue repositories this plugin provides.

    Example::

        @hookimpl
        def eventsource_dlq_repositories():
            return [DLQRepositorySpec(name="mydb", repository_class=MyDLQ,
                                      factory=lambda store: MyDLQ(store.connection))]
    """
    raise NotImplementedError


@hookspec
def eventsource_snapshot_stores() -> Iterable[SnapshotStoreSpec]:
    """Return the snapshot stores this plugin provides (optional: a backend without one still
    opens; ``AggregateRepository(snapshot_every=...)`` over its store then needs
    ``snapshot_store=``).

    The factory gets the backend's event store, possibly not yet connected: the snapshot
    store must reach the connection through it when used, not when built. Example::

        @hookimpl
        def eventsource_snapshot_stores():
            return [SnapshotStoreSpec(name="mydb", repository_class=MySnapshots,
                                      factory=lambda store: MySnapshots(store))]
    """
    raise NotImplementedError


@hookspec
def eventsource_publishers() -> Iterable[PublisherSpec]:
    """Return the outbox publishers this plugin provides, found by name by
    :class:`~eventsource.runtime.OutboxRelay` and :func:`~eventsource.runtime.get_publisher`.

    Example::

        @hookimpl
        def eventsource_publishers():
            return [PublisherSpec(name="kafka", factory=KafkaPublisher)]
    """
    raise NotImplementedError
