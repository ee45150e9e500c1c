"""Upcasting: stored events of an older shape read as today's classes, history untouched.

An upcaster is a plain function on the stored document (a dict) that turns an event type's
version *n* into version *n + 1* (or into another type, to rename one). Registries apply the
chain on read, lazily, event by event, in every read path of every backend and in the runner;
the store keeps the bytes it was given::

    from eventsource import DomainEvent, upcaster

    class OrderCreated(DomainEvent):       # version 3: today's shape
        event_version: int = 3
        contact: dict[str, str]

    @upcaster("OrderCreated", from_version=1)
    def _email_to_contact(data: dict) -> dict:
        data["contact"] = {"email": data.pop("email")}
        return data

    @upcaster("OrderCreated", from_version=2)
    def _add_phone(data: dict) -> dict:
        data["contact"].setdefault("phone", None)
        return data

The decorator registers into :data:`eventsource.default_registry`; a registry of your own takes
:meth:`EventRegistry.register_upcaster`. After each step the document's ``event_type`` and
``event_version`` are set to the step's target, so an upcaster only changes the fields. A
stored version that an event type with upcasters can neither upcast from nor decode directly
(a missing link) is an :class:`UpcastError` naming the type and versions; like any event that
cannot be decoded, a reader raises it as an :class:`EventDecodeError` at the row, and the
runner applies its poison policy.

A package can ship upcasters for the event types it owns through the plugin hook
``eventsource_upcasters`` (entry-point group ``eventsource.backends``);
:func:`register_plugin_upcasters` registers them all into a registry.

:func:`upcast_dry_run` reports how many stored events each chain touches, per stored type and
version (``eventsource events upcast --dry-run``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from ._exceptions import InvalidArgumentError
from .values import MAX_VERSION, check_identifier

if TYPE_CHECKING:
    from .events import EventRegistry

__all__ = [
    "UpcastChainUse",
    "UpcastFunction",
    "Upcaster",
    "register_plugin_upcasters",
    "upcast_dry_run",
    "upcaster",
]

#: What an upcaster is: the stored document in, the next version's document out.
UpcastFunction = Callable[[dict[str, Any]], dict[str, Any]]
_F = TypeVar("_F", bound=UpcastFunction)


@dataclass(frozen=True, slots=True)
class Upcaster:
    """One step of a chain: ``function`` turns ``(event_type, from_version)`` documents into
    ``(to_type, to_version)`` ones."""

    event_type: str
    from_version: int
    function: UpcastFunction
    to_type: str
    to_version: int

    @classmethod
    def of(
        cls,
        event_type: str,
        from_version: int,
        function: UpcastFunction,
        *,
        to_type: str | None = None,
        to_version: int | None = None,
    ) -> Upcaster:
        """A checked step (``to_type`` defaults to ``event_type``, ``to_version`` to the next
        version); raises :class:`InvalidArgumentError` for a bad one."""
        check_identifier(event_type, "event_type", InvalidArgumentError)
        target_type = event_type if to_type is None else to_type
        check_identifier(target_type, "to_type", InvalidArgumentError)
        for name, value in (("from_version", from_version), ("to_version", to_version)):
            if value is None:
                continue
            if type(value) is not int or not 0 < value <= MAX_VERSION:
                raise InvalidArgumentError(f"{name} must be an int from 1 to {MAX_VERSION}")
        target_version = from_version + 1 if to_version is None else to_version
        if target_type == event_type and target_version <= from_version:
            raise InvalidArgumentError(
                f"an upcaster of {event_type!r} must go to a later version than "
                f"{from_version}, not {target_version}"
            )
        if not callable(function):
            raise InvalidArgumentError(f"upcaster function {function!r} is not callable")
        return cls(event_type, from_version, function, target_type, target_version)


def upcaster(
    event_type: str,
    from_version: int,
    *,
    to_type: str | None = None,
    to_version: int | None = None,
) -> Callable[[_F], _F]:
    """Register the decorated function in :data:`eventsource.default_registry` as the
    upcaster of ``event_type`` documents at ``from_version`` (see the module docs)."""

    def register(function: _F) -> _F:
        from .events import default_registry

        default_registry.register_upcaster(
            event_type, from_version, function, to_type=to_type, to_version=to_version
        )
        return function

    return register


def register_plugin_upcasters(registry: EventRegistry | None = None) -> list[Upcaster]:
    """Register every installed plugin's upcasters (hook ``eventsource_upcasters``) into
    ``registry`` (default: :data:`eventsource.default_registry`); returns them. Idempotent:
    a step already registered with the same function is kept as it is."""
    from .events import default_registry
    from .plugins._manager import get_registry

    target = default_registry if registry is None else registry
    steps = get_registry().upcasters()
    for step in steps:
        target.register_upcaster(
            step.event_type,
            step.from_version,
            step.function,
            to_type=step.to_type,
            to_version=step.to_version,
        )
    return steps


# Last: it uses Upcaster, defined above.
from ._upcast_dry_run import UpcastChainUse, upcast_dry_run  # noqa: E402
