"""Aggregates rebuilt from their events, and the repository that loads and saves them."""

from __future__ import annotations

import abc
import logging
import typing
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar
from uuid import UUID

from pydantic import BaseModel

from ._exceptions import (
    AggregateNotFoundError,
    EventVersionError,
    InvalidArgumentError,
    InvalidEventError,
    SnapshotError,
)
from .events import DomainEvent
from .snapshots._contract import SnapshotStore
from .snapshots._repository import Snapshotting
from .snapshots._strategy import SnapshotStrategy
from .stores._contract import EventStore
from .stores._types import AppendResult, ExpectedVersion

__all__ = ["AggregateRepository", "AggregateRoot"]

_log = logging.getLogger(__name__)

StateT = TypeVar("StateT")
EventT = TypeVar("EventT", bound=DomainEvent)
AggregateT = TypeVar("AggregateT", bound="AggregateRoot[Any]")


class AggregateRoot(abc.ABC, Generic[StateT]):
    """A consistency boundary whose state is the fold of its events.

    Subclasses set ``aggregate_type``, implement :meth:`_apply` (state from one event) and
    usually :meth:`_get_initial_state`. Command methods validate and call :meth:`raise_event`::

        class OrderAggregate(AggregateRoot[OrderState]):
            aggregate_type = "Order"

            def _get_initial_state(self) -> OrderState:
                return OrderState(order_id=self.aggregate_id)

            def _apply(self, event: DomainEvent) -> None:
                if isinstance(event, OrderCreated):
                    self._state = self.state.model_copy(update={"status": "created"})

            def create(self, customer_id: UUID, email: str) -> None:
                self.raise_event(OrderCreated, customer_id=customer_id, email=email)
    """

    aggregate_type: ClassVar[str] = ""
    #: The version of the state's shape: bump it when the state class changes, and snapshots
    #: taken before are ignored (replayed from the events) instead of misapplied.
    schema_version: ClassVar[int] = 1
    #: Whether :meth:`apply_event` refuses a new event that does not carry the aggregate's
    #: next version (:class:`EventVersionError`); False only logs a warning (0.5.0's switch).
    validate_versions: ClassVar[bool] = True

    def __init__(self, aggregate_id: UUID) -> None:
        self.aggregate_id = aggregate_id
        self.version = 0
        self._state: StateT | None = self._get_initial_state()
        self._uncommitted: list[DomainEvent] = []
        #: The id of the last event applied (what a snapshot at ``version`` records).
        self.last_event_id: UUID | None = None

    def _get_initial_state(self) -> StateT | None:
        """The state before any event; None unless overridden."""
        return None

    @abc.abstractmethod
    def _apply(self, event: DomainEvent) -> None:
        """Update ``self._state`` for one event. Must not fail for events already stored."""

    @property
    def state(self) -> StateT:
        """The current state."""
        return self._state  # type: ignore[return-value]

    @property
    def uncommitted_events(self) -> list[DomainEvent]:
        """Events raised since the last save, oldest first."""
        return list(self._uncommitted)

    @property
    def committed_version(self) -> int:
        """The version the store had when this aggregate was loaded or last saved."""
        return self.version - len(self._uncommitted)

    def get_next_version(self) -> int:
        """The aggregate version the next raised event gets."""
        return self.version + 1

    def apply_event(self, event: DomainEvent, is_new: bool = True) -> None:
        """Apply ``event`` to the state; new events are kept for the next save. A new event
        must carry the next version (``version + 1``), else :class:`EventVersionError`
        (see :attr:`validate_versions`); replays (``is_new=False``) are not checked."""
        if event.aggregate_id != self.aggregate_id:
            raise InvalidEventError(
                f"event {event.event_type!r} is for aggregate {event.aggregate_id}, "
                f"not {self.aggregate_id}"
            )
        if is_new and event.aggregate_version != self.version + 1:
            if self.validate_versions:
                raise EventVersionError(
                    self.version + 1, event.aggregate_version, event.event_id, self.aggregate_id
                )
            _log.warning(
                "event %s for aggregate %s has version %s, expected %s (validate_versions off)",
                event.event_id,
                self.aggregate_id,
                event.aggregate_version,
                self.version + 1,
            )
        self._apply(event)
        self.version = event.aggregate_version if not is_new else self.version + 1
        self.last_event_id = event.event_id
        if is_new:
            self._uncommitted.append(event)

    def raise_event(self, event_class: type[EventT], **fields: Any) -> EventT:
        """Create an event of ``event_class`` for this aggregate, apply it and keep it."""
        fields.setdefault("aggregate_id", self.aggregate_id)
        if self.aggregate_type:
            fields.setdefault("aggregate_type", self.aggregate_type)
        fields.setdefault("aggregate_version", self.get_next_version())
        event = event_class(**fields)
        self.apply_event(event)
        return event

    def load_from_history(self, events: Sequence[DomainEvent]) -> None:
        """Rebuild the state from stored events."""
        for event in events:
            self.apply_event(event, is_new=False)

    def mark_events_as_committed(self) -> None:
        """Forget the uncommitted events after a successful save."""
        self._uncommitted.clear()

    # -- eventsource-py 0.5.0 compatibility (docs/migrating-from-eventsource-py.md) -------------

    @property
    def has_uncommitted_events(self) -> bool:
        """True when events were raised since the last save."""
        return bool(self._uncommitted)

    def clear_uncommitted_events(self) -> list[DomainEvent]:
        """Forget the uncommitted events and return them."""
        pending, self._uncommitted = self._uncommitted, []
        return pending

    def create_event(self, event_class: type[EventT], **fields: Any) -> EventT:
        """:meth:`raise_event`, stamping the current tenant
        (:func:`eventsource.multitenancy.get_current_tenant`) when one is set."""
        from .compat._tenancy import get_current_tenant

        tenant = get_current_tenant()
        if tenant is not None:
            fields.setdefault("tenant_id", tenant)
        return self.raise_event(event_class, **fields)

    def _raise_event(self, event: DomainEvent) -> None:
        """Apply a new event built by the caller (0.5.0's name)."""
        self.apply_event(event, is_new=True)

    def __eq__(self, other: object) -> bool:
        """Aggregates of one class are equal when their ids are (0.5.0's identity)."""
        if not isinstance(other, AggregateRoot):
            return NotImplemented
        return type(self) is type(other) and self.aggregate_id == other.aggregate_id

    def __hash__(self) -> int:
        return hash((type(self).__name__, self.aggregate_id))

    # -- snapshots -----------------------------------------------------------------------------

    def _state_type(self) -> type | None:
        """The state class: the argument of ``AggregateRoot[StateClass]`` (or of a generic
        subclass, such as ``DeclarativeAggregate[StateClass]``), else the initial state's
        class."""
        for cls in type(self).__mro__:
            for base in getattr(cls, "__orig_bases__", ()):
                origin = typing.get_origin(base)
                if isinstance(origin, type) and issubclass(origin, AggregateRoot):
                    args = typing.get_args(base)
                    if len(args) == 1 and isinstance(args[0], type):
                        return args[0]
        initial = self._get_initial_state()
        return None if initial is None else type(initial)

    def _serialize_state(self) -> dict[str, Any]:
        """The state as a JSON-able dict for a snapshot: a pydantic model's
        ``model_dump(mode="json")``, a dict as is, ``{}`` for None. Override it (and
        :meth:`_restore_from_snapshot`) for other state types."""
        state = self._state
        if state is None:
            return {}
        if isinstance(state, BaseModel):
            return state.model_dump(mode="json")
        if isinstance(state, dict):
            return dict(state)
        raise SnapshotError(
            f"{type(self).__name__} cannot snapshot a state of type {type(state).__name__}: "
            "override _serialize_state() and _restore_from_snapshot()"
        )

    def _restore_from_snapshot(self, state: dict[str, Any], version: int) -> None:
        """Set the state from a snapshot's ``state`` (validated into the state class) and the
        version; an empty dict keeps the initial state (as eventsource-py 0.5.0 did)."""
        if state:
            state_type = self._state_type()
            if isinstance(state_type, type) and issubclass(state_type, BaseModel):
                self._state = state_type.model_validate(state)  # type: ignore[assignment]
            elif state_type is dict or state_type is None:
                self._state = dict(state)  # type: ignore[assignment]
            else:
                raise SnapshotError(
                    f"{type(self).__name__} cannot restore a state of type {state_type!r}: "
                    "override _restore_from_snapshot()"
                )
        self.version = version

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.aggregate_id} v{self.version}>"


class AggregateRepository(Generic[AggregateT]):
    """Loads aggregates from an event store and saves their new events.

    eventsource-py 0.5.0 compatibility: ``aggregate_type`` defaults to the factory's
    ``aggregate_type``; ``event_publisher`` gets each saved batch after the append;
    ``tracer`` / ``enable_tracing`` are accepted and unused.

    ``aggregate_factory`` builds an empty aggregate from its id (usually the class itself).
    ``save`` appends with the aggregate's loaded version as the expected version, so a
    concurrent save raises :class:`OptimisticLockError`.

    Snapshots (``docs/evolution.md``): ``snapshot_every=N`` (or ``snapshot_threshold=N``, the
    0.5.0 name) snapshots after a save that crosses a multiple of N, ``snapshot_strategy=``
    takes any :class:`~eventsource.SnapshotStrategy` instead. They go to ``snapshot_store``,
    by default the event store's own backend (a table beside the events). ``load`` then starts
    from the latest usable snapshot and reads only the events after it. ``snapshot_mode`` is
    ``"sync"`` (written before ``save`` returns), ``"background"`` (a task; see
    :meth:`await_pending_snapshots`) or ``"manual"`` (only :meth:`create_snapshot`). A snapshot
    that cannot be written never fails the save; one that cannot be used is replayed past.
    """

    def __init__(
        self,
        event_store: EventStore,
        aggregate_factory: Callable[[UUID], AggregateT],
        aggregate_type: str | None = None,
        event_publisher: EventPublisherLike | None = None,
        snapshot_store: SnapshotStore | None = None,
        snapshot_threshold: int | None = None,
        snapshot_mode: Literal["sync", "background", "manual"] = "sync",
        *,
        snapshot_every: int | None = None,
        snapshot_strategy: SnapshotStrategy | None = None,
        tracer: object = None,
        enable_tracing: bool = True,
    ) -> None:
        if aggregate_type is None:
            aggregate_type = getattr(aggregate_factory, "aggregate_type", None)
            if not isinstance(aggregate_type, str) or aggregate_type in ("", "Unknown"):
                raise InvalidArgumentError(
                    "AggregateRepository needs aggregate_type= (or a factory class with an "
                    "aggregate_type attribute)"
                )
        self.event_store = event_store
        self.aggregate_factory = aggregate_factory
        self.aggregate_type = aggregate_type
        self.event_publisher = event_publisher
        self._snapshotting = Snapshotting.configure(
            event_store,
            aggregate_type,
            every=snapshot_every,
            threshold=snapshot_threshold,
            strategy=snapshot_strategy,
            store=snapshot_store,
            mode=snapshot_mode,
        )

    @property
    def snapshot_store(self) -> SnapshotStore | None:
        """Where snapshots are kept (None: snapshots are off)."""
        return None if self._snapshotting is None else self._snapshotting.store

    @property
    def snapshot_strategy(self) -> SnapshotStrategy | None:
        """When a save takes a snapshot (None: never on its own)."""
        return None if self._snapshotting is None else self._snapshotting.strategy

    @property
    def snapshot_threshold(self) -> int | None:
        """The N of ``snapshot_every`` / ``snapshot_threshold``, if that is the strategy."""
        return None if self._snapshotting is None else self._snapshotting.threshold

    @property
    def snapshot_mode(self) -> str:
        """``"sync"``, ``"background"`` or ``"manual"``."""
        return "sync" if self._snapshotting is None else self._snapshotting.mode

    @property
    def has_snapshot_support(self) -> bool:
        """True when a snapshot store is configured."""
        return self._snapshotting is not None

    @property
    def pending_snapshot_count(self) -> int:
        """Background snapshot writes not finished yet."""
        return 0 if self._snapshotting is None else len(self._snapshotting.pending)

    async def create_snapshot(self, aggregate: AggregateT) -> Any:
        """Snapshot ``aggregate`` now (it must have no unsaved events) and return the
        :class:`~eventsource.Snapshot`; errors propagate, unlike the automatic snapshots."""
        return await Snapshotting.require(self._snapshotting).create(aggregate)

    async def await_pending_snapshots(self) -> int:
        """Wait for the background snapshot writes started so far; how many there were."""
        return 0 if self._snapshotting is None else await self._snapshotting.wait()

    def create_new(self, aggregate_id: UUID) -> AggregateT:
        """A new, empty aggregate (nothing is stored until :meth:`save`)."""
        return self.aggregate_factory(aggregate_id)

    async def load(self, aggregate_id: UUID) -> AggregateT:
        """The aggregate rebuilt from its events (from its latest usable snapshot on, when
        snapshots are on); :class:`AggregateNotFoundError` if it has none."""
        if self._snapshotting is not None:
            restored = await self._snapshotting.load(aggregate_id, self.aggregate_factory)
            if restored is not None:
                return restored
        stream = await self.event_store.get_events(aggregate_id, self.aggregate_type)
        if not stream.events:
            raise AggregateNotFoundError(aggregate_id, self.aggregate_type)
        aggregate = self.aggregate_factory(aggregate_id)
        aggregate.load_from_history(stream.events)
        return aggregate

    async def save(self, aggregate: AggregateT) -> AppendResult | None:
        """Append the aggregate's uncommitted events; None when there were none."""
        pending = aggregate.uncommitted_events
        if not pending:
            return None
        expected = aggregate.committed_version
        result = await self.event_store.append_events(
            aggregate_id=aggregate.aggregate_id,
            aggregate_type=self.aggregate_type,
            events=pending,
            expected_version=expected if expected > 0 else ExpectedVersion.NO_STREAM,
        )
        aggregate.mark_events_as_committed()
        if self.event_publisher is not None:
            await self.event_publisher.publish(pending)
        if self._snapshotting is not None:
            await self._snapshotting.after_save(aggregate, expected, result.new_version)
        return result

    async def exists(self, aggregate_id: UUID) -> bool:
        """True when the aggregate has at least one event."""
        return await self.event_store.get_stream_version(aggregate_id, self.aggregate_type) > 0

    # -- eventsource-py 0.5.0 compatibility (docs/migrating-from-eventsource-py.md) -------------

    async def load_or_create(self, aggregate_id: UUID) -> AggregateT:
        """:meth:`load`, or a new empty aggregate when it has no events."""
        try:
            return await self.load(aggregate_id)
        except AggregateNotFoundError:
            return self.aggregate_factory(aggregate_id)

    async def get_or_raise(self, aggregate_id: UUID) -> AggregateT:
        """:meth:`load` (0.5.0's alias)."""
        return await self.load(aggregate_id)

    async def get_version(self, aggregate_id: UUID) -> int:
        """The aggregate's stored version (0 when it has no events)."""
        return await self.event_store.get_stream_version(aggregate_id, self.aggregate_type)


class EventPublisherLike(Protocol):
    """What ``AggregateRepository(event_publisher=...)`` takes: ``async publish(events)``
    (:class:`eventsource.stores.EventPublisher`)."""

    async def publish(self, events: list[DomainEvent]) -> None:
        """Publish events a save stored."""
