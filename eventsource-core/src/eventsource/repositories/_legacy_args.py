"""eventsource-py 0.5.0's argument names on our repository methods, accepted for its users.

The contracts keep our parameters (``older_than: timedelta``, ``resolution``); each contract's
``__init_subclass__`` wraps a backend's method with :func:`accept_legacy_arguments`, so
``cleanup_published(days=3)``, ``cleanup_published(3)``,
``delete_resolved_events(older_than_days=30)`` and ``mark_resolved(1, resolved_by=user_id)``
work on every backend, ours and third-party ones alike.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID

from .._exceptions import InvalidArgumentError

__all__ = ["accept_legacy_arguments"]


def _as_days(value: Any, name: str) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidArgumentError(f"{name} must be an int of days >= 0, got {value!r:.80}")
    try:
        return timedelta(days=value)
    except OverflowError:
        raise InvalidArgumentError(f"{name}={value} days is too long (older_than)") from None


#: method name -> (0.5.0's keyword, our keyword, conversion of its value)
LEGACY_ARGUMENTS: dict[str, tuple[str, str, Callable[[Any, str], Any]]] = {
    "cleanup_published": ("days", "older_than", _as_days),
    "delete_resolved_events": ("older_than_days", "older_than", _as_days),
    "mark_resolved": ("resolved_by", "resolution", lambda value, name: str(value)),
}


def accept_legacy_arguments(cls: type) -> None:
    """Wrap ``cls``'s own methods named in :data:`LEGACY_ARGUMENTS` so that they also take
    0.5.0's keyword (and, for the durations, a plain int of days in the first position)."""
    for method, (old, new, convert) in LEGACY_ARGUMENTS.items():
        func = cls.__dict__.get(method)
        if func is None or getattr(func, "__legacy_wrapped__", False):
            continue
        setattr(cls, method, _wrap(func, old, new, convert))


def _wrap(
    func: Callable[..., Any], old: str, new: str, convert: Callable[[Any, str], Any]
) -> Callable[..., Any]:
    days = convert is _as_days

    @functools.wraps(func)
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if old in kwargs:
            if new in kwargs:
                raise InvalidArgumentError(f"give {new}= or {old}= (0.5.0's name), not both")
            kwargs[new] = convert(kwargs.pop(old), old)
        if days and args and isinstance(args[0], int) and not isinstance(args[0], bool):
            args = (convert(args[0], old), *args[1:])
        elif not days and len(args) > 1 and isinstance(args[1], UUID):
            args = (args[0], convert(args[1], old), *args[2:])  # mark_resolved(id, user_uuid)
        return await func(self, *args, **kwargs)

    wrapper.__legacy_wrapped__ = True  # type: ignore[attr-defined]
    return wrapper
