"""The roles under test: one event store and the repositories built over it, as the kit's
``backend`` fixture hands them to each test, each read capped so that it cannot run forever."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any, Self, TypeVar

import pytest

from .._exceptions import ConfigurationError, StorageUnavailableError
from ..plugins._backend import Backend
from ..plugins._snapshot_stores import remember_snapshot_store
from ..plugins._specs import Capabilities
from ..repositories._contracts import CheckpointRepository, DLQRepository, OutboxRepository
from ..snapshots._contract import SnapshotStore
from ..stores._contract import EventStore
from ..stores._types import StoredEvent

__all__ = [
    "DEFAULT_READ_CAP",
    "ROLES",
    "CheckpointsFactory",
    "DLQFactory",
    "EventStoreOpener",
    "OutboxFactory",
    "RoleBackend",
    "RoleOpener",
    "SnapshotsFactory",
    "roles_of",
]

RepoT = TypeVar("RepoT")

#: How the kit opens an event store on its own: each call returns a NEW, unconnected store on
#: the SAME storage (the kit opens it with ``await store.open()``).
EventStoreOpener = Callable[[], EventStore]
#: Builds the checkpoint repository over a connected store (like ``CheckpointRepositorySpec``).
CheckpointsFactory = Callable[[EventStore], CheckpointRepository]
#: Builds the outbox repository over a connected store.
OutboxFactory = Callable[[EventStore], OutboxRepository]
#: Builds the DLQ repository over a connected store.
DLQFactory = Callable[[EventStore], DLQRepository]
#: Builds the snapshot store over a connected store (the optional fifth role).
SnapshotsFactory = Callable[[EventStore], SnapshotStore]

#: The roles beside the event store, by the attribute the kit reads them from.
ROLES = ("checkpoints", "outbox", "dlq", "snapshots")

#: The most events one kit read may yield (no kit test reads more than a few thousand).
DEFAULT_READ_CAP = 100_000

_READS = ("read_all", "read_stream")


def _capped(read: Callable[..., AsyncIterator[StoredEvent]], where: str, cap: int) -> Any:
    """``read`` (a bound streaming read), failing the test once it yields more than ``cap``."""

    @functools.wraps(read)
    async def capped(*args: Any, **kwargs: Any) -> AsyncIterator[StoredEvent]:
        count = 0
        async with contextlib.aclosing(read(*args, **kwargs)) as events:  # type: ignore[type-var]
            async for stored in events:
                count += 1
                if count > cap:
                    pytest.fail(
                        f"{where} yielded more than {cap} events in one read (the kit's read "
                        "cap): a read that never ends. Usual cause: paging that resumes AT the "
                        "last row of the previous page instead of after it (from_position is "
                        "exclusive), or a loop that never meets an empty or short page. Raise "
                        "the cap with --eventsource-read-cap or the class attribute read_cap.",
                        pytrace=False,
                    )
                yield stored

    return capped


class RoleBackend:
    """The roles a kit test certifies, over one event store: what ``backend`` is in a test.

    It looks like a :class:`Backend` (``events``, ``checkpoints``, ``outbox``, ``dlq``,
    ``name``, ``capabilities``, ``open``/``close``, ``async with``), but a role may be absent:
    a test that needs it is skipped, naming the fixture that would provide it. ``read_all``
    and ``read_stream`` of the store are capped at ``read_cap`` events per read.
    """

    def __init__(
        self,
        store: EventStore,
        *,
        name: str | None = None,
        capabilities: Capabilities | None = None,
        checkpoints: CheckpointsFactory | None = None,
        outbox: OutboxFactory | None = None,
        dlq: DLQFactory | None = None,
        snapshots: SnapshotsFactory | None = None,
        read_cap: int = DEFAULT_READ_CAP,
        create: bool = True,
    ) -> None:
        self.store = store
        self.name = name or type(store).__name__
        self.capabilities = capabilities or Capabilities()
        self.factories: dict[str, Callable[[EventStore], Any] | None] = {
            "checkpoints": checkpoints,
            "outbox": outbox,
            "dlq": dlq,
            "snapshots": snapshots,
        }
        self.create = create
        self._repositories: dict[str, Any] = {}
        self._open = False
        kind = type(store).__qualname__
        where = f"backend {self.name!r}" + (f" ({kind})" if kind != self.name else "")
        for read in _READS:
            with contextlib.suppress(AttributeError, TypeError):  # a store with __slots__
                setattr(store, read, _capped(getattr(store, read), f"{where}.{read}", read_cap))

    @classmethod
    def of_backend(cls, backend: Backend, *, read_cap: int = DEFAULT_READ_CAP) -> Self:
        """The four roles of ``backend`` (unopened), over its own store."""
        spec = backend.spec
        return cls(
            backend._store,  # the store the Backend built from its URL, not a second one
            name=backend.name,
            capabilities=backend.capabilities,
            checkpoints=spec.checkpoints.factory if spec.checkpoints else None,
            outbox=spec.outbox.factory if spec.outbox else None,
            dlq=spec.dlq.factory if spec.dlq else None,
            snapshots=spec.snapshots.factory if spec.snapshots else None,
            read_cap=read_cap,
            create=backend.create,
        )

    def has(self, role: str) -> bool:
        """Whether ``role`` (``checkpoints``, ``outbox``, ``dlq``, ``snapshots``) is under test."""
        return self.factories[role] is not None

    @property
    def is_open(self) -> bool:
        """True between :meth:`open` and :meth:`close`."""
        return self._open

    async def open(self, *, create: bool | None = None) -> Self:
        """Open the store (``create``: see :meth:`EventStore.open`) and build the roles."""
        if self._open:
            return self
        await self.store.open(create=self.create if create is None else create)
        try:
            for role, factory in self.factories.items():
                if factory is not None:
                    self._repositories[role] = factory(self.store)
            if "snapshots" in self._repositories:  # what AggregateRepository(store) finds
                remember_snapshot_store(self.store, self._repositories["snapshots"])
        except BaseException:
            await self.store.close()
            raise
        self._open = True
        return self

    async def close(self) -> None:
        """Close the store; idempotent."""
        self._open = False
        self._repositories.clear()
        await self.store.close()

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _role(self, role: str) -> Any:
        if not self._open:
            raise StorageUnavailableError(
                f"backend {self.name!r} is not open: 'async with opener() as backend' before "
                f"backend.{role}"
            )
        if role == "events":
            return self.store
        if self.factories[role] is None:
            pytest.skip(
                f"backend {self.name!r} is certified without the {role} role: define the "
                f"'{role}_factory' fixture (or 'backend_opener', for a whole backend) to test it"
            )
        return self._repositories[role]

    @property
    def events(self) -> EventStore:
        """The event store (usable once open)."""
        store: EventStore = self._role("events")
        return store

    @property
    def checkpoints(self) -> CheckpointRepository:
        """The checkpoint repository (the test is skipped when it is not under test)."""
        repository: CheckpointRepository = self._role("checkpoints")
        return repository

    @property
    def outbox(self) -> OutboxRepository:
        """The outbox repository (the test is skipped when it is not under test)."""
        repository: OutboxRepository = self._role("outbox")
        return repository

    @property
    def dlq(self) -> DLQRepository:
        """The DLQ repository (the test is skipped when it is not under test)."""
        repository: DLQRepository = self._role("dlq")
        return repository

    @property
    def snapshots(self) -> SnapshotStore:
        """The snapshot store (the test is skipped when it is not under test)."""
        store: SnapshotStore = self._role("snapshots")
        return store

    @property
    def has_snapshots(self) -> bool:
        """True when the snapshot role is under test."""
        return self.has("snapshots")

    def __repr__(self) -> str:
        roles = ", ".join(["events", *(r for r in ROLES if self.has(r))])
        state = "open" if self._open else "closed"
        return f"<RoleBackend {self.name} ({roles}) {state}>"


#: How the kit opens the roles under test: each call a NEW, unopened :class:`RoleBackend` on
#: the SAME storage.
RoleOpener = Callable[[], RoleBackend]


def roles_of(opened: object, *, read_cap: int = DEFAULT_READ_CAP) -> RoleBackend:
    """``opened`` (what an opener returned: a Backend, an EventStore or a RoleBackend) as a
    :class:`RoleBackend`."""
    if isinstance(opened, RoleBackend):
        return opened
    if isinstance(opened, Backend):
        return RoleBackend.of_backend(opened, read_cap=read_cap)
    if isinstance(opened, EventStore):
        return RoleBackend(opened, read_cap=read_cap)
    raise ConfigurationError(
        f"a kit opener returned {opened!r}: expected a new, unopened Backend or EventStore"
    )
