"""One owner per projection: the lease a :class:`ProjectionRunner` holds while it delivers.

A runner over a backend with ``projection_leases`` (memory, SQLite, PostgreSQL) acquires its
projection's lease before it reads anything; a second runner of the same projection waits as a
hot standby, asking again every ``standby_poll`` seconds, and takes over when the owner
releases the lease (on stop), or its lease expires (a crash, a lost connection). The owner
renews every ``renew_every`` seconds in the background. It counts its lease as lost
``ttl`` seconds after it *sent* its last successful renewal (the backend stamps the expiry
later than that, so the owner gives up first); from then on it delivers nothing and goes back
to standby. Every checkpoint it writes is fenced by the lease's token (refused with
:class:`OwnershipLostError` once a newer owner exists).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from .._exceptions import ConfigurationError, OwnershipLostError, StorageError
from ..clock import SYSTEM_CLOCK, Clock, SystemClock
from ..repositories._leases import ProjectionLease, ProjectionLeases

__all__ = ["Ownership", "OwnershipKeeper", "default_owner_id"]

log = logging.getLogger("eventsource.runtime")


def default_owner_id() -> str:
    """``host-pid-random``: unique per runner, readable in ``eventsource checkpoints``."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class Ownership:
    """How a runner owns its projection (``ProjectionRunner(ownership=...)``).

    - ``ttl``: seconds a lease lasts unless renewed; a crashed owner's projection is taken
      over at most ``ttl + standby_poll`` seconds after its last renewal.
    - ``renew_every``: seconds between renewals (less than ``ttl``).
    - ``standby_poll``: seconds a standby waits between attempts to take over.
    - ``owner_id``: the name this runner holds leases under (default: host, pid, random).

    The defaults (3 s, 1 s, 0.5 s) take a crashed owner's projection over within 3.5 s.
    """

    ttl: float = 3.0
    renew_every: float = 1.0
    standby_poll: float = 0.5
    owner_id: str | None = None

    def __post_init__(self) -> None:
        if not 0 < self.renew_every < self.ttl:
            raise ConfigurationError(
                f"ownership needs 0 < renew_every < ttl, got renew_every={self.renew_every}"
                f" and ttl={self.ttl}"
            )
        if self.standby_poll <= 0:
            raise ConfigurationError(f"standby_poll must be > 0, got {self.standby_poll}")


class OwnershipKeeper:
    """Holds one projection's lease for a runner: standby, renewal, loss, fenced writes."""

    def __init__(
        self,
        leases: ProjectionLeases,
        projection_name: str,
        ownership: Ownership,
        clock: Clock | None = None,
        on_error: Callable[[StorageError], None] | None = None,
    ) -> None:
        self.leases = leases
        #: Told of every storage error met while acquiring or renewing (the runner counts them).
        self.on_error = on_error
        self.projection_name = projection_name
        self.ownership = ownership
        self.owner_id = ownership.owner_id or default_owner_id()
        #: Where the deadline and the pauses read the time. Under the system clock, expiry is
        #: judged by the backend's own clock (the server's on PostgreSQL); any other clock's
        #: ``now()`` is passed to the backend.
        self.clock: Clock = clock if clock is not None else SYSTEM_CLOCK
        self.lease: ProjectionLease | None = None
        #: Set whenever no lease is held (lost, released, or not yet acquired).
        self.lost = asyncio.Event()
        self.lost.set()
        self._deadline = 0.0
        self._renewer: asyncio.Task[None] | None = None
        #: How many times a held lease was lost (not released).
        self.losses = 0

    @property
    def ttl(self) -> timedelta:
        """The lease duration."""
        return timedelta(seconds=self.ownership.ttl)

    def _now(self) -> datetime | None:
        return None if isinstance(self.clock, SystemClock) else self.clock.now()

    @property
    def held(self) -> bool:
        """True while a lease is held and its deadline has not passed."""
        return self.lease is not None and self.clock.monotonic() < self._deadline

    def check(self) -> ProjectionLease:
        """The held lease; :class:`OwnershipLostError` once it is lost or past its deadline."""
        lease = self.lease
        if lease is None:
            raise OwnershipLostError(self.projection_name, 0, None, "no lease is held")
        if self.clock.monotonic() >= self._deadline:
            self._lose("the lease ran out before it could be renewed")
            raise OwnershipLostError(
                self.projection_name, lease.token, None, "the lease ran out before renewal"
            )
        return lease

    async def try_acquire(self) -> ProjectionLease | None:
        """One attempt: the lease if granted now (a storage error counts as not granted)."""
        sent = self.clock.monotonic()
        try:
            lease = await self.leases.acquire_lease(
                self.projection_name, self.owner_id, self.ttl, now=self._now()
            )
        except StorageError as exc:
            log.warning("projection %r: cannot ask for its lease: %s", self.projection_name, exc)
            self._error(exc)
            return None
        if lease is None:
            return None
        self._hold(lease, sent)
        return lease

    async def acquire(self, stop: asyncio.Event) -> ProjectionLease | None:
        """Wait as a standby until the lease is granted (returned) or ``stop`` is set (None)."""
        announced = False
        while not stop.is_set():
            lease = await self.try_acquire()
            if lease is not None:
                log.info(
                    "projection %r: owned by %s (token %d)",
                    self.projection_name,
                    self.owner_id,
                    lease.token,
                )
                return lease
            if not announced:
                log.info("projection %r: standing by (%s)", self.projection_name, self.owner_id)
                announced = True
            await self._wait(stop, self.ownership.standby_poll)
        return None

    async def acquire_within(self, seconds: float, stop: asyncio.Event) -> ProjectionLease | None:
        """Like :meth:`acquire`, giving up (None) after ``seconds`` on the clock."""
        deadline = self.clock.monotonic() + seconds
        while not stop.is_set():
            lease = await self.try_acquire()
            if lease is not None:
                return lease
            left = deadline - self.clock.monotonic()
            if left <= 0:
                return None
            await self._wait(stop, min(self.ownership.standby_poll, left))
        return None

    async def current_owner(self) -> ProjectionLease | None:
        """The projection's latest lease as stored (None if it never had one)."""
        return await self.leases.get_lease(self.projection_name)

    async def write_checkpoint(self, event_id: UUID, event_type: str, global_position: int) -> None:
        """The fenced checkpoint write; :class:`OwnershipLostError` (nothing written) when the
        lease is lost or superseded."""
        lease = self.check()
        try:
            await self.leases.update_checkpoint_fenced(lease, event_id, event_type, global_position)
        except OwnershipLostError:
            self._lose("a newer owner took over")
            raise

    async def release(self) -> None:
        """Stop renewing and give the lease back (a standby takes over at its next poll)."""
        await self._stop_renewing()
        lease, self.lease = self.lease, None
        self.lost.set()
        if lease is None:
            return
        try:
            await self.leases.release_lease(lease, now=self._now())
        except StorageError as exc:  # the lease runs out by itself
            log.warning("projection %r: cannot release its lease: %s", self.projection_name, exc)

    # -- internals ---------------------------------------------------------------------------

    def _error(self, exc: StorageError) -> None:
        if self.on_error is not None:
            self.on_error(exc)

    def _hold(self, lease: ProjectionLease, sent: float) -> None:
        self.lease = lease
        self._deadline = sent + self.ownership.ttl
        self.lost.clear()
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.create_task(
                self._renew_loop(), name=f"lease:{self.projection_name}"
            )

    def _lose(self, reason: str) -> None:
        if self.lease is None:
            return
        log.warning(
            "projection %r: %s lost ownership (token %d): %s",
            self.projection_name,
            self.owner_id,
            self.lease.token,
            reason,
        )
        self.lease = None
        self.losses += 1
        self.lost.set()
        renewer = self._renewer
        if renewer is not None and renewer is not asyncio.current_task():
            renewer.cancel()

    async def _stop_renewing(self) -> None:
        renewer, self._renewer = self._renewer, None
        if renewer is not None and not renewer.done():
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer

    async def _renew_loop(self) -> None:
        while self.lease is not None:
            await self.clock.sleep(self.ownership.renew_every)
            lease = self.lease
            if lease is None:
                return
            sent = self.clock.monotonic()
            try:
                renewed = await self.leases.renew_lease(lease, self.ttl, now=self._now())
            except StorageError as exc:
                self._error(exc)
                if self.clock.monotonic() >= self._deadline:
                    self._lose(f"renewal failed: {exc}")
                    return
                log.warning("projection %r: lease renewal failed: %s", self.projection_name, exc)
                continue
            if self.lease is not lease:
                return  # released or lost meanwhile
            if renewed is None:
                self._lose("a newer owner took over")
                return
            self.lease = renewed
            self._deadline = sent + self.ownership.ttl

    async def _wait(self, stop: asyncio.Event, seconds: float) -> None:
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, stopper):
                task.cancel()
            await asyncio.gather(sleeper, stopper, return_exceptions=True)
