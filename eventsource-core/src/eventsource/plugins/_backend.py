"""``open_backend``: one object holding all the roles over one connection or pool."""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import TracebackType
from typing import Self

from .._exceptions import ConfigurationError, StorageUnavailableError
from ..clock import Clock
from ..repositories._contracts import CheckpointRepository, DLQRepository, OutboxRepository
from ..snapshots._contract import SnapshotStore
from ..stores._contract import EventStore
from ._manager import BackendRegistry, BackendSpec, get_registry
from ._snapshot_stores import remember_snapshot_store
from ._specs import Capabilities
from ._url import BackendURL, parse_url

__all__ = ["DEFAULT_URL", "ENV_VAR", "Backend", "open_backend"]

#: The environment variable read when no URL is given.
ENV_VAR = "EVENTSOURCE_URL"
#: The embedded default used when neither a URL nor the environment names one.
DEFAULT_URL = "sqlite:///events.db"


class Backend:
    """The storage roles of one backend, sharing one connection or pool.

    ``async with open_backend(url) as backend:`` connects, creates the schema (idempotent) and
    builds ``backend.events``, ``backend.checkpoints``, ``backend.outbox``, ``backend.dlq``
    and, when the backend has one, ``backend.snapshots``.
    With ``create=False`` it opens an existing store only: a missing one raises
    :class:`StoreNotFoundError` naming the file or schema, and nothing is created.
    ``clock`` (default: the system clock) is the outbox's :attr:`OutboxRepository.clock
    <eventsource.repositories.OutboxRepository.clock>`, where its leases read the time.
    """

    def __init__(
        self,
        spec: BackendSpec,
        url: BackendURL,
        *,
        create: bool = True,
        clock: Clock | None = None,
    ) -> None:
        missing = spec.missing_roles()
        if missing:
            raise ConfigurationError(
                f"backend {spec.name!r} (plugin {spec.plugin!r}) does not provide: "
                + ", ".join(missing)
            )
        self.spec = spec
        self.url = url
        #: Whether :meth:`open` creates a missing store (the default) or refuses it.
        self.create = create
        #: The outbox's clock once open (None: the backend's default, the system clock).
        self.clock = clock
        self._store: EventStore = spec.event_store.from_url(url)
        self._checkpoints: CheckpointRepository | None = None
        self._outbox: OutboxRepository | None = None
        self._dlq: DLQRepository | None = None
        self._snapshots: SnapshotStore | None = None

    @property
    def name(self) -> str:
        """The backend's name (``memory``, ``sqlite``, ``postgresql``, ...)."""
        return self.spec.name

    @property
    def capabilities(self) -> Capabilities:
        """What this backend can do."""
        return self.spec.event_store.capabilities

    @property
    def is_open(self) -> bool:
        """True between :meth:`open` and :meth:`close`."""
        return self._checkpoints is not None

    async def open(self, *, create: bool | None = None) -> Self:
        """Connect, create the schema if needed and build the repositories.

        ``create`` (default: the backend's :attr:`create`) False opens an existing store only
        (see :meth:`EventStore.open`): :class:`StoreNotFoundError` when it does not exist.
        """
        if self.is_open:
            return self
        await self._store.open(create=self.create if create is None else create)
        try:
            assert self.spec.checkpoints and self.spec.outbox and self.spec.dlq
            self._outbox = self.spec.outbox.factory(self._store)
            if self.clock is not None:
                self._outbox.clock = self.clock
            self._dlq = self.spec.dlq.factory(self._store)
            self._checkpoints = self.spec.checkpoints.factory(self._store)
            if self.spec.snapshots is not None:
                self._snapshots = self.spec.snapshots.factory(self._store)
                remember_snapshot_store(self._store, self._snapshots)
        except BaseException:
            await self._store.close()
            raise
        return self

    async def close(self) -> None:
        """Close the shared connection or pool; idempotent."""
        self._checkpoints = self._outbox = self._dlq = None
        self._snapshots = None
        await self._store.close()

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _require(self, value: object, role: str) -> object:
        if value is None:
            raise StorageUnavailableError(
                f"backend {self.url} is not open: use 'async with open_backend(...) as backend'"
                f" before backend.{role}"
            )
        return value

    @property
    def events(self) -> EventStore:
        """The event store (usable once open)."""
        self._require(self._checkpoints, "events")
        return self._store

    @property
    def checkpoints(self) -> CheckpointRepository:
        """The checkpoint repository."""
        return self._require(self._checkpoints, "checkpoints")  # type: ignore[return-value]

    @property
    def outbox(self) -> OutboxRepository:
        """The outbox repository."""
        return self._require(self._outbox, "outbox")  # type: ignore[return-value]

    @property
    def dlq(self) -> DLQRepository:
        """The dead-letter-queue repository."""
        return self._require(self._dlq, "dlq")  # type: ignore[return-value]

    @property
    def snapshots(self) -> SnapshotStore:
        """The snapshot store; :class:`ConfigurationError` when the backend has none."""
        self._require(self._checkpoints, "snapshots")
        if self._snapshots is None:
            raise ConfigurationError(
                f"backend {self.spec.name!r} (plugin {self.spec.plugin!r}) provides no snapshot "
                "store (hook eventsource_snapshot_stores)"
            )
        return self._snapshots

    @property
    def has_snapshots(self) -> bool:
        """True when the backend provides a snapshot store."""
        return self.spec.snapshots is not None

    def __repr__(self) -> str:
        state = "open" if self.is_open else "closed"
        return f"<Backend {self.name} {self.url} {state}>"


def resolve_url(
    url: str | BackendURL | None = None, env: Mapping[str, str] | None = None
) -> BackendURL:
    """The URL to use: ``url``, else ``$EVENTSOURCE_URL`` from ``env``, else the default."""
    if isinstance(url, BackendURL):
        return url
    if url is None:
        environ = os.environ if env is None else env
        url = environ.get(ENV_VAR) or DEFAULT_URL
    return parse_url(url)


def open_backend(
    url: str | BackendURL | None = None,
    *,
    env: Mapping[str, str] | None = None,
    registry: BackendRegistry | None = None,
    create: bool = True,
    clock: Clock | None = None,
) -> Backend:
    """A backend for ``url`` (or ``$EVENTSOURCE_URL``, or :data:`DEFAULT_URL`), not yet open.

    Use it as ``async with open_backend("sqlite:///events.db") as backend: ...``. Opening
    creates the store when it does not exist; with ``create=False`` it raises
    :class:`StoreNotFoundError` naming the file or schema instead, creating nothing (for tools
    that only inspect a store). ``clock`` is where the outbox's leases read the time (see
    :mod:`eventsource.clock`; tests pass a ``ManualClock``). Unknown or uninstalled backends raise
    :class:`UnknownBackendError` / :class:`BackendNotInstalledError` naming what is installed
    and the pip command.
    """
    parsed = resolve_url(url, env)
    spec = (registry or get_registry()).get_backend(parsed.scheme)
    return Backend(spec, parsed, create=create, clock=clock)
