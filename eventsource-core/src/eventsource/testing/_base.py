"""The base every kit class shares: the opener fixture, capabilities, connections, the guard."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any, ClassVar, TypeVar
from uuid import UUID, uuid4

import pytest
import pytest_asyncio

from .._exceptions import EventSourceError
from ..events import DomainEvent
from ..plugins._backend import Backend
from ..plugins._manager import BackendSpec
from ..plugins._specs import Capabilities
from ..stores._types import ReadOptions, StoredEvent
from ._events import AGGREGATE_TYPE, noted
from ._roles import (
    DEFAULT_READ_CAP,
    CheckpointsFactory,
    DLQFactory,
    EventStoreOpener,
    OutboxFactory,
    RoleBackend,
    RoleOpener,
    SnapshotsFactory,
    roles_of,
)

__all__ = ["KIT_MODULE_PREFIX", "BackendOpener", "ConformanceBase"]

#: How a kit subclass opens its backend: each call returns a NEW, unopened :class:`Backend`
#: on the SAME storage (the kit opens it with ``async with opener() as backend``).
BackendOpener = Callable[[], Backend]

#: Classes defined in modules under this prefix are the kit itself.
KIT_MODULE_PREFIX = "eventsource.testing"

T = TypeVar("T")


def _xfail_reason(member: object) -> str | None:
    """The ``reason=`` of an xfail mark on ``member``, if it carries one."""
    for mark in getattr(member, "pytestmark", ()):
        if getattr(mark, "name", None) == "xfail":
            reason = mark.kwargs.get("reason")
            if isinstance(reason, str) and reason.strip():
                return reason
    return None


def _standard_tests(cls: type) -> dict[str, type]:
    """Every ``test_*`` name a kit class in ``cls``'s bases defines, with its kit class."""
    found: dict[str, type] = {}
    for base in cls.__mro__[1:]:
        if not base.__module__.startswith(KIT_MODULE_PREFIX):
            continue
        for name in vars(base):
            if name.startswith("test_"):
                found.setdefault(name, base)
    return found


@pytest.mark.asyncio
class ConformanceBase:
    """Shared machinery of the kit's test classes.

    A subclass provides the ``backend_opener`` fixture (or the role fixtures) and may set:

    - ``capabilities``: overrides ``backend.capabilities`` (tests needing a capability that is
      off are skipped with the reason);
    - ``concurrency``: how many concurrent connections or tasks the race tests use (8);
    - ``read_cap``: the most events one read may yield before the test fails as a read that
      never ends (``--eventsource-read-cap`` overrides it);
    - ``min_timeout``: seconds each test may take at least, whatever ``--eventsource-timeout``
      says (0: the option's; the kit's pytest plugin applies it).

    A subclass certifies a whole backend with ``backend_opener``, or some roles on their own
    with ``event_store_opener`` and any of ``checkpoints_factory``, ``outbox_factory``,
    ``dlq_factory`` (tests of a role not under test are skipped, saying which fixture to add).

    A subclass may not override or delete (set to None) a standard ``test_*`` method; the only
    allowed override is one marked ``@pytest.mark.xfail(reason="...")``, so every deviation
    from the contract is visible in the test report.
    """

    capabilities: ClassVar[Capabilities | None] = None
    concurrency: ClassVar[int] = 8
    read_cap: ClassVar[int] = DEFAULT_READ_CAP
    min_timeout: ClassVar[float] = 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith(KIT_MODULE_PREFIX):
            return
        for name, kit_class in _standard_tests(cls).items():
            if name not in cls.__dict__:
                continue
            member = cls.__dict__[name]
            where = f"{cls.__module__}.{cls.__qualname__}.{name}"
            if member is None:
                raise TypeError(
                    f"{where} deletes the standard conformance test "
                    f"{kit_class.__qualname__}.{name}. A certified backend runs every standard "
                    "test: override it with @pytest.mark.xfail(reason='...') instead, stating "
                    "why the backend does not meet this part of the contract."
                )
            if _xfail_reason(member) is None:
                raise TypeError(
                    f"{where} overrides the standard conformance test "
                    f"{kit_class.__qualname__}.{name} without an xfail mark. Standard tests "
                    "may only be overridden with @pytest.mark.xfail(reason='...') stating why "
                    "the backend deviates from the contract."
                )

    # -- fixtures ------------------------------------------------------------------------------
    # The author gives ONE of: ``backend_opener`` (a whole backend: every role derives from
    # it), or ``event_store_opener`` plus any of ``checkpoints_factory``, ``outbox_factory``,
    # ``dlq_factory``, ``snapshots_factory`` (certifying those roles alone). The tests use
    # ``backend`` and ``kit_opener``, assembled from them.

    @pytest.fixture
    def backend_opener(self) -> BackendOpener | None:
        """Override in your subclass to certify a whole backend: return a callable giving a
        new, unopened Backend on the same (empty, per-test) storage each time it is called.
        Every role fixture below derives from it."""
        return None

    @pytest.fixture
    def event_store_opener(self, backend_opener: BackendOpener | None) -> EventStoreOpener:
        """The event store under test: a callable giving a new, unconnected EventStore on the
        same (empty, per-test) storage each call. Derived from ``backend_opener`` by default;
        override it (with the role factories you have) to certify roles on their own."""
        if backend_opener is None:
            raise NotImplementedError(
                f"{type(self).__qualname__} must define a 'backend_opener' fixture returning a "
                "callable that gives a new, unopened Backend on the same storage, e.g. "
                "`return lambda: open_backend(f'sqlite:///{tmp_path}/kit.db')`, or, to certify "
                "an event store on its own, an 'event_store_opener' fixture returning a "
                "callable that gives a new, unconnected EventStore on the same storage"
            )
        return lambda: backend_opener()._store

    @pytest.fixture
    def backend_spec(self, backend_opener: BackendOpener | None) -> BackendSpec | None:
        """The spec of ``backend_opener``'s backend (None without one): the role factories,
        the name and the capabilities derive from it."""
        return None if backend_opener is None else backend_opener().spec

    @pytest.fixture
    def checkpoints_factory(self, backend_spec: BackendSpec | None) -> CheckpointsFactory | None:
        """The checkpoint repository under test, built over the connected store (None: not
        under test, its tests skip). Derived from ``backend_opener`` by default."""
        return (
            None
            if backend_spec is None or not backend_spec.checkpoints
            else (backend_spec.checkpoints.factory)
        )

    @pytest.fixture
    def outbox_factory(self, backend_spec: BackendSpec | None) -> OutboxFactory | None:
        """The outbox repository under test, over the connected store (None: not under test).
        Derived from ``backend_opener`` by default."""
        return (
            None
            if backend_spec is None or not backend_spec.outbox
            else (backend_spec.outbox.factory)
        )

    @pytest.fixture
    def dlq_factory(self, backend_spec: BackendSpec | None) -> DLQFactory | None:
        """The DLQ repository under test, over the connected store (None: not under test).
        Derived from ``backend_opener`` by default."""
        return None if backend_spec is None or not backend_spec.dlq else backend_spec.dlq.factory

    @pytest.fixture
    def snapshots_factory(self, backend_spec: BackendSpec | None) -> SnapshotsFactory | None:
        """The snapshot store under test, over the connected store (None: not under test).
        Derived from ``backend_opener`` by default."""
        return (
            None
            if backend_spec is None or not backend_spec.snapshots
            else backend_spec.snapshots.factory
        )

    @pytest.fixture
    def kit_opener(
        self,
        request: pytest.FixtureRequest,
        backend_spec: BackendSpec | None,
        event_store_opener: EventStoreOpener,
        checkpoints_factory: CheckpointsFactory | None,
        outbox_factory: OutboxFactory | None,
        dlq_factory: DLQFactory | None,
        snapshots_factory: SnapshotsFactory | None,
    ) -> RoleOpener:
        """What the tests open: the roles under test over a new store on the test's storage
        (name and capabilities from ``backend_opener``'s backend when there is one)."""
        cap = request.config.getoption("eventsource_read_cap", None) or type(self).read_cap

        def open_roles() -> RoleBackend:
            return RoleBackend(
                event_store_opener(),
                name=backend_spec.name if backend_spec else None,
                capabilities=backend_spec.event_store.capabilities if backend_spec else None,
                checkpoints=checkpoints_factory,
                outbox=outbox_factory,
                dlq=dlq_factory,
                snapshots=snapshots_factory,
                read_cap=cap,
            )

        return open_roles

    @pytest.fixture
    def missing_store_opener(self) -> BackendOpener | EventStoreOpener | None:
        """Optional: override to return a callable giving a new, unopened Backend (or
        EventStore) on storage that does NOT exist yet (a file path not there, an unused
        schema name), the same storage each call. The kit then checks ``create=False``
        against it; without it (None) that test is skipped, as the kit cannot invent a
        missing store for your backend."""
        return None

    @pytest_asyncio.fixture(loop_scope="function")
    async def backend(self, kit_opener: RoleOpener) -> AsyncIterator[RoleBackend]:
        """The roles under test, open, on the test's storage, which must start empty."""
        async with kit_opener() as opened:
            position = await opened.events.get_global_position()
            if position != 0:
                pytest.fail(
                    f"backend_opener gave a database that already holds events (global position "
                    f"{position}). Each test needs its own empty storage: use tmp_path, a "
                    "unique memory:// name, or a fresh schema per test."
                )
            yield opened

    # -- helpers -------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def unchanged(
        self, backend: RoleBackend, aggregate_id: UUID, refused: Sequence[Any] = ()
    ) -> AsyncIterator[None]:
        """Assert the store is unchanged by the block: global position, stream version, log,
        outbox, and none of the ``refused`` events stored."""
        store = backend.events
        position = await store.get_global_position()
        version = await store.get_stream_version(aggregate_id, AGGREGATE_TYPE)
        logged = ids(await read_all_list(backend))
        outbox = backend.has("outbox")
        pending = (await backend.outbox.get_stats()).pending_count if outbox else 0
        new = [
            e
            for e in refused
            if isinstance(e, DomainEvent) and not await store.event_exists(e.event_id)
        ]
        yield
        assert await store.get_global_position() == position, "the global position moved"
        assert await store.get_stream_version(aggregate_id, AGGREGATE_TYPE) == version
        assert ids(await read_all_list(backend)) == logged, "the event log changed"
        if outbox:
            assert (await backend.outbox.get_stats()).pending_count == pending
        for event in new:
            assert not await store.event_exists(event.event_id), "a refused event was stored"

    async def _seeded(self, backend: RoleBackend) -> UUID:
        aid = uuid4()
        await backend.events.append_events(aid, AGGREGATE_TYPE, noted(aid, 2), 0)
        return aid

    async def _refuse(
        self,
        backend: RoleBackend,
        error: type[EventSourceError],
        aggregate_id: Any,
        aggregate_type: Any,
        events: Any,
        expected_version: Any,
        *,
        outbox: bool = False,
        check_id: UUID | None = None,
    ) -> None:
        check = check_id if check_id is not None else aggregate_id
        refused = events if isinstance(events, list) else []
        async with self.unchanged(backend, check, refused):
            with pytest.raises(error):
                await backend.events.append_events(
                    aggregate_id, aggregate_type, events, expected_version, outbox=outbox
                )

    def caps(self, backend: RoleBackend) -> Capabilities:
        """The capabilities the kit assumes: the class attribute, else the backend's."""
        return type(self).capabilities or backend.capabilities

    def require(self, backend: RoleBackend, capability: str) -> None:
        """Skip the running test unless ``capability`` is on."""
        if not getattr(self.caps(backend), capability):
            pytest.skip(f"backend {backend.name!r} does not declare capability {capability!r}")

    @contextlib.asynccontextmanager
    async def connections(
        self, opener: RoleOpener, backend: RoleBackend, count: int | None = None
    ) -> AsyncIterator[list[RoleBackend]]:
        """``count`` (default ``concurrency``) open backends on the test's storage.

        With ``concurrent_connections`` each is a separate connection from ``opener``; without
        it, all are ``backend`` itself (the opener would create separate databases).
        """
        count = self.concurrency if count is None else count
        if not self.caps(backend).concurrent_connections:
            yield [backend] * count
            return
        async with contextlib.AsyncExitStack() as stack:
            opened = [await stack.enter_async_context(roles_of(opener())) for _ in range(count)]
            yield opened

    async def other_connection(
        self, stack: contextlib.AsyncExitStack, opener: RoleOpener, backend: RoleBackend
    ) -> RoleBackend:
        """A second connection to the test's storage (``backend`` itself without
        ``concurrent_connections``)."""
        if not self.caps(backend).concurrent_connections:
            return backend
        return await stack.enter_async_context(roles_of(opener()))


async def race(tasks: Sequence[Awaitable[T]]) -> list[T | BaseException]:
    """Run ``tasks`` (unstarted coroutines) concurrently, released together; their results
    or exceptions, in order."""
    gate = asyncio.Event()

    async def run(task: Awaitable[T]) -> T:
        await gate.wait()
        return await task

    futures = [asyncio.ensure_future(run(task)) for task in tasks]
    await asyncio.sleep(0)
    gate.set()
    return list(await asyncio.gather(*futures, return_exceptions=True))


def raise_unexpected(results: Iterable[object], allowed: tuple[type[BaseException], ...]) -> None:
    """Re-raise the first exception in ``results`` that is not one of ``allowed``."""
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, allowed):
            raise result


async def read_all_list(
    backend: RoleBackend, options: ReadOptions | None = None
) -> list[StoredEvent]:
    """Everything ``read_all`` yields, as a list."""
    return [stored async for stored in backend.events.read_all(options)]


async def read_stream_list(
    backend: RoleBackend, stream_id: str, options: ReadOptions | None = None
) -> list[StoredEvent]:
    """Everything ``read_stream`` yields, as a list."""
    return [stored async for stored in backend.events.read_stream(stream_id, options)]


def ids(items: Iterable[Any]) -> list[UUID]:
    """The event ids of events or stored events, in order."""
    return [item.event_id for item in items]
