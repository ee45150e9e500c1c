"""The outbox relay: claim pending entries in batches, publish them, mark them published, and
retry failures with backoff until a limit, after which an entry is marked failed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal, Self
from uuid import UUID, uuid4

from .._exceptions import ConfigurationError, EventSourceError
from ..clock import Clock
from ..plugins._backend import Backend
from ..repositories._contracts import OutboxRepository
from ..repositories._entries import OutboxEntry
from ..repositories._error_text import error_summary
from ..stores._contract import EventStore
from ._metrics import RelayMetrics, RelayStats
from ._publishers import Publisher, get_publisher
from ._retry import Backoff
from ._worker import BackgroundWorker, finish_write

__all__ = ["BatchResult", "OutboxRelay"]

log = logging.getLogger("eventsource.runtime.relay")


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one :meth:`OutboxRelay.run_once` did."""

    claimed: int = 0
    published: int = 0
    retried: int = 0
    failed: int = 0
    expired: int = 0


class OutboxRelay(BackgroundWorker):
    """One relay worker: claims, publishes and settles outbox entries.

    Run as many workers as you like over one outbox: each entry is claimed by one worker for
    ``lease``; a worker publishes an entry only while its claim is safely valid (it skips
    entries whose lease is within ``lease_margin`` of running out, and a publish that is
    still running then is timed out), so no entry is published twice while it is claimed. A
    crashed worker's claims return after their lease and are published by another worker.

    Delivery to the publisher is at-least-once: a worker that dies between publishing and
    marking the entry published leaves it to be published again after the lease.

    ``publisher`` is an async ``publish(entry)`` or the name of one (see
    :func:`get_publisher`). A failed publish is retried after ``backoff`` (by any worker);
    after ``max_attempts`` failed attempts the entry is marked failed.

    The writes that settle an entry (release for a retry, mark failed, mark published) run
    outside the batch's deadline and to their end even when the worker is cancelled, so none
    is cut off half way. Leases, backoff, polling and the batch deadline are measured on
    ``clock`` (default: the system clock; see :mod:`eventsource.clock`). Start, stop and the
    one-run-at-a-time guard are :class:`BackgroundWorker`'s.

    ``ordering="aggregate"`` publishes the entries of one aggregate in the order they were
    added, one at a time across every worker and process (claims pass
    ``per_aggregate_order=True``; the backend needs the ``outbox_aggregate_order``
    capability, and every relay of the outbox must use it). A failing entry holds its
    aggregate's later entries back until it is published or marked failed after
    ``max_attempts``; other aggregates go on.
    """

    def __init__(
        self,
        outbox: OutboxRepository,
        publisher: Publisher | str,
        *,
        worker_id: str | None = None,
        batch_size: int = 100,
        lease: timedelta = timedelta(seconds=30),
        lease_margin: timedelta | None = None,
        max_attempts: int = 5,
        backoff: Backoff | None = None,
        poll_interval: float = 0.5,
        store: EventStore | None = None,
        publisher_options: dict[str, Any] | None = None,
        clock: Clock | None = None,
        ordering: Literal["aggregate"] | None = None,
    ) -> None:
        super().__init__(clock=clock)
        if ordering not in (None, "aggregate"):
            raise ConfigurationError(f"ordering must be None or 'aggregate', got {ordering!r}")
        self.ordering = ordering
        if isinstance(publisher, str):
            publisher = get_publisher(publisher, **(publisher_options or {}))
        if not callable(publisher):
            raise ConfigurationError(f"publisher {publisher!r} is not an async callable")
        if batch_size < 1 or max_attempts < 1 or poll_interval <= 0:
            raise ConfigurationError("batch_size and max_attempts must be >= 1, poll_interval > 0")
        if lease <= timedelta(0):
            raise ConfigurationError("lease must be positive")
        self.outbox = outbox
        self.publisher = publisher
        self.worker_id = worker_id or f"relay-{uuid4().hex[:8]}"
        self.batch_size = batch_size
        self.lease = lease
        margin = (
            lease_margin if lease_margin is not None else min(lease * 0.2, timedelta(seconds=2))
        )
        if margin >= lease:
            raise ConfigurationError("lease_margin must be shorter than lease")
        self.lease_margin = margin
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff(initial=1.0, maximum=60.0)
        self.poll_interval = poll_interval
        self.store = store
        self.metrics = RelayMetrics(self.worker_id)
        self._head = 0

    @classmethod
    def from_backend(cls, backend: Backend, publisher: Publisher | str, **options: Any) -> Self:
        """A relay over an open backend's outbox, woken early by its store's new events."""
        if options.get("ordering") and not backend.capabilities.outbox_aggregate_order:
            raise ConfigurationError(
                f"ordering={options['ordering']!r}: backend {backend.name!r} cannot order outbox "
                "claims per aggregate (capability outbox_aggregate_order is off)"
            )
        options.setdefault("store", backend.events)
        return cls(backend.outbox, publisher, **options)

    @property
    def worker_name(self) -> str:
        """``relay:<worker_id>``."""
        return f"relay:{self.worker_id}"

    def stats(self) -> RelayStats:
        """This worker's counters."""
        return self.metrics.snapshot()

    async def run_once(self) -> BatchResult:
        """Claim one batch and publish it; returns what happened."""
        clock = self.clock
        claimed_at = clock.monotonic()
        if self.ordering is None:
            entries = await self.outbox.get_pending_events(
                self.batch_size, worker_id=self.worker_id, lease=self.lease
            )
        else:
            entries = await self.outbox.get_pending_events(
                self.batch_size,
                worker_id=self.worker_id,
                lease=self.lease,
                per_aggregate_order=True,
            )
        # Publishing stops lease_margin before the claim runs out; the settling writes that
        # follow a publish run outside this deadline, so none is cut off half way.
        deadline = claimed_at + (self.lease - self.lease_margin).total_seconds()
        self.metrics.batches += 1
        self.metrics.claimed += len(entries)
        published: list[UUID] = []
        retried = failed = expired = 0
        try:
            for index, entry in enumerate(entries):
                if self._stop.is_set():
                    # Stopping: hand the rest back at once rather than after the lease.
                    for rest in entries[index:]:
                        await finish_write(self.outbox.release(rest.id))
                    break
                if clock.monotonic() >= deadline:
                    # Our claim may be gone: leave the rest to whoever claims them next.
                    expired += len(entries) - index
                    break
                error: str | None = None
                timed_out = False
                try:
                    async with clock.timeout_at(deadline) as timeout:
                        await self.publisher(entry)
                except TimeoutError as exc:
                    if not timeout.expired():
                        error = error_summary(exc)  # the publisher's own timeout
                    else:
                        timed_out = True
                        limit = (self.lease - self.lease_margin).total_seconds()
                        error = f"publish timed out before the claim's lease ran out ({limit:.2f}s)"
                except Exception as exc:
                    error = error_summary(exc)
                if error is None:
                    published.append(entry.id)
                    continue
                if await self._settle_failure(entry, error):
                    retried += 1
                else:
                    failed += 1
                if timed_out:
                    expired += len(entries) - index - 1
                    break
        finally:
            # One write for the whole batch; still inside the lease (publishing stops
            # lease_margin before it runs out).
            if published:
                await finish_write(self.outbox.mark_published_many(published))
        self.metrics.published += len(published)
        self.metrics.retried += retried
        self.metrics.failed += failed
        self.metrics.expired += expired
        return BatchResult(len(entries), len(published), retried, failed, expired)

    async def _settle_failure(self, entry: OutboxEntry, error: str) -> bool:
        """Release ``entry`` for a retry after backoff (True), or mark it failed once it has
        used its attempts (False)."""
        self.metrics.last_error = error
        attempts = entry.retry_count + 1
        if attempts >= self.max_attempts:
            await finish_write(self.outbox.mark_failed(entry.id, error))
            log.error(
                "outbox entry %s (%s) failed after %d attempts: %s",
                entry.id,
                entry.event_type,
                attempts,
                error,
            )
            return False
        retry_after = self.backoff.timedelta(attempts)
        await finish_write(self.outbox.release(entry.id, error, retry_after=retry_after))
        return True

    async def drain(self, timeout: float = 30.0) -> int:
        """Publish until a batch claims nothing (or ``timeout`` seconds on the clock have
        passed); returns entries published."""
        end = self.clock.monotonic() + timeout
        total = 0
        while self.clock.monotonic() < end:
            result = await self.run_once()
            total += result.published
            if result.claimed == 0:
                break
        return total

    async def _work(self) -> None:
        """Relay until stopped. Storage errors are logged and retried after a pause."""
        failures = 0
        while not self._stop.is_set():
            try:
                if self.store is not None:
                    self._head = await self.store.get_global_position()
                result = await self.run_once()
                failures = 0
            except EventSourceError as exc:
                failures += 1
                self.metrics.last_error = error_summary(exc)
                log.warning("relay %s: batch failed: %s", self.worker_id, exc)
                await self._idle(self.backoff.delay(failures))
                continue
            if result.claimed < self.batch_size:
                await self._idle(self.poll_interval)

    async def _idle(self, seconds: float) -> None:
        """Pause ``seconds``, ending early on a stop or on new events in the store."""
        if self.store is None:
            await self._pause(seconds)
        else:
            await self._pause(seconds, self.store.wait_for_events(self._head, seconds))
