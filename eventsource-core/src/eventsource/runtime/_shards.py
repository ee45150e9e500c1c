"""Sharded projections: one projection's streams split over N shards, each with its own
checkpoint, owner lease and DLQ entries, spread over worker processes that rebalance.

- **Assignment**: an event belongs to shard ``crc32(aggregate_id.bytes) % N`` (:func:`shard_of`;
  zlib's CRC-32 of the stream UUID's 16 bytes, the same in every process and release, never
  Python's salted ``hash``). One stream is always in one shard, so it is handled in order by
  one runner at a time; different shards run in parallel.
- **Names**: shard ``k`` of ``N`` of projection ``p`` keeps its checkpoint, lease and DLQ
  entries under ``p#k/N`` (:meth:`Shard.name_for`). Changing N starts new checkpoints.
- **Workers**: a :class:`ShardedRunner` runs the shards it owns, one
  :class:`~eventsource.runtime.ProjectionRunner` each. It keeps a membership lease
  ``p#workers/<owner id>`` alive (the heartbeat), taking no shard until the members it sees
  stop changing (looks 50 ms apart, one round at most); every ``rebalance_every`` seconds it
  counts the live members and aims for ``ceil(N / members)`` shards: under its share it starts
  runners for free shards (no live lease; the worker ranked ``r`` of ``M`` by owner id asks
  for shards ``r, r + M, ...`` first, so workers agreeing on the members do not collide), over
  it it stops one (a clean stop: checkpoint, then release), and a runner left standing by
  behind another worker's live lease is stopped.
  A storage error in a round is logged and the next round tries again.
- **Heartbeats** are deleted on a clean stop; a crashed worker's is ignored once expired and
  deleted by the next rebalance round of another worker once stale (:func:`stale_heartbeat`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import math
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Self
from uuid import UUID

from .._exceptions import ConfigurationError, StorageError
from ..clock import Clock, SystemClock
from ..plugins._backend import Backend
from ..repositories._contracts import CheckpointRepository, DLQRepository
from ..repositories._leases import ProjectionLease, ProjectionLeases
from ..stores._contract import EventStore
from ._metrics import ProjectionStats
from ._ownership import Ownership, OwnershipKeeper, default_owner_id
from ._projection import ProjectionLike
from ._worker import BackgroundWorker

if TYPE_CHECKING:
    from ._dlq import EventSource, ReplayResult
    from ._runner import ProjectionRunner

__all__ = [
    "STALE_PERIODS",
    "Shard",
    "ShardedRunner",
    "current_shard",
    "handling_shard",
    "shard_of",
    "stale_heartbeat",
]

log = logging.getLogger("eventsource.runtime")

_CURRENT: contextvars.ContextVar[Shard | None] = contextvars.ContextVar(
    "eventsource_shard", default=None
)


def shard_of(aggregate_id: UUID, shards: int) -> int:
    """The shard (0 .. ``shards`` - 1) of a stream: ``zlib.crc32(aggregate_id.bytes) % shards``."""
    if shards < 1:
        raise ConfigurationError(f"shards must be >= 1, got {shards}")
    return zlib.crc32(aggregate_id.bytes) % shards


def current_shard() -> Shard | None:
    """The shard whose runner is calling the handler now (None outside a sharded runner)."""
    return _CURRENT.get()


@contextlib.contextmanager
def handling_shard(shard: Shard) -> Iterator[None]:
    """Within: :func:`current_shard` is ``shard`` (the runner wraps each handler call)."""
    token = _CURRENT.set(shard)
    try:
        yield
    finally:
        _CURRENT.reset(token)


_SHARD_NAME = re.compile(r"(0|[1-9][0-9]{0,8})/([1-9][0-9]{0,8})")


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard ``index`` of ``count``: the streams with ``shard_of(stream, count) == index``."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ConfigurationError(f"no shard {self.index} of {self.count}")

    def name_for(self, projection_name: str) -> str:
        """``<projection>#<index>/<count>``: the shard's checkpoint, lease and DLQ name."""
        return f"{projection_name}#{self.index}/{self.count}"

    @classmethod
    def parse(cls, name: str, projection_name: str) -> Shard | None:
        """The shard named ``name`` (``<projection_name>#<index>/<count>``), else None."""
        match = _SHARD_NAME.fullmatch(name.removeprefix(f"{projection_name}#"))
        if match is None or not name.startswith(f"{projection_name}#"):
            return None
        index, count = int(match[1]), int(match[2])
        return cls(index, count) if 0 <= index < count else None

    def holds(self, stream_id: object) -> bool:
        """True when ``stream_id`` (a UUID) belongs to this shard; anything else belongs to
        shard 0 (an undecodable row without a UUID stream is parked once)."""
        if isinstance(stream_id, UUID):
            return shard_of(stream_id, self.count) == self.index
        return self.index == 0


def member_prefix(projection_name: str) -> str:
    """The name prefix of the workers' membership leases."""
    return f"{projection_name}#workers/"


#: Seconds between a joining worker's looks at the members (see ``ShardedRunner._settle``).
JOIN_LOOK = 0.05

#: A worker heartbeat that expired this many lease periods ago (its ``ttl``) is stale.
STALE_PERIODS = 3


def stale_heartbeat(lease: ProjectionLease, at: datetime) -> bool:
    """True for a sharded runner's worker heartbeat (``p#workers/<owner>``) that was released,
    or expired more than :data:`STALE_PERIODS` lease periods before ``at``: a worker gone for
    good. Rebalancing deletes such rows and ``eventsource checkpoints owners`` hides them."""
    if "#workers/" not in lease.projection_name:
        return False
    if lease.released_at is not None:
        return True
    return lease.expires_at + STALE_PERIODS * _period(lease) < at


def _period(lease: ProjectionLease) -> timedelta:
    return max(lease.expires_at - lease.renewed_at, timedelta(0))


class ShardedRunner(BackgroundWorker):
    """Runs the shards of one projection that this worker owns, rebalancing with the other
    workers of the same projection (in any process) as they join and leave.

    ``shards`` is N; ``ownership`` times the shard leases and the membership heartbeat
    (default :class:`Ownership`); ``rebalance_every`` (default ``ownership.standby_poll``) is
    how often shares are checked. Other keyword options go to every shard's
    :class:`~eventsource.runtime.ProjectionRunner`. The checkpoint repository must keep leases
    (``projection_leases``). Handlers see their shard through :func:`current_shard`.
    :attr:`passes` counts the loop's passes, for tests that step a manual clock.
    """

    def __init__(
        self,
        projection: ProjectionLike,
        *,
        store: EventStore,
        checkpoints: CheckpointRepository,
        dlq: DLQRepository,
        shards: int,
        ownership: Ownership | None = None,
        rebalance_every: float | None = None,
        clock: Clock | None = None,
        **runner_options: Any,
    ) -> None:
        super().__init__(clock=clock)
        if shards < 1:
            raise ConfigurationError(f"shards must be >= 1, got {shards}")
        if not isinstance(checkpoints, ProjectionLeases):
            raise ConfigurationError(
                f"sharded projection {projection.name!r}: the checkpoint repository "
                f"{type(checkpoints).__name__} keeps no leases (capability projection_leases)"
            )
        if "ownership" in runner_options or "shard" in runner_options:
            raise ConfigurationError("ShardedRunner sets each shard runner's ownership and shard")
        self.projection = projection
        self.store, self.checkpoints, self.dlq = store, checkpoints, dlq
        self.leases: ProjectionLeases = checkpoints
        self.shards = shards
        options = ownership or Ownership()
        self.ownership = replace(options, owner_id=options.owner_id or default_owner_id())
        self.owner_id: str = self.ownership.owner_id  # type: ignore[assignment]
        self.rebalance_every = (
            self.ownership.standby_poll if rebalance_every is None else rebalance_every
        )
        if self.rebalance_every <= 0:
            raise ConfigurationError(f"rebalance_every must be > 0, got {rebalance_every}")
        self.runner_options = runner_options
        #: The shard runners started here (owning or about to), by shard index.
        self.runners: dict[int, ProjectionRunner] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._member: OwnershipKeeper | None = None
        #: Live workers counted at the last rebalance (this one included).
        self.members = 0
        #: How many passes of the loop have ended, each counted as its pause on the clock
        #: begins: a look at the members while joining, then a rebalance round (failed or
        #: not). A test on a :class:`~eventsource.clock.ManualClock` waits for it to grow
        #: after an ``advance`` instead of sleeping.
        self.passes = 0

    @classmethod
    def from_backend(cls, projection: ProjectionLike, backend: Backend, **options: Any) -> Self:
        """A sharded runner over an open backend's store, checkpoints and DLQ."""
        return cls(
            projection,
            store=backend.events,
            checkpoints=backend.checkpoints,
            dlq=backend.dlq,
            **options,
        )

    @property
    def name(self) -> str:
        """The projection's name."""
        return self.projection.name

    @property
    def worker_name(self) -> str:
        """``shards:<name>``."""
        return f"shards:{self.name}"

    @property
    def owned(self) -> list[int]:
        """The shard indexes whose lease this worker holds now."""
        return sorted(k for k, runner in self.runners.items() if runner.lease is not None)

    def shard_names(self) -> list[str]:
        """Every shard's checkpoint (and lease, and DLQ) name."""
        return [Shard(k, self.shards).name_for(self.name) for k in range(self.shards)]

    def stats(self) -> dict[int, ProjectionStats]:
        """Each running shard runner's :class:`ProjectionStats`, by shard index."""
        return {k: runner.stats() for k, runner in sorted(self.runners.items())}

    async def replay_all(
        self, *, resolution: str = "replayed", limit: int = 1000, source: EventSource = "auto"
    ) -> list[ReplayResult]:
        """Replay the failed entries of every shard, oldest first, each under its shard (see
        :meth:`DLQReplayer.replay_all`)."""
        from ._dlq import DLQReplayer

        return await DLQReplayer(self.dlq, self.store).replay_all(
            self.projection, resolution=resolution, limit=limit, source=source
        )

    def target(self) -> int:
        """How many shards this worker aims for: ``ceil(N / live workers)``."""
        return math.ceil(self.shards / max(1, self.members))

    # -- the loop ----------------------------------------------------------------------------

    async def _work(self) -> None:
        self._member = OwnershipKeeper(
            self.leases, member_prefix(self.name) + self.owner_id, self.ownership, self.clock
        )
        try:
            # Join first, take shards once the members seen stop changing (at most one
            # round later): workers started together see each other before anyone takes
            # more than its share.
            await self._member.try_acquire()
            if await self._settle():
                return
            while not self._stop.is_set():
                try:
                    await self._rebalance()
                except StorageError as exc:  # the shard runners ride it out on their own
                    log.warning("sharded projection %r: cannot rebalance: %s", self.name, exc)
                if await self._idle(self.rebalance_every):
                    break
        finally:
            await asyncio.gather(*(self._stop_shard(k) for k in list(self.runners)))
            await self._quit(self._member)

    async def _quit(self, member: OwnershipKeeper) -> None:
        """Release the heartbeat and delete its row (a clean stop leaves no member behind)."""
        held = member.lease
        await member.release()
        if held is None:
            return
        try:
            await self.leases.forget_lease(held)
        except StorageError as exc:  # the row goes stale; another worker deletes it
            log.warning("sharded projection %r: cannot delete its heartbeat: %s", self.name, exc)

    async def _settle(self) -> bool:
        """After joining: wait until two looks ``JOIN_LOOK`` apart see the same live members,
        ``rebalance_every`` at most; True if a stop was requested meanwhile."""
        look = min(JOIN_LOOK, self.rebalance_every)
        waited = 0.0
        seen: set[str] | None = None
        while waited < self.rebalance_every:
            if await self._idle(look):
                return True
            waited += look
            try:
                members = self._members(await self.leases.get_leases(), self._now())
            except StorageError:
                continue
            if members == seen:
                return False
            seen = members
        return False

    async def _idle(self, seconds: float) -> bool:
        """Count the pass just ended in :attr:`passes`, then pause ``seconds`` (``_pause``)."""
        self.passes += 1
        return await self._pause(seconds)

    def _members(self, leases: list[ProjectionLease], now: datetime) -> set[str]:
        """The live workers' owner ids (this one included)."""
        prefix = member_prefix(self.name)
        members = {
            lease.owner_id
            for lease in leases
            if lease.projection_name.startswith(prefix) and lease.is_live(now)
        }
        members.add(self.owner_id)
        return members

    def _preferred(self, members: set[str]) -> list[int]:
        """Every shard, this worker's own first: of ``M`` members sorted by owner id, the one
        ranked ``r`` prefers shards ``r, r + M, ...``, so workers that see the same members
        ask for different shards; the rest follow, from an offset of its own."""
        ranked = sorted(members)
        rank, count = ranked.index(self.owner_id), len(ranked)
        mine = list(range(rank, self.shards, count))
        offset = zlib.crc32(self.owner_id.encode()) % self.shards
        rest = [(i + offset) % self.shards for i in range(self.shards)]
        return mine + [k for k in rest if k not in mine]

    def _now(self) -> datetime:
        return datetime.now(UTC) if isinstance(self.clock, SystemClock) else self.clock.now()

    async def _rebalance(self) -> None:
        """One round: heartbeat, count members, reap ended runners, then start or stop one."""
        from ._runner import ProjectionRunner  # the runner module imports this one

        member = self._member
        assert member is not None
        if not member.held:
            await member.try_acquire()
        for k, task in list(self._tasks.items()):
            if task.done():  # a shard runner that ended on its own: re-raise its error
                self.runners.pop(k)
                self._tasks.pop(k)
                task.result()
        leases = await self.leases.get_leases()
        now = self._now()
        prefix = member_prefix(self.name)
        members = self._members(leases, now)
        self.members = len(members)
        for lease in leases:  # workers gone for good: their heartbeat rows are deleted
            if (
                lease.projection_name.startswith(prefix)
                and lease.owner_id != self.owner_id
                and stale_heartbeat(lease, now)
            ):
                before = now - STALE_PERIODS * _period(lease)
                try:
                    await self.leases.forget_lease(lease, expired_before=before)
                except StorageError as exc:  # housekeeping: taking shards goes on without it
                    log.warning(
                        "sharded projection %r: cannot delete the stale heartbeat %r: %s",
                        self.name,
                        lease.projection_name,
                        exc,
                    )
        by_name = {lease.projection_name: lease for lease in leases}

        def taken(k: int) -> bool:
            lease: ProjectionLease | None = by_name.get(Shard(k, self.shards).name_for(self.name))
            return lease is not None and lease.is_live(now) and lease.owner_id != self.owner_id

        for k, runner in list(self.runners.items()):
            if runner.lease is None and taken(k):  # another worker got it first
                await self._stop_shard(k)
        target = self.target()
        owned = self.owned
        if len(owned) > target:
            await self._stop_shard(owned[-1])  # a clean stop: checkpoint, then release
            return
        free = [k for k in self._preferred(members) if k not in self.runners and not taken(k)]
        for k in free[: max(0, target - len(self.runners))]:
            shard = Shard(k, self.shards)
            runner = ProjectionRunner(
                self.projection,
                store=self.store,
                checkpoints=self.checkpoints,
                dlq=self.dlq,
                clock=self.clock,
                ownership=self.ownership,
                shard=shard,
                **self.runner_options,
            )
            self.runners[k] = runner
            self._tasks[k] = asyncio.create_task(runner.run(), name=runner.worker_name)

    async def _stop_shard(self, k: int) -> None:
        runner = self.runners.pop(k, None)
        task = self._tasks.pop(k, None)
        if runner is None or task is None:
            return
        runner.request_stop()
        with contextlib.suppress(Exception):  # its error was the shard's; the others go on
            await task
        log.info("sharded projection %r: %s let shard %d go", self.name, self.owner_id, k)
