"""How far a migration is: what its progress callback receives."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["MigrationProgress", "ProgressCallback", "Tracker"]


@dataclass(frozen=True, slots=True)
class MigrationProgress:
    """A migration's progress: ``done`` of ``total`` rows (None: not known upfront), of
    which ``copied`` were copied by this run in ``elapsed_seconds`` (the rest were there)."""

    done: int
    total: int | None
    copied: int
    elapsed_seconds: float

    @property
    def rate(self) -> float:
        """Rows copied per second by this run."""
        return self.copied / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        """Seconds still to go at the current rate (None: unknown)."""
        if self.total is None or self.rate <= 0:
            return None
        return max(self.total - self.done, 0) / self.rate

    @property
    def fraction(self) -> float | None:
        """``done / total`` (None: total unknown; 1.0 for nothing to do)."""
        if self.total is None:
            return None
        return 1.0 if self.total == 0 else min(self.done / self.total, 1.0)


#: What ``progress=`` takes: called after every batch.
ProgressCallback = Callable[[MigrationProgress], None]


class Tracker:
    """Counts a run's rows and calls the progress callback."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self.callback = callback
        self.started = time.perf_counter()
        self.total: int | None = None
        self.present = 0  # rows already in the target when the run began
        self.copied = 0
        self.skipped = 0

    @property
    def elapsed(self) -> float:
        """Seconds since the run began."""
        return time.perf_counter() - self.started

    def report(self, handled: int | None = None) -> None:
        """Tell the callback where the run is (``handled``: rows seen so far, when the
        caller counts them itself)."""
        if self.callback is None:
            return
        done = self.present + self.copied + self.skipped if handled is None else handled
        self.callback(MigrationProgress(done, self.total, self.copied, self.elapsed))
