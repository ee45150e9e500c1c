"""Named in-memory databases: ``memory://NAME`` shares one state per name in this process.

A name exists while some store (or backend) holds its state; memory is not persistent, so once
the last holder is gone so is the database.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._store import MemoryState

__all__ = ["forget_named", "named_exists", "state_named"]

_named: weakref.WeakValueDictionary[str, MemoryState] = weakref.WeakValueDictionary()
_lock = threading.Lock()


def state_named(name: str, new_state: Callable[[], MemoryState]) -> tuple[MemoryState, bool]:
    """The state of the database ``name`` (made with ``new_state`` when there is none) and
    whether this call created it."""
    with _lock:
        state = _named.get(name)
        if state is not None:
            return state, False
        state = new_state()
        _named[name] = state
        return state, True


def named_exists(name: str) -> bool:
    """True while some store holds the database ``name``."""
    with _lock:
        return name in _named


def forget_named(name: str, state: MemoryState) -> None:
    """Drop ``name`` when it still maps to ``state`` (a database created by mistake)."""
    with _lock:
        if _named.get(name) is state:
            del _named[name]
