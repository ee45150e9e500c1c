"""What the running console holds: its settings, the open backend, the sampler, and the
projections it can replay DLQ entries into."""

from __future__ import annotations

from dataclasses import dataclass, field

from .._exceptions import ConfigurationError
from ..events import EventRegistry
from ..plugins._backend import Backend
from ..runtime._projection import ProjectionLike
from ..runtime._projection_spec import import_projection
from ._sampler import Sampler
from ._settings import ConsoleSettings

__all__ = ["ConsoleState", "load_projections"]


@dataclass
class ConsoleState:
    """The console's state while it serves."""

    settings: ConsoleSettings
    backend: Backend
    sampler: Sampler
    #: The registry the store had before the console made its reads lenient (for replay).
    registry: EventRegistry
    projections: dict[str, ProjectionLike] = field(default_factory=dict)

    def projection_for(self, dlq_projection: str) -> ProjectionLike | None:
        """The loaded projection a DLQ entry of ``dlq_projection`` (maybe ``name#shard``)
        replays into, or None."""
        return self.projections.get(dlq_projection) or self.projections.get(
            dlq_projection.partition("#")[0]
        )


def load_projections(specs: tuple[str, ...]) -> dict[str, ProjectionLike]:
    """Import each ``module:attribute`` (a projection, its class, or a function returning
    one), by name, as ``eventsource dlq replay --projection`` does
    (:func:`~eventsource.runtime._projection_spec.import_projection`).

    Raises :class:`ConfigurationError` naming the spec that cannot be imported or is no
    projection."""
    found: dict[str, ProjectionLike] = {}
    for spec in specs:
        try:
            projection = import_projection(spec)
        except ConfigurationError as exc:
            raise ConfigurationError(f"projection {spec!r}: {exc}") from exc
        found[projection.name] = projection
    return found
