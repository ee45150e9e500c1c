"""``MODULE:ATTR``: a projection named by text (on the command line, in the console's
settings), imported from the caller's code."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from .._exceptions import ConfigurationError
from ._projection import ProjectionLike, check_projection

__all__ = ["import_projection"]


def import_projection(spec: str) -> ProjectionLike:
    """Import ``MODULE:ATTR``: ATTR (dotted for a nested one) is a projection, a class of one
    (built without arguments) or a function returning one.

    Raises :class:`ConfigurationError` naming what is wrong: text that is not MODULE:ATTR, a
    module that cannot be imported, a missing attribute, or something that is no projection.
    """
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name or not attribute:
        raise ConfigurationError(f"{spec!r} is not MODULE:ATTR")
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"cannot import {module_name!r}: {exc}") from exc
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ConfigurationError(f"module {module_name!r} has no {attribute!r}") from None
    if inspect.isclass(target) or (callable(target) and not hasattr(target, "handle")):
        target = target()
    return check_projection(target)
