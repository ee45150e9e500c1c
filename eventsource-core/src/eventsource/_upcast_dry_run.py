"""The upcast dry run: how many stored events each upcaster chain touches, per stored event
type and version, counted by the backend without reading a payload or running an upcaster
(``eventsource events upcast --dry-run``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._exceptions import EventSourceError, InvalidArgumentError
from .upcasting import Upcaster

if TYPE_CHECKING:
    from .events import EventRegistry
    from .stores._contract import EventStore

__all__ = ["UpcastChainUse", "upcast_dry_run"]


@dataclass(frozen=True, slots=True)
class UpcastChainUse:
    """The stored events of one ``(event_type, event_version)`` that reads upcast.

    ``steps`` is the chain they go through and ``(to_type, to_version)`` where it ends. When
    they cannot be decoded (a missing link, a loop, a target type no class decodes),
    ``error`` says why: reads raise it as an :class:`~eventsource.EventDecodeError`.
    """

    event_type: str
    event_version: int
    events: int
    steps: tuple[Upcaster, ...]
    to_type: str
    to_version: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether these events decode after their chain."""
        return self.error is None


async def upcast_dry_run(
    store: EventStore, registry: EventRegistry | None = None
) -> list[UpcastChainUse]:
    """Per stored ``(event_type, event_version)`` that an upcaster chain of ``registry``
    (default: the store's) touches, or that a type with upcasters cannot decode: how many
    events (those reads show), the chain and where it ends, sorted by type and version.

    Writes nothing and runs no upcaster: the backend counts its rows by type and version.
    """
    from .events import EventRegistry

    chosen = store.event_registry if registry is None else registry
    if not isinstance(chosen, EventRegistry):
        raise InvalidArgumentError(f"expected an EventRegistry, got {type(chosen).__name__}")
    counts = await store._stored_versions()
    uses: list[UpcastChainUse] = []
    for (event_type, event_version), events in sorted(counts.items()):
        if not chosen.has_upcasters(event_type):
            continue
        steps: tuple[Upcaster, ...] = ()
        to_type, to_version, error = event_type, event_version, None
        try:
            steps = chosen.upcast_steps(event_type, event_version)
            if steps:
                to_type, to_version = steps[-1].to_type, steps[-1].to_version
            chosen.check_decodable(to_type, to_version)
        except EventSourceError as exc:
            error = str(exc)
        if steps or error is not None:
            uses.append(
                UpcastChainUse(event_type, event_version, events, steps, to_type, to_version, error)
            )
    return uses
