"""Deliberately broken toy backends: memory subclasses, each breaking one guarantee.

The kit's own tests run the conformance kit on each (through ``pytester``) and check that the
right kit tests fail. Each toy is a :class:`BackendSpec` under the name ``toy``, opened with
``Backend(spec, parse_url("toy://NAME"))`` so that connections with one NAME share a database.
"""

from __future__ import annotations

import asyncio
import bisect
import dataclasses
import random
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from eventsource import DuplicateEventError
from eventsource.events import DomainEvent
from eventsource.memory import (
    MemoryCheckpointRepository,
    MemoryDLQRepository,
    MemoryEventStore,
    MemoryOutboxRepository,
    MemorySnapshotStore,
)
from eventsource.memory._repositories import outbox_entry_for
from eventsource.memory._store import _select
from eventsource.memory.plugin import store_from_url
from eventsource.plugins import Backend, BackendURL, parse_url
from eventsource.repositories import DEFAULT_LEASE, CheckpointData, OutboxEntry, OutboxStatus
from eventsource.spi import (
    BackendSpec,
    Capabilities,
    CheckpointRepositorySpec,
    DLQRepositorySpec,
    EventStoreSpec,
    OutboxRepositorySpec,
    SnapshotStoreSpec,
    StoredPlace,
    check_lease,
    check_limit,
    check_projection_name,
    check_read_options,
    check_stream_version,
    check_worker_id,
    original_result,
    prepare_append,
    restamp,
)
from eventsource.stores import (
    AppendResult,
    ExpectedVersion,
    ReadDirection,
    ReadOptions,
    StoredEvent,
    stream_id_for,
)
from eventsource.stores._types import check_expected_version


class NoVersionCheckStore(MemoryEventStore):
    """Validates ``expected_version`` but never compares it with the stream: last write wins."""

    async def append_events(
        self,
        aggregate_id: UUID,
        aggregate_type: str,
        events: Sequence[DomainEvent],
        expected_version: int,
        *,
        outbox: bool = False,
    ) -> AppendResult:
        check_expected_version(expected_version)
        return await super().append_events(
            aggregate_id, aggregate_type, events, ExpectedVersion.ANY, outbox=outbox
        )


class CommitOrderStore(MemoryEventStore):
    """Assigns global positions up front but publishes each batch after a random delay, so a
    position can become visible after a higher one (a sequence taken before commit)."""

    rng = random.Random(1234)

    async def append_events(
        self,
        aggregate_id: UUID,
        aggregate_type: str,
        events: Sequence[DomainEvent],
        expected_version: int,
        *,
        outbox: bool = False,
    ) -> AppendResult:
        expected, prepared = prepare_append(
            self, aggregate_id, aggregate_type, events, expected_version
        )
        state = self.state
        with state.lock:
            key = (aggregate_id, aggregate_type)
            current = len(state.streams.get(key, []))
            event_ids = [item.event.event_id for item in prepared]
            places = [
                StoredPlace(
                    i,
                    s.event.aggregate_id,
                    s.event.aggregate_type,
                    s.stream_position,
                    s.global_position,
                )
                for i in event_ids
                if (s := state.by_id.get(i)) is not None
            ]
            original = original_result(aggregate_id, aggregate_type, expected, event_ids, places)
            if original is not None:  # as memory does: only the order is broken
                return original
            check_stream_version(aggregate_id, aggregate_type, expected, current)
            start = getattr(state, "toy_next_position", 1)
            decode = self.event_registry.deserialize  # as memory does: only the order is broken
            batch = [
                StoredEvent(
                    decode(item.payload, item.event.event_type, item.event.event_version),
                    stream_id_for(aggregate_id, aggregate_type),
                    item.event.aggregate_version,
                    start + n,
                    datetime.now(UTC),
                )
                for n, item in enumerate(restamp(prepared, current))
            ]
            state.toy_next_position = start + len(batch)  # type: ignore[attr-defined]
            state.streams.setdefault(key, []).extend(batch)
            for stored in batch:
                state.by_id[stored.event_id] = stored
                if outbox:
                    entry = outbox_entry_for(stored.event, stored.stored_at)
                    state.outbox[entry.id] = entry
        await asyncio.sleep(self.rng.random() * 0.004)  # the "commit" happens later
        with state.lock:
            for stored in batch:
                bisect.insort(state.events, stored, key=lambda s: s.global_position)
            state.notify()
        return AppendResult(True, current + len(batch), batch[-1].global_position, len(batch))

    async def read_all(self, options: ReadOptions | None = None) -> AsyncIterator[StoredEvent]:
        options = check_read_options(options)
        with self.state.lock:
            log = list(self.state.events)
        for stored in _select(log, options, key="global"):
            yield stored

    async def get_global_position(self) -> int:
        with self.state.lock:
            return self.state.events[-1].global_position if self.state.events else 0

    async def wait_for_events(self, after_position: int, timeout: float) -> bool:
        return await super(MemoryEventStore, self).wait_for_events(after_position, timeout)


class NotIdempotentStore(MemoryEventStore):
    """Refuses every batch holding a stored id, a retry of a stored append too (what
    eventsource-py 0.5.0's users met as a DuplicateEventError after a lost acknowledgement)."""

    async def append_events(
        self,
        aggregate_id: UUID,
        aggregate_type: str,
        events: Sequence[DomainEvent],
        expected_version: int,
        *,
        outbox: bool = False,
    ) -> AppendResult:
        for event in events:
            if isinstance(event, DomainEvent) and event.event_id in self.state.by_id:
                raise DuplicateEventError(event.event_id)
        return await super().append_events(
            aggregate_id, aggregate_type, events, expected_version, outbox=outbox
        )


class PageSkippingStore(MemoryEventStore):
    """read_all resumes each next page one past the last event of the previous page."""

    async def read_all(self, options: ReadOptions | None = None) -> AsyncIterator[StoredEvent]:
        options = check_read_options(options)
        with self.state.lock:
            log = list(self.state.events)
        selected = _select(log, dataclasses.replace(options, limit=None), key="global")
        out = [
            s
            for n, s in enumerate(selected)
            if n % self.page_size != self.page_size - 1 or n == len(selected) - 1
        ]
        for stored in out if options.limit is None else out[: options.limit]:
            yield stored


class InclusiveFromPositionStore(MemoryEventStore):
    """read_all pages from the last position it yielded, taking it as INCLUSIVE: it re-reads
    the last row of every page, and as its loop ends only at an empty page, which never comes,
    a read never ends (nor gives the event loop a turn)."""

    async def read_all(self, options: ReadOptions | None = None) -> AsyncIterator[StoredEvent]:
        options = check_read_options(options)
        forward = options.direction is ReadDirection.FORWARD
        cursor = options.from_position
        yielded = 0
        while True:
            inclusive = None if cursor is None else cursor - 1 if forward else cursor + 1
            page_options = dataclasses.replace(
                options, from_position=inclusive, limit=self.page_size
            )
            with self.state.lock:
                page = _select(list(self.state.events), page_options, key="global")
            if not page:
                return
            for stored in page:
                if options.limit is not None and yielded >= options.limit:
                    return
                yield stored
                yielded += 1
            cursor = page[-1].global_position


class HangingAppendStore(MemoryEventStore):
    """append_events waits for a lock that is never released (cooperatively: the loop runs)."""

    async def append_events(
        self,
        aggregate_id: UUID,
        aggregate_type: str,
        events: Sequence[DomainEvent],
        expected_version: int,
        *,
        outbox: bool = False,
    ) -> AppendResult:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


class SpinningAppendStore(MemoryEventStore):
    """append_events spins forever without ever giving the event loop a turn."""

    async def append_events(
        self,
        aggregate_id: UUID,
        aggregate_type: str,
        events: Sequence[DomainEvent],
        expected_version: int,
        *,
        outbox: bool = False,
    ) -> AppendResult:
        while self.state is not None:
            pass
        raise AssertionError("unreachable")


class DoubleClaimOutbox(MemoryOutboxRepository):
    """Reads the pending entries, then claims them after an await: two workers can both win."""

    async def get_pending_events(
        self,
        limit: int = 100,
        *,
        worker_id: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        per_aggregate_order: bool = False,
    ) -> list[OutboxEntry]:
        if per_aggregate_order:  # only the unordered claim is broken
            return await super().get_pending_events(
                limit, worker_id=worker_id, lease=lease, per_aggregate_order=per_aggregate_order
            )
        check_limit(limit)  # only the guarantee under test is broken
        lease = check_lease(lease)
        worker = check_worker_id(worker_id) or f"w-{uuid4().hex[:6]}"
        now = self.clock.now()
        with self.state.lock:
            found = [
                e
                for e in self.state.outbox.values()
                if e.status is OutboxStatus.PENDING
                and (e.claimed_until is None or e.claimed_until <= now)
                and self.state.outbox_not_before.get(e.id, now) <= now
            ][:limit]
        await asyncio.sleep(0.001)  # the race window: nothing re-checks the claim below
        claimed = []
        with self.state.lock:
            for entry in found:
                updated = dataclasses.replace(entry, claimed_by=worker, claimed_until=now + lease)
                self.state.outbox[entry.id] = updated
                claimed.append(updated)
        return claimed


class UnorderedOutbox(MemoryOutboxRepository):
    """Takes ``per_aggregate_order`` and ignores it: later entries of an aggregate go out
    beside (and before) earlier ones."""

    async def get_pending_events(
        self,
        limit: int = 100,
        *,
        worker_id: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        per_aggregate_order: bool = False,
    ) -> list[OutboxEntry]:
        return await super().get_pending_events(limit, worker_id=worker_id, lease=lease)


class BackwardsCheckpoints(MemoryCheckpointRepository):
    """Overwrites the checkpoint with whatever it is given, even a lower position."""

    async def update_checkpoint(
        self,
        projection_name: str,
        event_id: UUID,
        event_type: str,
        global_position: int | None = None,
    ) -> None:
        check_projection_name(projection_name)  # only the guarantee under test is broken
        await asyncio.sleep(0)
        with self.state.lock:
            if global_position is None:
                stored = self.state.by_id.get(event_id)
                global_position = None if stored is None else stored.global_position
            current = self.state.checkpoints.get(projection_name)
            self.state.checkpoints[projection_name] = CheckpointData(
                projection_name,
                event_id,
                event_type,
                global_position,
                (current.events_processed if current else 0) + 1,
                datetime.now(UTC),
            )


class ResettingCheckpoints(MemoryCheckpointRepository):
    """Never backwards, but an unknown event id without a position resets the position to None
    (the runner then replays from the start), and any position is taken as given."""

    async def update_checkpoint(
        self,
        projection_name: str,
        event_id: UUID,
        event_type: str,
        global_position: int | None = None,
    ) -> None:
        check_projection_name(projection_name)  # only the guarantee under test is broken
        with self.state.lock:
            if global_position is None:
                stored = self.state.by_id.get(event_id)
                global_position = None if stored is None else stored.global_position
            current = self.state.checkpoints.get(projection_name)
            if (
                current is not None
                and current.global_position is not None
                and global_position is not None
                and global_position < current.global_position
            ):
                return
            self.state.checkpoints[projection_name] = CheckpointData(
                projection_name,
                event_id,
                event_type,
                global_position,
                (current.events_processed if current else 0) + 1,
                datetime.now(UTC),
            )


class UnfencedCheckpoints(MemoryCheckpointRepository):
    """Breaks fencing: a fenced checkpoint write never checks the lease's token."""

    async def update_checkpoint_fenced(
        self,
        lease: Any,
        event_id: UUID,
        event_type: str,
        global_position: int | None = None,
    ) -> None:
        await self.update_checkpoint(lease.projection_name, event_id, event_type, global_position)


CAPABILITIES = Capabilities(
    persistent=False,
    concurrent_connections=True,
    parallel_writers=False,
    transactional_outbox=True,
    live_notifications=False,
    projection_leases=True,
    outbox_aggregate_order=True,
)


def toy_spec(
    store_class: type[MemoryEventStore] = MemoryEventStore,
    checkpoints: type[MemoryCheckpointRepository] = MemoryCheckpointRepository,
    outbox: type[MemoryOutboxRepository] = MemoryOutboxRepository,
    snapshots: type[MemorySnapshotStore] = MemorySnapshotStore,
) -> BackendSpec:
    """A backend spec assembling memory roles, some replaced by broken ones."""

    def from_url(url: BackendURL) -> MemoryEventStore:
        return store_class(store_from_url(url).state)

    def state_of(store: object) -> MemoryEventStore:
        assert isinstance(store, MemoryEventStore)
        return store

    return BackendSpec(
        name="toy",
        event_store=EventStoreSpec("toy", store_class, from_url, capabilities=CAPABILITIES),
        checkpoints=CheckpointRepositorySpec(
            "toy", checkpoints, lambda s: checkpoints(state_of(s))
        ),
        outbox=OutboxRepositorySpec("toy", outbox, lambda s: outbox(state_of(s))),
        dlq=DLQRepositorySpec(
            "toy", MemoryDLQRepository, lambda s: MemoryDLQRepository(state_of(s))
        ),
        plugin="broken_toys",
        snapshots=SnapshotStoreSpec("toy", snapshots, lambda s: snapshots(state_of(s))),
    )


TOYS: dict[str, BackendSpec] = {
    "sound": toy_spec(),
    "no_version_check": toy_spec(NoVersionCheckStore),
    "commit_order": toy_spec(CommitOrderStore),
    "not_idempotent": toy_spec(NotIdempotentStore),
    "page_skipping": toy_spec(PageSkippingStore),
    "inclusive_from_position": toy_spec(InclusiveFromPositionStore),
    "hanging_append": toy_spec(HangingAppendStore),
    "spinning_append": toy_spec(SpinningAppendStore),
    "double_claim": toy_spec(outbox=DoubleClaimOutbox),
    "unordered_claims": toy_spec(outbox=UnorderedOutbox),
    "backwards_checkpoints": toy_spec(checkpoints=BackwardsCheckpoints),
    "resetting_checkpoints": toy_spec(checkpoints=ResettingCheckpoints),
    "unfenced_checkpoints": toy_spec(checkpoints=UnfencedCheckpoints),
}


def toy_opener(kind: str) -> object:
    """An opener for the toy ``kind`` on a fresh shared database."""
    spec = TOYS[kind]
    url = parse_url(f"toy://kit-{uuid4().hex}")
    return lambda: Backend(spec, url)


def toy_store_opener(kind: str) -> object:
    """An event-store-only opener for the toy ``kind`` on a fresh shared database."""
    spec = TOYS[kind].event_store
    url = parse_url(f"toy://kit-{uuid4().hex}")
    return lambda: spec.from_url(url)
