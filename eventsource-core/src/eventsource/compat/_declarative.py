"""eventsource-py 0.5.0's ``DeclarativeAggregate`` and ``@handles`` (``eventsource.handlers``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar, Literal, TypeVar

from .._exceptions import AggregateNotCreatedError, UnhandledEventError
from ..aggregates import AggregateRoot
from ..events import DomainEvent

__all__ = ["DeclarativeAggregate", "handles"]

log = logging.getLogger("eventsource.aggregates")

StateT = TypeVar("StateT")
FuncT = TypeVar("FuncT", bound=Callable[..., Any])


def handles(event_type: type[DomainEvent]) -> Callable[[FuncT], FuncT]:
    """Mark a method as the handler of ``event_type`` (exact class) in a
    :class:`DeclarativeAggregate`."""

    def mark(func: FuncT) -> FuncT:
        func._handles_event_type = event_type  # type: ignore[attr-defined]
        return func

    return mark


class DeclarativeAggregate(AggregateRoot[StateT]):
    """An aggregate whose ``_apply`` dispatches to its ``@handles(EventClass)`` methods.

    Dispatch is on the event's exact class. ``unregistered_event_handling`` says what an event
    with no handler does: ``"ignore"`` (default), ``"warn"`` (logs) or ``"error"``
    (:class:`UnhandledEventError`). With ``requires_creation_event = True``, reading
    :attr:`state` before an event set it raises :class:`AggregateNotCreatedError`.
    """

    requires_creation_event: ClassVar[bool] = False
    unregistered_event_handling: ClassVar[Literal["ignore", "warn", "error"]] = "ignore"
    _handlers: ClassVar[dict[type[DomainEvent], str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: dict[type[DomainEvent], str] = {}
        for klass in reversed(cls.__mro__):
            for name, member in vars(klass).items():
                event_type = getattr(member, "_handles_event_type", None)
                if event_type is not None:
                    found[event_type] = name
        cls._handlers = found

    @property
    def state(self) -> StateT:
        """The current state; :class:`AggregateNotCreatedError` before the creation event
        when ``requires_creation_event`` is set."""
        if self._state is None and self.requires_creation_event:
            raise AggregateNotCreatedError(
                type(self).__name__,
                suggestion="apply its creation event first (or use state_or_none)",
            )
        return self._state  # type: ignore[return-value]

    @property
    def state_or_none(self) -> StateT | None:
        """The current state, None before any event set it."""
        return self._state

    @property
    def is_created(self) -> bool:
        """True once an event has set the state."""
        return self._state is not None

    def _apply(self, event: DomainEvent) -> None:
        name = self._handlers.get(type(event))
        if name is not None:
            getattr(self, name)(event)
            return
        if self.unregistered_event_handling == "error":
            raise UnhandledEventError(
                event.event_type,
                event.event_id,
                type(self).__name__,
                sorted(cls.__name__ for cls in self._handlers),
            )
        if self.unregistered_event_handling == "warn":
            log.warning("%s has no handler for %s", type(self).__name__, event.event_type)
