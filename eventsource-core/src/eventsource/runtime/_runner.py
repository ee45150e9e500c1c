"""Running projections: catch up from the checkpoint through ``read_all``, then follow the store
live, checkpointing as events are handled. Delivery is at-least-once."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, Self
from uuid import UUID

from .._exceptions import (
    ConfigurationError,
    EventDecodeError,
    InvalidStateError,
    OwnershipLostError,
    ProjectionOwnedError,
    StorageError,
)
from ..clock import Clock
from ..plugins._backend import Backend
from ..repositories._contracts import CheckpointRepository, DLQRepository
from ..repositories._entries import LagMetrics
from ..repositories._leases import ProjectionLease, ProjectionLeases
from ..stores._contract import EventStore
from ..stores._shard_reads import ShardReads
from ..stores._types import ReadDirection, ReadOptions, StoredEvent
from ._dlq import DLQReplayer, EventSource, ReplayResult
from ._errors import ProjectionStoppedError
from ._metrics import ProjectionMetrics, ProjectionStats, RunnerState
from ._ownership import Ownership, OwnershipKeeper
from ._projection import PositionTrackingProjection, ProjectionLike, check_projection
from ._retry import Backoff, FailureMode, RetryPolicy
from ._shards import Shard, handling_shard
from ._undecodable import UndecodableEvent
from ._worker import BackgroundWorker

__all__ = ["ProgressCallback", "ProjectionRunner", "RebuildProgress"]

log = logging.getLogger("eventsource.runtime")


@dataclass(frozen=True, slots=True)
class RebuildProgress:
    """How far a rebuild (or catch-up) is: events handled and positions reached."""

    projection_name: str
    handled: int
    position: int
    target_position: int
    done: bool = False

    @property
    def fraction(self) -> float:
        """Share of the target position reached, 0..1."""
        if self.target_position <= 0:
            return 1.0
        return min(1.0, self.position / self.target_position)


ProgressCallback = Callable[[RebuildProgress], Awaitable[None] | None]


class _Abandoned(Exception):
    """The in-flight event was abandoned because a stop was requested during its backoff."""


class _Mark(NamedTuple):
    """What a checkpoint records of a parked undecodable event (a StoredEvent has the same)."""

    event_id: UUID
    event_type: str
    global_position: int


class ProjectionRunner(BackgroundWorker):
    """Feeds one projection from a store, keeping its checkpoint.

    Build it over a :class:`~eventsource.plugins.Backend` with :meth:`from_backend` or over an
    explicit ``store``, ``checkpoints`` and ``dlq``. :meth:`run` (or :meth:`start`) catches up
    from the checkpoint and then waits for new events with ``store.wait_for_events``;
    :meth:`stop` ends it after the in-flight event, leaving the checkpoint on the last event
    fully handled (or parked).

    The checkpoint is written every ``checkpoint_every`` events or ``checkpoint_interval``
    seconds, whichever comes first, and whenever the runner stops or goes idle: after a crash
    up to that many events are delivered again (at-least-once).

    While running, a :class:`StorageError` (database locked, connection lost, ...) is logged
    and retried after ``storage_backoff``, resuming after the last event handled; after
    ``storage_retries`` consecutive failures (None: never give up) :meth:`run` raises it.

    A stored event that cannot be decoded (:class:`~eventsource.EventDecodeError` from
    ``read_all``) meets the same ``on_failure`` policy as an event whose handler keeps failing,
    at once, without retries (decoding the same text again cannot succeed): ``SKIP`` parks it
    in the DLQ as an :class:`UndecodableEvent` and reading resumes after it; ``STOP`` stops
    with :class:`ProjectionStoppedError` (its cause the decode error), the checkpoint before it.

    Retry and storage backoff and the checkpoint interval are measured on ``clock`` (default:
    the system clock; see :mod:`eventsource.clock`). Start, stop, :meth:`request_stop` and
    the one-run-at-a-time guard (:class:`~eventsource.WorkerBusyError`) are
    :class:`BackgroundWorker`'s.

    **One owner per projection** (``ownership``, on by default over a backend with the
    ``projection_leases`` capability): the runner acquires its projection's lease before
    reading; a second runner of the same projection, in any process, stands by
    (:attr:`RunnerState.STANDBY`) and takes over, from the checkpoint, when the owner stops,
    crashes or loses its connection (see :class:`Ownership` for the timing). Checkpoints are
    fenced by the lease: a deposed owner's are refused, and it goes back to standby.
    ``ownership=False`` runs without a lease (one process only). The lease is kept on
    ``clock`` too (under the system clock, expiry is judged by the backend's own clock).
    :meth:`catch_up` and :meth:`rebuild` wait for the lease no longer than a crashed owner's
    takes to run out, and raise :class:`ProjectionOwnedError` while another owner keeps it.

    ``shard`` (a :class:`Shard`) makes the runner handle only that shard's streams, under the
    shard's own checkpoint, lease and DLQ name (``name#k/N``); :class:`ShardedRunner` starts
    one per owned shard. Not for a :class:`PositionTrackingProjection` (one position).
    """

    def __init__(
        self,
        projection: ProjectionLike,
        *,
        store: EventStore,
        checkpoints: CheckpointRepository,
        dlq: DLQRepository,
        retry: RetryPolicy | None = None,
        checkpoint_every: int = 100,
        checkpoint_interval: float = 0.5,
        wait_timeout: float = 5.0,
        storage_retries: int | None = None,
        storage_backoff: Backoff | None = None,
        clock: Clock | None = None,
        ownership: Ownership | bool = True,
        shard: Shard | None = None,
    ) -> None:
        super().__init__(clock=clock)
        self.projection = check_projection(projection)
        self.shard = shard
        self._name = projection.name if shard is None else shard.name_for(projection.name)
        if checkpoint_every < 1:
            raise ConfigurationError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
        if checkpoint_interval < 0 or wait_timeout <= 0:
            raise ConfigurationError("checkpoint_interval must be >= 0 and wait_timeout > 0")
        self.store = store
        self.checkpoints = checkpoints
        self.dlq = dlq
        #: A shard read through the store's own filter (capability ``shard_reads``).
        self._shard_reads = shard is not None and isinstance(store, ShardReads)
        own_policy = getattr(projection, "retry_policy", None)
        if retry is None:
            retry = own_policy if isinstance(own_policy, RetryPolicy) else RetryPolicy()
        self.retry: RetryPolicy = retry
        self.checkpoint_every = checkpoint_every
        self.checkpoint_interval = checkpoint_interval
        self.wait_timeout = wait_timeout
        self.storage_retries = storage_retries
        self.storage_backoff = storage_backoff or Backoff(initial=0.1, maximum=5.0)
        self._tracking = isinstance(projection, PositionTrackingProjection)
        if self._tracking and shard is not None:
            raise ConfigurationError(
                f"projection {projection.name!r} keeps one position of its own: it cannot be"
                " sharded"
            )
        types = projection.event_types
        self._types = None if types is None else tuple(types)
        self.metrics = ProjectionMetrics(self._name)
        self._pending: StoredEvent | _Mark | None = None
        self._pending_count = 0
        self._last_flush = self.clock.monotonic()
        self._position_changed = asyncio.Condition()
        self._owner = _keeper(self._name, checkpoints, ownership, self.clock)
        if self._owner is not None:
            self._owner.on_error = self._count_storage_error

    @classmethod
    def from_backend(cls, projection: ProjectionLike, backend: Backend, **options: Any) -> Self:
        """A runner over an open backend's store, checkpoints and DLQ."""
        return cls(
            projection,
            store=backend.events,
            checkpoints=backend.checkpoints,
            dlq=backend.dlq,
            **options,
        )

    @property
    def name(self) -> str:
        """The projection's name (a shard's: ``name#k/N``): its checkpoint and lease name."""
        return self._name

    @property
    def position(self) -> int:
        """Global position of the last event fully handled or parked."""
        return self.metrics.position

    @property
    def worker_name(self) -> str:
        """``projection:<name>``."""
        return f"projection:{self.name}"

    def stats(self) -> ProjectionStats:
        """Counters, position, lag and throughput (see :class:`ProjectionStats`)."""
        return self.metrics.snapshot()

    @property
    def lease(self) -> ProjectionLease | None:
        """The ownership lease this runner holds now (None: standby, stopped, or no leases)."""
        return None if self._owner is None else self._owner.lease

    @property
    def owner_id(self) -> str | None:
        """The name this runner holds its lease under (None without ownership)."""
        return None if self._owner is None else self._owner.owner_id

    def _count_storage_error(self, exc: StorageError) -> None:
        self.metrics.record_error(exc)
        self.metrics.storage_errors += 1

    async def lag(self) -> LagMetrics | None:
        """The checkpoint repository's lag metrics for this projection's event types."""
        return await self.checkpoints.get_lag_metrics(self.name, self._types)

    # -- positions ---------------------------------------------------------------------------

    async def _load_position(self) -> None:
        if self._tracking:
            position = await self.projection.load_position()  # type: ignore[attr-defined]
        else:
            position = await self.checkpoints.get_position(self.name)
        position = int(position or 0)
        self.metrics.position = self.metrics.scanned = self.metrics.checkpointed = position

    async def _flush(self) -> None:
        pending, self._pending = self._pending, None
        self._pending_count = 0
        self._last_flush = self.clock.monotonic()
        if pending is None or self._tracking:
            return
        try:
            if self._owner is not None:
                await self._owner.write_checkpoint(
                    pending.event_id, pending.event_type, pending.global_position
                )
            else:
                await self.checkpoints.update_checkpoint(
                    self.name,
                    pending.event_id,
                    pending.event_type,
                    global_position=pending.global_position,
                )
        except OwnershipLostError:
            raise  # the successor delivers these events again from its checkpoint
        except BaseException:
            if self._pending is None:
                self._pending = pending  # keep it to retry on the next flush
            raise
        self.metrics.checkpointed = max(self.metrics.checkpointed, pending.global_position)

    async def _advance(self, stored: StoredEvent | _Mark) -> None:
        self.metrics.position = max(self.metrics.position, stored.global_position)
        self.metrics.scanned = max(self.metrics.scanned, stored.global_position)
        self._pending = stored
        self._pending_count += 1
        if (
            self._pending_count >= self.checkpoint_every
            or self.clock.monotonic() - self._last_flush >= self.checkpoint_interval
        ):
            await self._flush()
        await self._notify()

    def _skip(self, stored: StoredEvent) -> None:
        """Pass over another shard's event: the checkpoint moves past it at the next flush."""
        self.metrics.position = max(self.metrics.position, stored.global_position)
        self.metrics.scanned = max(self.metrics.scanned, stored.global_position)
        self._pending = stored

    async def _notify(self) -> None:
        async with self._position_changed:
            self._position_changed.notify_all()

    # -- delivery ----------------------------------------------------------------------------

    async def _call(self, stored: StoredEvent) -> None:
        if self.shard is not None:
            with handling_shard(self.shard):
                await self.projection.handle(stored.event)
        elif self._tracking:
            await self.projection.handle_at(  # type: ignore[attr-defined]
                stored.event, stored.global_position
            )
        else:
            await self.projection.handle(stored.event)

    async def _deliver(self, stored: StoredEvent) -> bool:
        """Handle ``stored`` with retries; True when handled, False when parked."""
        policy = self.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._call(stored)
            except OwnershipLostError:
                raise  # a fenced read model refused the change: not the handler's failure
            except Exception as exc:
                self.metrics.record_error(exc)
                if attempt < policy.max_attempts:
                    self.metrics.retries += 1
                    if await self._pause(policy.backoff.delay(attempt)):
                        raise _Abandoned from exc
                    continue
                self.metrics.failed += 1
                if policy.on_failure is FailureMode.STOP:
                    raise ProjectionStoppedError(
                        self.name,
                        stored.event_id,
                        stored.event_type,
                        attempt,
                        global_position=stored.global_position,
                    ) from exc
                await self.dlq.add_failed_event(
                    stored.event_id,
                    self.name,
                    stored.event_type,
                    stored.event.model_dump(mode="json"),
                    error=exc,
                    retry_count=attempt,
                )
                await self._store_position(stored.global_position)
                self.metrics.parked += 1
                log.warning(
                    "projection %r parked event %s %s after %d attempt(s): %s",
                    self.name,
                    stored.event_type,
                    stored.event_id,
                    attempt,
                    self.metrics.last_error,
                )
                return False
            self.metrics.record_handled(stored.global_position)
            return True

    async def _store_position(self, global_position: int) -> None:
        """A position-tracking projection keeps its own position: move it past a parked event."""
        if self._tracking:
            store_position = getattr(self.projection, "store_position", None)
            if store_position is not None:
                await store_position(global_position)

    async def _undecodable(self, error: EventDecodeError) -> None:
        """Apply the failure policy to an event ``read_all`` could not decode: no retries,
        decoding the same stored text again cannot succeed."""
        if error.global_position is None or error.global_position <= self.metrics.scanned:
            # A backend that cannot say where the row is (or names one it was not asked to
            # read): reading cannot resume past it.
            raise error
        if self.shard is not None and not self.shard.holds(_stream_uuid(error.stream_id)):
            self.metrics.position = max(self.metrics.position, error.global_position)
            self.metrics.scanned = max(self.metrics.scanned, error.global_position)
            return  # another shard's stream: that shard parks it
        poison = UndecodableEvent.from_error(error)
        event_id = poison.dlq_event_id
        # The stored type may be no valid identifier (a row written by other means): the
        # entry is filed under a stand-in, the wrapper keeps the stored one.
        event_type = poison.dlq_event_type
        self.metrics.record_error(error)
        self.metrics.failed += 1
        if self.retry.on_failure is FailureMode.STOP:
            raise ProjectionStoppedError(
                self.name, event_id, event_type, 1, global_position=error.global_position
            ) from error
        await self.dlq.add_failed_event(
            event_id,
            self.name,
            event_type,
            poison.to_event_data(),
            error=error,
            retry_count=1,
        )
        await self._store_position(error.global_position)
        self.metrics.parked += 1
        log.warning(
            "projection %r parked undecodable event %s %s at global position %d: %s",
            self.name,
            event_type,
            event_id,
            error.global_position,
            self.metrics.last_error,
        )
        await self._advance(_Mark(event_id, event_type, error.global_position))

    async def _pass(self, progress: ProgressCallback | None = None, every: int = 1000) -> int:
        """Handle every event readable now after the scanned position; returns how many were
        handled (parked events are not counted). A read that stops at an undecodable event
        resumes after it once the failure policy let the projection go on."""
        head = await self.store.get_global_position()
        self.metrics.head = max(self.metrics.head, head)
        handled = 0
        complete = True
        while complete:
            # the stored types too that an upcaster renames into a handled one
            types = self._types
            if types is not None:
                types = self.store.event_registry.stored_types(types)
            options = ReadOptions(from_position=self.metrics.scanned, event_types=types)
            poison: EventDecodeError | None = None
            async with contextlib.aclosing(self._read(options)) as events:  # type: ignore[type-var]
                while True:
                    try:
                        stored = await anext(events)
                    except StopAsyncIteration:
                        break
                    except EventDecodeError as exc:
                        poison = exc
                        break
                    if self._stop.is_set():
                        complete = False
                        break
                    if self._owner is not None:
                        self._owner.check()  # deliver nothing once the lease is lost
                    if self.shard is not None and not self.shard.holds(stored.event.aggregate_id):
                        self._skip(stored)  # another shard's stream
                        continue
                    ok = await self._deliver(stored)
                    await self._advance(stored)
                    handled += ok
                    if ok and progress is not None and handled % every == 0:
                        await _call_progress(progress, self._progress(handled, head))
            if poison is None:
                break
            if self._stop.is_set():
                complete = False
                break
            await self._undecodable(poison)
        if complete:
            # Everything up to ``head`` was readable when the pass began, and was read.
            self.metrics.scanned = max(self.metrics.scanned, head)
            if self._shard_reads and head > self.metrics.position:
                await self._pass_to(head)
        await self._flush()
        await self._notify()
        return handled

    def _read(self, options: ReadOptions) -> AsyncIterator[StoredEvent]:
        """The pass's read: a shard's streams only, filtered by the store when it can."""
        if self._shard_reads:
            assert isinstance(self.store, ShardReads) and self.shard is not None
            return self.store.read_all_shard(self.shard.index, self.shard.count, options)
        return self.store.read_all(options)

    async def _pass_to(self, head: int) -> None:
        """After a store-filtered pass: pass over the other shards' events up to ``head``, so
        the checkpoint reaches the last of them as when they are read and skipped (one row
        read, backward from ``head``, lazily: only its position, type and id are used, so it is
        never decoded, and a row this process cannot decode does not hold the checkpoint back)."""
        last = ReadOptions(
            direction=ReadDirection.BACKWARD, from_position=head + 1, limit=1, lazy=True
        )
        async for stored in self.store.read_all(last):
            if stored.global_position > self.metrics.position:
                self._skip(stored)

    def _progress(self, handled: int, target: int, done: bool = False) -> RebuildProgress:
        return RebuildProgress(self.name, handled, self.metrics.scanned, target, done)

    # -- running -----------------------------------------------------------------------------

    async def catch_up(self, *, progress: ProgressCallback | None = None, every: int = 1000) -> int:
        """Handle everything stored now, checkpoint, and return the number of events handled.

        ``progress`` (sync or async) is called every ``every`` events and once at the end.
        """
        self._enter()
        total = 0
        try:
            await self._own_now()
            await self._load_position()
            self.metrics.state = RunnerState.CATCHING_UP
            target = await self.store.get_global_position()
            while not self._stop.is_set():
                handled = await self._pass(progress, every)
                total += handled
                if self.metrics.scanned >= target:
                    break
            if progress is not None:
                await _call_progress(progress, self._progress(total, target, done=True))
            self.metrics.state = RunnerState.IDLE
            return total
        except _Abandoned:
            self.metrics.state = RunnerState.STOPPED
            return total
        except BaseException:
            self.metrics.state = RunnerState.FAILED
            raise
        finally:
            await self._leave()

    async def run(self) -> None:
        """Catch up, then follow new events until :meth:`stop`; re-raises a fatal error."""
        await super().run()

    async def _work(self) -> None:
        try:
            await self._follow()
            self.metrics.state = RunnerState.STOPPED
        except _Abandoned:
            self.metrics.state = RunnerState.STOPPED
        except asyncio.CancelledError:
            self.metrics.state = RunnerState.STOPPED
            raise
        except BaseException:
            self.metrics.state = RunnerState.FAILED
            raise

    async def _own_now(self) -> None:
        """Take the lease for a catch-up or rebuild, waiting at most as long as a crashed
        owner's lease takes to run out (``ttl + standby_poll``); refused while another
        owner keeps its lease live."""
        owner = self._owner
        if owner is None or owner.held:
            return
        patience = owner.ownership.ttl + owner.ownership.standby_poll
        lease = await owner.acquire_within(patience, self._stop)
        if lease is None and self._stop.is_set():
            raise _Abandoned  # stopped while waiting for the lease
        if lease is None:
            current = await owner.current_owner()
            holder = "another owner" if current is None else current.owner_id
            since = None if current is None else current.acquired_at
            raise ProjectionOwnedError(self.name, holder, since)
        await self._fence(lease)

    async def _fence(self, lease: ProjectionLease) -> None:
        """Tell a projection that fences its own writes (``fence(token)``) the new token."""
        fence = getattr(self.projection, "fence", None)
        if fence is not None:
            await _maybe_await(fence(lease.token))

    async def _follow(self) -> None:
        """Own the projection (standing by until granted) and follow it while owned."""
        owner = self._owner
        if owner is None:
            await self._follow_owned()
            return
        while not self._stop.is_set():
            self.metrics.state = RunnerState.STANDBY
            lease = await owner.acquire(self._stop)
            if lease is None:
                break
            try:
                await self._fence(lease)
                await self._follow_owned()
            except OwnershipLostError as exc:
                log.warning("projection %r: standing by again: %s", self.name, exc)
                self._pending, self._pending_count = None, 0
                await owner.release()

    async def _follow_owned(self) -> None:
        """Catch up and follow until stopped, riding out storage errors with backoff."""
        failures = 0
        loaded = False
        self.metrics.state = RunnerState.CATCHING_UP
        while not self._stop.is_set():
            try:
                if not loaded:
                    await self._load_position()
                    loaded = True
                await self._pass()
                failures = 0
                if self._stop.is_set():
                    break
                self.metrics.state = RunnerState.LIVE
                while not await self._wait_for_events() and not self._stop.is_set():
                    if self._owner is not None:
                        self._owner.check()  # woken by a lost lease: stand by again
            except StorageError as exc:
                failures += 1
                if self.storage_retries is not None and failures > self.storage_retries:
                    raise
                self.metrics.record_error(exc)
                self.metrics.storage_errors += 1
                delay = self.storage_backoff.delay(failures)
                log.warning(
                    "projection %r: storage error, retrying in %.2fs: %s", self.name, delay, exc
                )
                await self._pause(delay)

    async def _leave(self) -> None:
        try:
            try:
                await self._flush()
            except OwnershipLostError as exc:  # the successor delivers them again
                log.warning("projection %r: last checkpoint refused: %s", self.name, exc)
        finally:
            try:
                if self._owner is not None:
                    await self._owner.release()
            finally:
                await super()._leave()
                await self._notify()

    async def _wait_for_events(self) -> bool:
        waiter = asyncio.ensure_future(
            self.store.wait_for_events(self.metrics.scanned, self.wait_timeout)
        )
        stopper = asyncio.ensure_future(self._stop.wait())
        wakers = {waiter, stopper}
        if self._owner is not None:
            wakers.add(asyncio.ensure_future(self._owner.lost.wait()))
        try:
            await asyncio.wait(wakers, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in wakers:
                if not task.done():
                    task.cancel()
            await asyncio.gather(*wakers, return_exceptions=True)
        if not waiter.done() or waiter.cancelled():
            return False
        error = waiter.exception()
        if error is not None:
            raise error
        return bool(waiter.result())

    def _stopping(self) -> None:
        self.metrics.state = RunnerState.STOPPING

    async def stop(self, timeout: float | None = 10.0) -> None:
        """Stop after the in-flight event; after ``timeout`` seconds abandon it (cancel).

        Either way the checkpoint is left on the last event fully handled. Re-raises the error
        that ended the runner, if any (``ProjectionStoppedError`` in ``STOP`` mode); a
        cancellation of the caller propagates to it.
        """
        await super().stop(timeout)

    async def wait_for_position(self, position: int, timeout: float) -> bool:
        """Wait until the runner has handled everything up to ``position``; False on timeout
        or if the runner ends first."""

        def reached() -> bool:
            return self.metrics.scanned >= position or self.metrics.position >= position

        async with self._position_changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._position_changed.wait_for(lambda: reached() or not self._busy),
                    timeout,
                )
            return reached()

    async def rebuild(self, *, progress: ProgressCallback | None = None, every: int = 1000) -> int:
        """Reset the projection (its ``reset()`` and its checkpoint) and replay every event.

        Refused with :class:`InvalidStateError` while the runner is running.
        """
        if self._busy:
            raise InvalidStateError(
                f"projection {self.name!r} is running: stop it before rebuilding"
            )
        self._stop.clear()  # a stop requested before this rebuild does not apply to it
        try:
            await self._own_now()  # before anything is reset; catch_up keeps, then releases it
        except _Abandoned:
            return 0
        try:
            reset = getattr(self.projection, "reset", None)
            if reset is not None:
                await _maybe_await(reset())
            await self.checkpoints.reset_checkpoint(self.name)
        except BaseException:
            if self._owner is not None:
                await self._owner.release()
            raise
        self.metrics.position = self.metrics.scanned = self.metrics.checkpointed = 0
        return await self.catch_up(progress=progress, every=every)

    def replayer(self) -> DLQReplayer:
        """A :class:`DLQReplayer` over this runner's DLQ and store."""
        return DLQReplayer(self.dlq, self.store)

    async def replay(
        self, dlq_id: int, *, resolution: str = "replayed", source: EventSource = "auto"
    ) -> ReplayResult:
        """Replay one parked event into this projection (see :meth:`DLQReplayer.replay`)."""
        return await self.replayer().replay(
            self.projection, dlq_id, resolution=resolution, source=source
        )

    async def replay_all(
        self, *, resolution: str = "replayed", limit: int = 1000, source: EventSource = "auto"
    ) -> list[ReplayResult]:
        """Replay every failed entry of this projection (a shard runner's: of its shard;
        an unsharded one's: of the projection and all its shards), oldest first."""
        return await self.replayer().replay_all(
            self.projection, resolution=resolution, limit=limit, source=source, shard=self.shard
        )


def _stream_uuid(stream_id: object) -> object:
    """An undecodable row's aggregate id (``"<uuid>:<type>"`` stream ids) when it has one."""
    if isinstance(stream_id, str):
        try:
            return UUID(stream_id.partition(":")[0])
        except ValueError:
            return stream_id
    return stream_id


async def _maybe_await(value: Any) -> None:
    if inspect.isawaitable(value):
        await value


async def _call_progress(callback: ProgressCallback, progress: RebuildProgress) -> None:
    await _maybe_await(callback(progress))


def _keeper(
    name: str,
    checkpoints: CheckpointRepository,
    ownership: Ownership | bool,
    clock: Clock,
) -> OwnershipKeeper | None:
    """The runner's lease keeper: None with ``ownership=False`` or when the checkpoint
    repository keeps no leases (a backend without ``projection_leases``)."""
    if ownership is False:
        return None
    if not isinstance(checkpoints, ProjectionLeases):
        if ownership is not True:
            raise ConfigurationError(
                f"projection {name!r}: ownership was configured, but the checkpoint repository "
                f"{type(checkpoints).__name__} keeps no leases (capability projection_leases)"
            )
        log.info("projection %r: no ownership leases on this backend; one runner only", name)
        return None
    options = Ownership() if ownership is True else ownership
    return OwnershipKeeper(checkpoints, name, options, clock)
