"""Projections: what the runner feeds events to.

A projection has a ``name`` (its checkpoint and DLQ key), the ``event_types`` it wants (None:
every event) and an async ``handle(event)``. Subclass :class:`Projection` and mark handler
methods with :func:`handles`, or wrap one async function with :func:`projection`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

from .._exceptions import ConfigurationError
from ..events import DomainEvent
from ._retry import RetryPolicy

__all__ = [
    "EventHandler",
    "FunctionProjection",
    "PositionTrackingProjection",
    "Projection",
    "ProjectionLike",
    "handles",
    "projection",
]

EventHandler = Callable[[DomainEvent], Awaitable[None]]
F = TypeVar("F", bound=Callable[..., Awaitable[None]])

_HANDLES_ATTR = "__eventsource_handles__"


@runtime_checkable
class ProjectionLike(Protocol):
    """What the runner needs from a projection."""

    @property
    def name(self) -> str:
        """Checkpoint and DLQ key; unique per projection."""
        ...

    @property
    def event_types(self) -> tuple[str, ...] | None:
        """Event types to deliver; None delivers every event."""
        ...

    async def handle(self, event: DomainEvent) -> None:
        """Apply one event to the read model; raise to signal a failure."""
        ...


@runtime_checkable
class PositionTrackingProjection(Protocol):
    """Optional exactly-once hook: a projection that stores its own position.

    A projection whose read model lives in a database can write the event's effect and the
    global position in one transaction. The runner then reads the start position from
    :meth:`load_position`, calls :meth:`handle_at` instead of ``handle`` and writes no
    checkpoint of its own: each event changes the read model exactly once. Replays from the
    DLQ call ``handle_at(event, None)`` (apply, but do not move the position).

    Optionally, ``async def store_position(global_position)``: move the position past an
    event the runner parked in the DLQ, without applying it. Without it the position stays
    before a parked event until a later event is applied, so after a restart that event is
    delivered again (and, if it succeeds then, applied again by a replay of its DLQ entry).
    ``eventsource_sqlite.SQLiteProjection`` implements all three over a SQLite database.
    """

    async def load_position(self) -> int:
        """The global position of the last event applied (0 for none)."""
        ...

    async def handle_at(self, event: DomainEvent, global_position: int | None) -> None:
        """Apply ``event`` and, unless ``global_position`` is None, store it atomically."""
        ...


def _type_name(item: type[DomainEvent] | str) -> str:
    if isinstance(item, str):
        if not item:
            raise ConfigurationError("an event type name must be a non-empty string")
        return item
    if isinstance(item, type) and issubclass(item, DomainEvent):
        return item.default_event_type()
    raise ConfigurationError(f"expected a DomainEvent class or an event type name, got {item!r}")


def _is_async(fn: object) -> bool:
    return inspect.iscoroutinefunction(fn)


def handles(*event_types: type[DomainEvent] | str) -> Callable[[F], F]:
    """Mark an async method of a :class:`Projection` as the handler of ``event_types``.

    ::

        class OrderCount(Projection):
            @handles(OrderCreated)
            async def on_created(self, event: OrderCreated) -> None: ...
    """
    if not event_types:
        raise ConfigurationError("@handles() needs at least one event class or type name")
    names = tuple(_type_name(t) for t in event_types)

    def mark(fn: F) -> F:
        if not _is_async(fn):
            raise ConfigurationError(f"@handles target {fn.__qualname__} must be 'async def'")
        setattr(fn, _HANDLES_ATTR, names)
        return fn

    return mark


class Projection:
    """Base class for projections whose handlers are methods marked with :func:`handles`.

    ``name`` defaults to the class name; ``retry_policy`` (optional) overrides the runner's.
    Override :meth:`reset` to clear the read model; :meth:`ProjectionRunner.rebuild` calls it
    before replaying from the start. Events of other types are never delivered.
    """

    name: str = ""
    retry_policy: RetryPolicy | None = None
    _handler_names: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__dict__.get("name"):
            cls.name = cls.__name__
        found: dict[str, str] = {}
        for klass in reversed(cls.__mro__):
            own: dict[str, str] = {}
            for attr, value in vars(klass).items():
                for event_type in getattr(value, _HANDLES_ATTR, ()):
                    if own.get(event_type, attr) != attr:
                        raise ConfigurationError(
                            f"{klass.__qualname__}: {event_type!r} is handled by both "
                            f"{own[event_type]}() and {attr}()"
                        )
                    own[event_type] = attr
            found.update(own)
        cls._handler_names = found

    @property
    def event_types(self) -> tuple[str, ...] | None:
        """The event types this projection has handlers for; None (every event) for a
        subclass that declares no ``@handles`` methods and overrides :meth:`handle` itself."""
        return tuple(sorted(self._handler_names)) or None

    async def handle(self, event: DomainEvent) -> None:
        """Dispatch ``event`` to its handler method; events without one are ignored."""
        attr = self._handler_names.get(event.event_type)
        if attr is not None:
            await getattr(self, attr)(event)

    async def reset(self) -> None:
        """Clear the read model before a rebuild; does nothing unless overridden."""


class FunctionProjection(Projection):
    """A projection made of one async function (see :func:`projection`)."""

    def __init__(
        self,
        name: str,
        handler: EventHandler,
        event_types: Iterable[type[DomainEvent] | str] | None = None,
        *,
        reset: Callable[[], Awaitable[None]] | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ConfigurationError("a projection needs a non-empty name")
        if not callable(handler):
            raise ConfigurationError(f"projection {name!r}: handler {handler!r} is not callable")
        self.name = name
        self._handler = handler
        self._types = None if event_types is None else tuple(_type_name(t) for t in event_types)
        self._reset = reset
        self.retry_policy = retry_policy

    @property
    def event_types(self) -> tuple[str, ...] | None:
        """The event types given, or None for every event."""
        return self._types

    async def handle(self, event: DomainEvent) -> None:
        """Call the handler (only with the wanted event types)."""
        if self._types is None or event.event_type in self._types:
            await self._handler(event)

    async def reset(self) -> None:
        """Call the ``reset`` function given, if any."""
        if self._reset is not None:
            await self._reset()


def projection(
    name: str,
    handler: EventHandler,
    event_types: Iterable[type[DomainEvent] | str] | None = None,
    *,
    reset: Callable[[], Awaitable[None]] | None = None,
    retry_policy: RetryPolicy | None = None,
) -> FunctionProjection:
    """A projection called ``name`` that passes ``event_types`` (None: all) to ``handler``."""
    return FunctionProjection(name, handler, event_types, reset=reset, retry_policy=retry_policy)


def check_projection(obj: object) -> ProjectionLike:
    """``obj`` if it can be run as a projection, else a :class:`ConfigurationError` saying why."""
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"{obj!r} is not a projection: it needs a non-empty 'name'")
    handler = getattr(obj, "handle", None)
    if not callable(handler) and not isinstance(obj, PositionTrackingProjection):
        raise ConfigurationError(f"projection {name!r} has no async 'handle(event)' method")
    types = getattr(obj, "event_types", None)
    if types is not None and not (
        isinstance(types, tuple | list) and all(isinstance(t, str) for t in types)
    ):
        raise ConfigurationError(
            f"projection {name!r}: event_types must be a tuple of type names or None"
        )
    return obj  # type: ignore[return-value]
