"""The named specs that plugins return from their hooks: backends' roles and publishers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ..repositories._contracts import CheckpointRepository, DLQRepository, OutboxRepository
from ..repositories._entries import OutboxEntry
from ..snapshots._contract import SnapshotStore
from ..stores._contract import EventStore

if TYPE_CHECKING:
    from ..legacy._converter import LegacyConverter
    from ._url import BackendURL

__all__ = [
    "Capabilities",
    "CheckpointRepositorySpec",
    "DLQRepositorySpec",
    "EventStoreSpec",
    "OutboxRepositorySpec",
    "Publisher",
    "PublisherSpec",
    "RepositorySpec",
    "ScratchStorage",
    "ScratchStorageFactory",
    "SnapshotStoreSpec",
    "same_url_store",
]

RepoT = TypeVar("RepoT")


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a backend can do; the conformance kit skips tests whose capability is off.

    - ``persistent``: data outlives the process.
    - ``concurrent_connections``: several connections (store objects) may use one database at
      once; the kit's races open several.
    - ``parallel_writers``: writers proceed in parallel (False: they queue, as on SQLite).
    - ``transactional_outbox``: ``append_events(..., outbox=True)`` writes the outbox entries in
      the events' transaction.
    - ``live_notifications``: ``wait_for_events`` is woken by writers rather than polling.
    - ``projection_leases``: the checkpoint repository is also a
      :class:`~eventsource.repositories.ProjectionLeases` (one owner per projection, fenced
      checkpoint writes); runners then own their projection by default.
    - ``outbox_aggregate_order``: the outbox takes ``get_pending_events(...,
      per_aggregate_order=True)`` (one entry per aggregate out at a time, in add order);
      ``OutboxRelay(..., ordering="aggregate")`` needs it.
    - ``stream_lifecycle``: ``delete_stream``, ``restore_stream``, ``truncate_stream`` and
      ``scavenge`` work (docs/lifecycle.md); off by default, so a backend opts in.
    """

    persistent: bool = True
    concurrent_connections: bool = True
    parallel_writers: bool = True
    transactional_outbox: bool = True
    live_notifications: bool = False
    projection_leases: bool = False
    outbox_aggregate_order: bool = False
    stream_lifecycle: bool = False

    def enabled(self) -> list[str]:
        """Names of the capabilities that are on."""
        return [name for name in self.__dataclass_fields__ if getattr(self, name)]


def same_url_store(a: BackendURL, b: BackendURL) -> bool:
    """The default ``same_store``: two URLs name one store when user, host, port and database
    are equal; a URL with neither host nor database (or ``:memory:``) is private, never the
    same. Options are ignored (they tune a connection, they do not pick a store)."""
    if a.host is None and a.database in (None, "", ":memory:"):
        return False
    return (a.username, a.host, a.port, a.database) == (b.username, b.host, b.port, b.database)


@dataclass(frozen=True, slots=True)
class ScratchStorage:
    """Fresh, empty storage for one conformance-kit test, beside what a URL names.

    ``url``: a URL of this backend naming storage no one else uses, empty (created when the
    kit opens it). ``missing_url``: one naming storage that does not exist yet (the kit checks
    ``create=False`` against it; None skips that test). ``capabilities``: what the backend can
    do on this storage, when it differs from the spec's (``sqlite:///:memory:``).
    ``raw_event_writer``: the kit's ``raw_event_writer`` (an async ``(backend, RawEventRow) ->
    global position`` inserting a row around ``append_events``; None skips those tests).
    """

    url: str
    missing_url: str | None = None
    capabilities: Capabilities | None = None
    raw_event_writer: Callable[[Any, Any], Awaitable[int]] | None = None


#: What ``EventStoreSpec.scratch_storage`` is: given the URL ``eventsource conformance`` was
#: given, an async context manager yielding fresh storage for one test and removing it on exit.
ScratchStorageFactory = Callable[["BackendURL"], AbstractAsyncContextManager[ScratchStorage]]


@dataclass(frozen=True, slots=True)
class EventStoreSpec:
    """An event store backend: its name, URL schemes, class and how to build it from a URL.

    ``from_url`` returns an unconnected store; the repositories of the same backend are built
    over it once it is connected, so all four roles share its connection or pool.

    ``same_store(a, b)`` tells whether two of its URLs name one store (``eventsource migrate``
    refuses to copy a store onto itself): the same resolved file, the same server, database
    and schema. Without it, :func:`same_url_store` compares user, host, port and database.
    Whether a store exists is the store's :meth:`EventStore.connect_existing`, which raises
    :class:`StoreNotFoundError` (used by ``open_backend(url, create=False)``).
    ``legacy_converter``, when the backend can convert eventsource-py 0.5.0 databases, builds
    a :class:`~eventsource.spi.LegacyConverter` over such an unconnected store (used by
    ``eventsource upgrade``). ``scratch_storage``, when given, lets ``eventsource conformance
    URL`` certify the backend from a bare URL: it yields a :class:`ScratchStorage` (a fresh
    file, schema or name beside what the URL names) per kit test and removes it afterwards.
    """

    name: str
    store_class: type[EventStore]
    from_url: Callable[[BackendURL], EventStore]
    schemes: tuple[str, ...] = ()
    capabilities: Capabilities = field(default_factory=Capabilities)
    description: str = ""
    same_store: Callable[[BackendURL, BackendURL], bool] | None = None
    legacy_converter: Callable[[EventStore], LegacyConverter] | None = None
    scratch_storage: ScratchStorageFactory | None = None

    def is_same_store(self, a: BackendURL, b: BackendURL) -> bool:
        """Whether ``a`` and ``b`` (URLs of this backend) name one store."""
        return (self.same_store or same_url_store)(a, b)

    @property
    def all_schemes(self) -> tuple[str, ...]:
        """The URL schemes this backend serves (its name first)."""
        return (self.name, *(s for s in self.schemes if s != self.name))


@dataclass(frozen=True, slots=True)
class RepositorySpec(Generic[RepoT]):
    """A repository of one role: its backend name, class, and a factory over a connected store."""

    name: str
    repository_class: type[RepoT]
    factory: Callable[[EventStore], RepoT]


class CheckpointRepositorySpec(RepositorySpec[CheckpointRepository]):
    """A checkpoint repository implementation."""

    __slots__ = ()


class OutboxRepositorySpec(RepositorySpec[OutboxRepository]):
    """An outbox repository implementation."""

    __slots__ = ()


class DLQRepositorySpec(RepositorySpec[DLQRepository]):
    """A dead-letter-queue repository implementation."""

    __slots__ = ()


class SnapshotStoreSpec(RepositorySpec[SnapshotStore]):
    """A snapshot store implementation, built over the connected (or not yet connected)
    event store so that it shares its connection or pool: the fifth role, optional."""

    __slots__ = ()


#: An outbox publisher: ``await publish(entry)``, raising when the entry was not published.
Publisher = Callable[[OutboxEntry], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class PublisherSpec:
    """A named outbox publisher: ``factory(**options)`` returns the async ``publish(entry)``."""

    name: str
    factory: Callable[..., Publisher]
    description: str = ""
