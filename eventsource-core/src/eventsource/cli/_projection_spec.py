"""``MODULE:ATTR``: a projection named on the command line, imported from the caller's code."""

from __future__ import annotations

import importlib
import inspect
import sys
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from ..runtime._projection import ProjectionLike

__all__ = ["load_projection"]


def load_projection(spec: str, option: str = "PROJECTION") -> ProjectionLike:
    """Import ``MODULE:ATTR`` (the current directory is on the path). ATTR is a projection,
    a class of one (built without arguments) or a function returning one. A spec that does
    not lead to a projection is a usage error naming it."""
    from .._exceptions import ConfigurationError
    from ..runtime._projection import check_projection

    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise typer.BadParameter(f"{spec!r} is not MODULE:ATTR", param_hint=option)
    if "" not in sys.path:
        sys.path.insert(0, "")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise typer.BadParameter(
            f"cannot import {module_name!r}: {exc}", param_hint=option
        ) from None
    target: Any = module
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise typer.BadParameter(
                f"module {module_name!r} has no {attr!r}", param_hint=option
            ) from None
    if inspect.isclass(target) or (callable(target) and not hasattr(target, "handle")):
        target = target()
    try:
        return check_projection(target)
    except ConfigurationError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None
