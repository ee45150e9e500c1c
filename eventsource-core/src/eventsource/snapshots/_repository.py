"""What :class:`~eventsource.AggregateRepository` does with snapshots: take them after saves,
start loads from them, and treat every failure as a cache miss."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from .._exceptions import ConfigurationError, InvalidArgumentError, SnapshotError
from ._contract import Snapshot, SnapshotStore
from ._strategy import EveryNEvents, SnapshotStrategy

if TYPE_CHECKING:
    from ..aggregates import AggregateRoot
    from ..stores._contract import EventStore

__all__ = ["Snapshotting"]

log = logging.getLogger("eventsource.snapshots")

AggregateT = TypeVar("AggregateT", bound="AggregateRoot[Any]")

_MODES = ("sync", "background", "manual")


@dataclass
class Snapshotting:
    """One repository's snapshot settings and its background writes."""

    event_store: EventStore
    aggregate_type: str
    store: SnapshotStore
    strategy: SnapshotStrategy | None
    mode: str
    pending: set[asyncio.Task[None]] = field(default_factory=set)

    @classmethod
    def configure(
        cls,
        event_store: EventStore,
        aggregate_type: str,
        *,
        every: int | None,
        threshold: int | None,
        strategy: SnapshotStrategy | None,
        store: SnapshotStore | None,
        mode: str,
    ) -> Snapshotting | None:
        """The settings of ``AggregateRepository``'s snapshot arguments; None when off."""
        if mode not in _MODES:
            raise InvalidArgumentError(f"snapshot_mode must be one of {_MODES}, got {mode!r:.80}")
        given = [x for x in (every, threshold, strategy) if x is not None]
        if len(given) > 1:
            raise InvalidArgumentError(
                "give one of snapshot_every, snapshot_threshold and snapshot_strategy"
            )
        if every is not None or threshold is not None:
            strategy = EveryNEvents(every if every is not None else threshold)  # type: ignore[arg-type]
        elif strategy is not None and not isinstance(strategy, SnapshotStrategy):
            raise InvalidArgumentError(
                f"snapshot_strategy needs a should_snapshot() method, got {type(strategy).__name__}"
            )
        if store is None and strategy is None and mode != "manual":
            return None
        if store is not None and not isinstance(store, SnapshotStore):
            raise InvalidArgumentError(
                f"snapshot_store must be a SnapshotStore, got {type(store).__name__}"
            )
        if store is None:
            from ..plugins._snapshot_stores import snapshot_store_for

            store = snapshot_store_for(event_store)
            if store is None:
                raise ConfigurationError(
                    f"{type(event_store).__name__}'s backend provides no snapshot store: pass "
                    "snapshot_store= to AggregateRepository"
                )
        return cls(event_store, aggregate_type, store, strategy, mode)

    @staticmethod
    def require(snapshotting: Snapshotting | None) -> Snapshotting:
        """``snapshotting``, or :class:`ConfigurationError` when snapshots are off."""
        if snapshotting is None:
            raise ConfigurationError(
                "this AggregateRepository has no snapshot store: pass snapshot_every= or "
                "snapshot_store="
            )
        return snapshotting

    @property
    def threshold(self) -> int | None:
        """The N of an :class:`EveryNEvents` strategy."""
        return self.strategy.n if isinstance(self.strategy, EveryNEvents) else None

    # -- writing -----------------------------------------------------------------------------

    def snapshot_of(self, aggregate: AggregateRoot[Any]) -> Snapshot:
        """The snapshot of ``aggregate`` as it is (no unsaved events).

        :class:`SnapshotError` when its state would not come back equal from the snapshot
        (a field the state's JSON form drops or changes): such a snapshot is never taken.
        """
        if aggregate.uncommitted_events:
            raise SnapshotError(
                f"{type(aggregate).__name__} {aggregate.aggregate_id} has unsaved events: "
                "save it before taking a snapshot"
            )
        state = aggregate._serialize_state()
        probe = copy.copy(aggregate)
        probe._restore_from_snapshot(json.loads(json.dumps(state, default=str)), aggregate.version)
        if probe.state != aggregate.state:
            raise SnapshotError(
                f"{type(aggregate).__name__}'s state does not come back equal from a snapshot: "
                "override _serialize_state() and _restore_from_snapshot()"
            )
        return Snapshot(
            aggregate_id=aggregate.aggregate_id,
            aggregate_type=self.aggregate_type,
            version=aggregate.version,
            state=state,
            schema_version=type(aggregate).schema_version,
            event_id=aggregate.last_event_id,
        )

    async def create(self, aggregate: AggregateRoot[Any]) -> Snapshot:
        """Take and store a snapshot now; errors propagate."""
        snapshot = self.snapshot_of(aggregate)
        await self.store.save_snapshot(snapshot)
        return snapshot

    async def after_save(
        self, aggregate: AggregateRoot[Any], previous_version: int, new_version: int
    ) -> None:
        """Snapshot after a save when the strategy says so; never raises."""
        if self.strategy is None or self.mode == "manual" or new_version != aggregate.version:
            return
        try:
            if not self.strategy.should_snapshot(aggregate, previous_version, new_version):
                return
            snapshot = self.snapshot_of(aggregate)
        except Exception:
            log.warning(
                "no snapshot of %s %s: taking it failed",
                self.aggregate_type,
                aggregate.aggregate_id,
                exc_info=True,
            )
            return
        if self.mode == "background":
            task = asyncio.ensure_future(self._write(snapshot))
            self.pending.add(task)
            task.add_done_callback(self.pending.discard)
        else:
            await self._write(snapshot)

    async def _write(self, snapshot: Snapshot) -> None:
        try:
            await self.store.save_snapshot(snapshot)
        except Exception:  # a cache: the save stands, the next load replays more events
            log.warning(
                "snapshot of %s %s at version %d was not written",
                snapshot.aggregate_type,
                snapshot.aggregate_id,
                snapshot.version,
                exc_info=True,
            )

    async def wait(self) -> int:
        """Wait for the background writes started so far; how many there were."""
        tasks = list(self.pending)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        return len(tasks)

    # -- loading -----------------------------------------------------------------------------

    async def load(
        self, aggregate_id: UUID, factory: Callable[[UUID], AggregateT]
    ) -> AggregateT | None:
        """The aggregate from its snapshot plus the events after it, or None (no usable
        snapshot: the caller replays every event)."""
        try:
            snapshot = await self.store.get_snapshot(aggregate_id, self.aggregate_type)
        except Exception:
            log.warning(
                "snapshot of %s %s unreadable; replaying its events",
                self.aggregate_type,
                aggregate_id,
                exc_info=True,
            )
            return None
        if snapshot is None:
            return None
        aggregate = factory(aggregate_id)
        if not self._fits(snapshot, aggregate_id, aggregate):
            return None
        # From the snapshot's own event on: it must still be the stream's event at that
        # version (not a stream deleted and written anew, nor a snapshot from the future).
        stream = await self.event_store.get_events(
            aggregate_id, self.aggregate_type, from_version=snapshot.version - 1
        )
        events = stream.events
        if (
            not events
            or events[0].aggregate_version != snapshot.version
            or (snapshot.event_id is not None and events[0].event_id != snapshot.event_id)
        ):
            log.info(
                "snapshot of %s %s at version %d does not match its stream; replaying",
                self.aggregate_type,
                aggregate_id,
                snapshot.version,
            )
            return None
        try:
            aggregate._restore_from_snapshot(dict(snapshot.state), snapshot.version)
            aggregate.last_event_id = events[0].event_id
        except Exception:
            log.warning(
                "snapshot of %s %s does not restore; replaying its events",
                self.aggregate_type,
                aggregate_id,
                exc_info=True,
            )
            return None
        aggregate.load_from_history(events[1:])
        return aggregate

    def _fits(self, snapshot: Snapshot, aggregate_id: UUID, aggregate: AggregateRoot[Any]) -> bool:
        """Whether the snapshot is this aggregate's, of its state schema version."""
        if snapshot.aggregate_id != aggregate_id or snapshot.aggregate_type != self.aggregate_type:
            log.warning("snapshot store returned another aggregate's snapshot; ignored")
            return False
        expected = type(aggregate).schema_version
        if snapshot.schema_version != expected:
            log.info(
                "snapshot of %s %s has state schema version %d, not %d; replaying",
                self.aggregate_type,
                aggregate_id,
                snapshot.schema_version,
                expected,
            )
            return False
        return isinstance(snapshot.version, int) and snapshot.version >= 1
