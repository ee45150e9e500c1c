"""Aggregates rebuilt from their events, and the repository that loads and saves them."""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from ._exceptions import AggregateNotFoundError, InvalidEventError
from .events import DomainEvent
from .stores._contract import EventStore
from .stores._types import AppendResult, ExpectedVersion

__all__ = ["AggregateRepository", "AggregateRoot"]

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

    def __init__(self, aggregate_id: UUID) -> None:
        self.aggregate_id = aggregate_id
        self.version = 0
        self._state: StateT | None = self._get_initial_state()
        self._uncommitted: list[DomainEvent] = []

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
        """Apply ``event`` to the state; new events are kept for the next save."""
        if event.aggregate_id != self.aggregate_id:
            raise InvalidEventError(
                f"event {event.event_type!r} is for aggregate {event.aggregate_id}, "
                f"not {self.aggregate_id}"
            )
        self._apply(event)
        self.version = event.aggregate_version if not is_new else self.version + 1
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

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.aggregate_id} v{self.version}>"


class AggregateRepository(Generic[AggregateT]):
    """Loads aggregates from an event store and saves their new events.

    ``aggregate_factory`` builds an empty aggregate from its id (usually the class itself).
    ``save`` appends with the aggregate's loaded version as the expected version, so a
    concurrent save raises :class:`OptimisticLockError`.
    """

    def __init__(
        self,
        event_store: EventStore,
        aggregate_factory: Callable[[UUID], AggregateT],
        aggregate_type: str,
    ) -> None:
        self.event_store = event_store
        self.aggregate_factory = aggregate_factory
        self.aggregate_type = aggregate_type

    def create_new(self, aggregate_id: UUID) -> AggregateT:
        """A new, empty aggregate (nothing is stored until :meth:`save`)."""
        return self.aggregate_factory(aggregate_id)

    async def load(self, aggregate_id: UUID) -> AggregateT:
        """The aggregate rebuilt from its events; :class:`AggregateNotFoundError` if none."""
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
        return result

    async def exists(self, aggregate_id: UUID) -> bool:
        """True when the aggregate has at least one event."""
        return await self.event_store.get_stream_version(aggregate_id, self.aggregate_type) > 0
