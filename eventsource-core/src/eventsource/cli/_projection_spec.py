"""``MODULE:ATTR``: a projection named on the command line, imported from the caller's code
(:func:`eventsource.runtime._projection_spec.import_projection`)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from ..runtime._projection import ProjectionLike

__all__ = ["load_projection"]


def load_projection(spec: str, option: str = "PROJECTION") -> ProjectionLike:
    """Import ``MODULE:ATTR`` (the current directory is on the path). ATTR is a projection,
    a class of one (built without arguments) or a function returning one. A spec that does
    not lead to a projection is a usage error naming it."""
    from .._exceptions import ConfigurationError
    from ..runtime._projection_spec import import_projection

    if "" not in sys.path:
        sys.path.insert(0, "")
    try:
        return import_projection(spec)
    except ConfigurationError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None
