"""Read-only looks inside a store, the same on every backend: for ``eventsource status`` and
the web console.

Each function takes opened role objects (or an opened :class:`~eventsource.Backend`) and
returns frozen dataclasses; nothing is written. A projection is shown once, its shards
(checkpoints and leases named ``p#k/N``) and workers (heartbeat leases ``p#workers/<owner>``)
grouped under it::

    async with open_backend(url, create=False) as backend:
        status = await inspect_store(backend)
        for projection in status.projections:
            print(projection.name, projection.lag_events, projection.state)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ._exceptions import EventDecodeError, InvalidArgumentError
from ._limits import COUNT_LIMIT
from .arguments import check_position
from .repositories._entries import CheckpointData
from .repositories._leases import ProjectionLease, ProjectionLeases
from .stores._types import ReadOptions

if TYPE_CHECKING:
    from .plugins._backend import Backend
    from .repositories._contracts import CheckpointRepository, DLQRepository, OutboxRepository
    from .repositories._entries import DLQEntry
    from .runtime._undecodable import UndecodableEvent
    from .stores._contract import EventStore
    from .stores._types import StoredEvent

__all__ = [
    "COUNT_LIMIT",
    "DLQOverview",
    "LeaseInfo",
    "OutboxOverview",
    "ProjectionState",
    "ProjectionStatus",
    "ShardStatus",
    "StoreOverview",
    "StoreStatus",
    "dlq_entry_stream",
    "dlq_overview",
    "event_at",
    "inspect_store",
    "outbox_overview",
    "projections_overview",
    "split_projection_name",
    "store_overview",
]


_SHARD = re.compile(r"^(?P<base>.+)#(?P<index>\d+)/(?P<count>\d+)$")
_WORKER = re.compile(r"^(?P<base>.+)#workers/(?P<owner>.+)$")


def split_projection_name(name: str) -> tuple[str, str | None]:
    """``(projection, part)``: ``"p#1/4"`` is ``("p", "1/4")``, ``"p#workers/w1"`` is
    ``("p", "workers/w1")``, a plain name is ``(name, None)``."""
    for pattern in (_SHARD, _WORKER):
        match = pattern.match(name)
        if match:
            return match["base"], name[len(match["base"]) + 1 :]
    return name, None


class ProjectionState:
    """What a projection's leases say about it (plain strings, stable for ``--json``)."""

    #: A live lease: a runner owns it now.
    RUNNING = "running"
    #: Its last owner released the lease (a clean stop).
    STOPPED = "stopped"
    #: Its last lease expired without being released (a crash or a lost connection).
    STALE = "stale"
    #: No lease was ever taken (a runner without ownership, or a backend without leases).
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class StoreOverview:
    """The event store at a glance.

    ``global_position`` is the head (the highest position a reader sees). ``events`` and
    ``streams`` are counted by reading the events when there are at most ``COUNT_LIMIT`` of
    them, else None (not counted).
    """

    backend: str
    url: str
    capabilities: tuple[str, ...]
    global_position: int
    events: int | None
    streams: int | None


@dataclass(frozen=True, slots=True)
class LeaseInfo:
    """One ownership lease as an operator reads it."""

    name: str
    owner_id: str
    token: int
    state: str
    since: datetime
    expires_at: datetime

    @classmethod
    def of(cls, lease: ProjectionLease, now: datetime) -> LeaseInfo:
        """The lease's info as judged at ``now``."""
        return cls(
            lease.projection_name,
            lease.owner_id,
            lease.token,
            _lease_state(lease, now),
            lease.acquired_at,
            lease.expires_at,
        )


@dataclass(frozen=True, slots=True)
class ShardStatus:
    """One shard (``p#k/N``) of a sharded projection."""

    name: str
    index: int
    count: int
    position: int | None
    lag_events: int | None
    owner: LeaseInfo | None


@dataclass(frozen=True, slots=True)
class ProjectionStatus:
    """One projection: where it is, how far behind, who runs it, what is parked for it.

    For a sharded projection ``position`` is the lowest shard position, ``lag_events`` the
    largest shard lag, ``events_processed`` the sum; ``owners`` are the live leases (one per
    running shard), ``workers`` the live heartbeats.
    """

    name: str
    position: int | None
    lag_events: int | None
    lag_seconds: float | None
    events_processed: int
    updated_at: datetime | None
    state: str
    owners: tuple[LeaseInfo, ...] = ()
    shards: tuple[ShardStatus, ...] = ()
    workers: tuple[LeaseInfo, ...] = ()
    dlq_open: int = 0


@dataclass(frozen=True, slots=True)
class OutboxOverview:
    """Outbox counts: ``pending`` includes the ``claimed`` ones (being published now)."""

    pending: int
    claimed: int
    published: int
    failed: int
    oldest_pending_at: datetime | None


@dataclass(frozen=True, slots=True)
class DLQOverview:
    """Open DLQ entries (failed or being retried) and how many of them each projection has."""

    open: int
    failed: int
    retrying: int
    resolved: int
    by_projection: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoreStatus:
    """Everything ``eventsource status`` shows."""

    store: StoreOverview
    projections: tuple[ProjectionStatus, ...]
    outbox: OutboxOverview
    dlq: DLQOverview
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO text)."""
        data: dict[str, Any] = _jsonable(self)
        return data


async def store_overview(backend: Backend, *, count_limit: int = COUNT_LIMIT) -> StoreOverview:
    """The backend's name, URL and capabilities, its head, and (for a store of at most
    ``count_limit`` events) how many events and streams it holds."""
    store = backend.events
    head = await store.get_global_position()
    events: int | None = None
    streams: int | None = None
    if head <= count_limit:
        events, streams = await _count(store)
    return StoreOverview(
        backend.name,
        str(backend.url),
        tuple(backend.capabilities.enabled()),
        head,
        events,
        streams,
    )


async def _count(store: EventStore) -> tuple[int, int]:
    """Events and distinct streams, read in global order; an undecodable row counts as an
    event (of its stream, when the error names it)."""
    events, streams, after = 0, set[str](), 0
    while True:
        try:
            async for stored in store.read_all(ReadOptions(from_position=after)):
                events += 1
                streams.add(stored.stream_id)
                after = stored.global_position
            return events, len(streams)
        except EventDecodeError as exc:
            if exc.global_position is None or exc.global_position <= after:
                raise
            events += 1
            if exc.stream_id:
                streams.add(exc.stream_id)
            after = exc.global_position


async def event_at(store: EventStore, position: int) -> StoredEvent | None:
    """The event at global ``position`` (from 1), or None when there is none, in one read.

    Raises :class:`EventDecodeError` when the row there cannot be decoded, and
    :class:`InvalidArgumentError` for a position below 1."""
    check_position(position, "global position", InvalidArgumentError, minimum=1)
    async for stored in store.read_all(ReadOptions(from_position=position - 1, limit=1)):
        return stored if stored.global_position == position else None
    return None


async def projections_overview(
    checkpoints: CheckpointRepository,
    dlq: DLQRepository | None = None,
    *,
    now: datetime | None = None,
) -> list[ProjectionStatus]:
    """Every projection that has a checkpoint, a lease or open DLQ entries, by name, shards
    grouped."""
    now = now or datetime.now(UTC)
    data = {c.projection_name: c for c in await checkpoints.get_all_checkpoints()}
    leases: dict[str, ProjectionLease] = {}
    if isinstance(checkpoints, ProjectionLeases):
        leases = {x.projection_name: x for x in await checkpoints.get_leases()}
    open_counts = await _open_by_projection(dlq) if dlq is not None else {}
    lags: dict[str, tuple[int | None, float | None]] = {}
    for name in data:
        lag = await checkpoints.get_lag_metrics(name)
        lags[name] = (None, None) if lag is None else (lag.lag_events, lag.lag_seconds)
    bases = sorted({split_projection_name(n)[0] for n in [*data, *leases, *open_counts]})
    result = []
    for base in bases:
        result.append(_projection(base, data, leases, lags, open_counts, now))
    return result


def _projection(
    base: str,
    data: dict[str, CheckpointData],
    leases: dict[str, ProjectionLease],
    lags: dict[str, tuple[int | None, float | None]],
    open_counts: dict[str, int],
    now: datetime,
) -> ProjectionStatus:
    shards: list[ShardStatus] = []
    workers: list[LeaseInfo] = []
    for name in sorted({*data, *leases}):
        owner, part = split_projection_name(name)
        if owner != base or part is None:
            continue
        lease = leases.get(name)
        info = LeaseInfo.of(lease, now) if lease is not None else None
        if part.startswith("workers/"):
            if info is not None and info.state == ProjectionState.RUNNING:
                workers.append(info)
            continue
        index, count = (int(x) for x in part.split("/"))
        checkpoint = data.get(name)
        shards.append(
            ShardStatus(
                name,
                index,
                count,
                None if checkpoint is None else checkpoint.global_position,
                lags.get(name, (None, None))[0],
                info,
            )
        )
    dlq_open = sum(n for p, n in open_counts.items() if split_projection_name(p)[0] == base)
    if not shards:
        checkpoint = data.get(base)
        lease = leases.get(base)
        info = LeaseInfo.of(lease, now) if lease is not None else None
        lag_events, lag_seconds = lags.get(base, (None, None))
        return ProjectionStatus(
            base,
            None if checkpoint is None else checkpoint.global_position,
            lag_events,
            lag_seconds,
            0 if checkpoint is None else checkpoint.events_processed,
            None if checkpoint is None else checkpoint.updated_at,
            ProjectionState.UNKNOWN if info is None else info.state,
            () if info is None or info.state != ProjectionState.RUNNING else (info,),
            (),
            tuple(workers),
            dlq_open,
        )
    shard_points = [data[s.name] for s in shards if s.name in data]
    positions = [s.position for s in shards if s.position is not None]
    shard_lags = [s.lag_events for s in shards if s.lag_events is not None]
    seconds = [lags[s.name][1] for s in shards if lags.get(s.name, (None, None))[1] is not None]
    owners = tuple(s.owner for s in shards if s.owner and s.owner.state == "running")
    states = {s.owner.state for s in shards if s.owner is not None}
    return ProjectionStatus(
        base,
        min(positions) if positions else None,
        max(shard_lags) if shard_lags else None,
        max(x for x in seconds if x is not None) if seconds else None,
        sum(c.events_processed for c in shard_points),
        max((c.updated_at for c in shard_points), default=None),
        _group_state(states, bool(workers)),
        owners,
        tuple(shards),
        tuple(workers),
        dlq_open,
    )


def _group_state(states: set[str], workers: bool) -> str:
    if ProjectionState.RUNNING in states or workers:
        return ProjectionState.RUNNING
    if ProjectionState.STALE in states:
        return ProjectionState.STALE
    if ProjectionState.STOPPED in states:
        return ProjectionState.STOPPED
    return ProjectionState.UNKNOWN


def _lease_state(lease: ProjectionLease, now: datetime) -> str:
    if lease.released_at is not None:
        return ProjectionState.STOPPED
    return ProjectionState.RUNNING if lease.is_live(now) else ProjectionState.STALE


async def _open_by_projection(dlq: DLQRepository) -> dict[str, int]:
    counts = await dlq.get_projection_failure_counts()
    return {c.projection_name: c.failure_count for c in counts}


async def outbox_overview(outbox: OutboxRepository) -> OutboxOverview:
    """The outbox's counts by status."""
    stats = await outbox.get_stats()
    return OutboxOverview(
        stats.pending_count,
        stats.claimed_count,
        stats.published_count,
        stats.failed_count,
        stats.oldest_pending_at,
    )


async def dlq_overview(dlq: DLQRepository) -> DLQOverview:
    """Open DLQ entries, in all and by projection."""
    stats = await dlq.get_failure_stats()
    return DLQOverview(
        stats.total_failed + stats.total_retrying,
        stats.total_failed,
        stats.total_retrying,
        stats.total_resolved,
        await _open_by_projection(dlq),
    )


def dlq_entry_stream(entry: DLQEntry, poison: UndecodableEvent | None) -> str | None:
    """The stream of a DLQ entry's event: the undecodable row's (``poison``, when the entry
    parked one), else ``<aggregate_id>:<aggregate_type>`` from the parked event's data (None
    when it names neither)."""
    if poison is not None:
        return poison.stream_id
    data = entry.event_data
    aggregate_id, aggregate_type = data.get("aggregate_id"), data.get("aggregate_type")
    return f"{aggregate_id}:{aggregate_type}" if aggregate_id and aggregate_type else None


async def inspect_store(
    backend: Backend, *, now: datetime | None = None, count_limit: int = COUNT_LIMIT
) -> StoreStatus:
    """The whole :class:`StoreStatus` of an opened backend."""
    now = now or datetime.now(UTC)
    return StoreStatus(
        await store_overview(backend, count_limit=count_limit),
        tuple(await projections_overview(backend.checkpoints, backend.dlq, now=now)),
        await outbox_overview(backend.outbox),
        await dlq_overview(backend.dlq),
        now,
    )


def _jsonable(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return {name: _jsonable(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value
