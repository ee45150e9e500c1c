"""Counters the runner and the relay keep, and the snapshots they hand out."""

from __future__ import annotations

import enum
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from ..repositories._error_text import error_summary

__all__ = ["ProjectionMetrics", "ProjectionStats", "RelayMetrics", "RelayStats", "RunnerState"]

#: Seconds over which ``throughput`` is measured.
THROUGHPUT_WINDOW = 10.0


class RunnerState(enum.StrEnum):
    """Where a projection runner is in its life."""

    IDLE = "idle"
    STANDBY = "standby"
    CATCHING_UP = "catching_up"
    LIVE = "live"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ProjectionStats:
    """A snapshot of one projection runner.

    ``position`` is the global position of the last event fully handled (or parked);
    ``head_position`` the newest global position the runner has seen in the store;
    ``lag`` how many global positions it is behind (events of every type, not only its own).
    ``throughput`` is events handled per second over the last ten seconds;
    ``storage_errors`` counts database failures the runner rode out.
    """

    name: str
    state: RunnerState
    position: int
    checkpointed_position: int
    head_position: int
    lag: int
    events_handled: int
    events_failed: int
    events_parked: int
    retries: int
    storage_errors: int
    throughput: float
    last_error: str | None
    last_handled_at: datetime | None


class ProjectionMetrics:
    """Mutable counters of one projection runner; :meth:`snapshot` reads them."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.state = RunnerState.IDLE
        self.position = 0
        self.scanned = 0
        self.checkpointed = 0
        self.head = 0
        self.handled = 0
        self.failed = 0
        self.parked = 0
        self.retries = 0
        self.storage_errors = 0
        self.last_error: str | None = None
        self.last_handled_at: datetime | None = None
        self._recent: deque[tuple[float, int]] = deque(maxlen=256)

    def record_handled(self, global_position: int) -> None:
        """One event handled at ``global_position``."""
        self.handled += 1
        self.position = max(self.position, global_position)
        self.last_handled_at = datetime.now(UTC)
        now = time.monotonic()
        # One bucket per 50 ms keeps the window small whatever the rate.
        if self._recent and now - self._recent[-1][0] < 0.05:
            stamp, count = self._recent[-1]
            self._recent[-1] = (stamp, count + 1)
        else:
            self._recent.append((now, 1))

    def record_error(self, error: BaseException) -> None:
        """A failed attempt."""
        self.last_error = error_summary(error)

    def throughput(self) -> float:
        """Events handled per second over the last :data:`THROUGHPUT_WINDOW` seconds."""
        now = time.monotonic()
        recent = [(t, n) for t, n in self._recent if now - t <= THROUGHPUT_WINDOW]
        if not recent:
            return 0.0
        span = max(now - recent[0][0], 0.05)
        return sum(n for _, n in recent) / span

    def snapshot(self) -> ProjectionStats:
        """The current values."""
        head = max(self.head, self.scanned)
        return ProjectionStats(
            name=self.name,
            state=self.state,
            position=self.position,
            checkpointed_position=self.checkpointed,
            head_position=head,
            lag=max(0, head - max(self.scanned, self.position)),
            events_handled=self.handled,
            events_failed=self.failed,
            events_parked=self.parked,
            retries=self.retries,
            storage_errors=self.storage_errors,
            throughput=self.throughput(),
            last_error=self.last_error,
            last_handled_at=self.last_handled_at,
        )


@dataclass(frozen=True, slots=True)
class RelayStats:
    """A snapshot of one outbox relay worker."""

    worker_id: str
    batches: int
    claimed: int
    published: int
    retried: int
    failed: int
    expired: int
    last_error: str | None


@dataclass
class RelayMetrics:
    """Mutable counters of one relay worker."""

    worker_id: str
    batches: int = 0
    claimed: int = 0
    published: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0
    last_error: str | None = None

    def snapshot(self) -> RelayStats:
        """The current values."""
        return RelayStats(
            self.worker_id,
            self.batches,
            self.claimed,
            self.published,
            self.retried,
            self.failed,
            self.expired,
            self.last_error,
        )
