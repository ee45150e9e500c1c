"""When :class:`~eventsource.AggregateRepository` takes a snapshot after a save."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from .._exceptions import InvalidArgumentError
from ..values import MAX_VERSION

__all__ = ["EveryNEvents", "SnapshotStrategy"]


@runtime_checkable
class SnapshotStrategy(Protocol):
    """Decides, after a save moved an aggregate from ``previous_version`` to
    ``new_version``, whether to snapshot it (at ``new_version``)."""

    def should_snapshot(self, aggregate: Any, previous_version: int, new_version: int) -> bool:
        """True to take a snapshot now."""
        ...


class EveryNEvents:
    """Snapshot when a save crosses a multiple of ``n`` (``snapshot_every=n``).

    A save from version 98 to 103 with ``n=100`` crosses 100: one snapshot, at 103. So a load
    reads fewer than ``n`` plus one save's events after its snapshot.
    """

    def __init__(self, n: int) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_VERSION:
            raise InvalidArgumentError(f"snapshot_every must be an int from 1, got {n!r:.80}")
        self.n = n

    def should_snapshot(self, aggregate: Any, previous_version: int, new_version: int) -> bool:
        """True when ``new_version // n`` passed ``previous_version // n``."""
        return new_version // self.n > previous_version // self.n

    def __repr__(self) -> str:
        return f"EveryNEvents({self.n})"
