"""What the running console holds: its settings, the open backend, the sampler, and the
projections it can replay DLQ entries into."""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field

from .._exceptions import ConfigurationError
from ..events import EventRegistry
from ..plugins._backend import Backend
from ..runtime._projection import ProjectionLike, check_projection
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
    one), by name, as ``eventsource dlq replay --projection`` does.

    Raises :class:`ConfigurationError` naming the spec that cannot be imported or is no
    projection."""
    found: dict[str, ProjectionLike] = {}
    for spec in specs:
        module_name, _, attribute = spec.partition(":")
        try:
            target: object = importlib.import_module(module_name)
            for part in attribute.split("."):
                target = getattr(target, part)
        except (ImportError, AttributeError) as exc:
            raise ConfigurationError(f"cannot import projection {spec!r}: {exc}") from exc
        if inspect.isclass(target) or (callable(target) and not hasattr(target, "handle")):
            target = target()
        projection = check_projection(target)
        found[projection.name] = projection
    return found
