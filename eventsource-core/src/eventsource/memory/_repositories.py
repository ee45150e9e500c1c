"""In-memory checkpoint, outbox and DLQ repositories over a :class:`MemoryState`."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from ..clock import Clock
from ..spi import (
    DEFAULT_LEASE,
    DEFAULT_MAX_EVENT_BYTES,
    CheckpointData,
    CheckpointRepository,
    CheckpointTransfer,
    DLQEntry,
    DLQRepository,
    DLQStats,
    DLQStatus,
    DLQTransfer,
    DomainEvent,
    EntryNotFoundError,
    InvalidEventError,
    InvalidStateError,
    LagMetrics,
    OutboxEntry,
    OutboxRepository,
    OutboxStats,
    OutboxStatus,
    OutboxTransfer,
    OwnershipLostError,
    ProjectionFailureCount,
    ProjectionLease,
    ProjectionLeases,
    check_checkpoint_update,
    check_dlq_id,
    check_dlq_status,
    check_event_types,
    check_identifier,
    check_import_checkpoints,
    check_import_entries,
    check_lease,
    check_lease_request,
    check_limit,
    check_moment,
    check_older_than,
    check_outbox_id,
    check_outbox_ids,
    check_outbox_status,
    check_per_aggregate_order,
    check_projection_lease,
    check_projection_name,
    check_retry_after,
    check_worker_id,
    lease_acquired,
    lease_forgettable,
    lease_released,
    lease_renewed,
    prepare_failed_event,
    resolve_checkpoint_position,
    storable_note,
)
from ._outbox_entries import outbox_entry_for
from ._store import MemoryEventStore, MemoryState

__all__ = [
    "MemoryCheckpointRepository",
    "MemoryDLQRepository",
    "MemoryOutboxRepository",
    "outbox_entry_for",
]


def _now() -> datetime:
    return datetime.now(UTC)


def _state_of(source: MemoryEventStore | MemoryState | None) -> MemoryState:
    if isinstance(source, MemoryEventStore):
        return source.state
    return source if source is not None else MemoryState()


class MemoryCheckpointRepository(CheckpointRepository, CheckpointTransfer, ProjectionLeases):
    """Checkpoints and ownership leases in memory; positions are looked up in the same
    state's events. Leases are decided under the state's lock."""

    def __init__(
        self,
        source: MemoryEventStore | MemoryState | None = None,
        enable_tracing: bool = True,  # eventsource-py 0.5.0's tracing arguments: unused
        *,
        tracer: object = None,
    ) -> None:
        self.state = _state_of(source)

    async def clear(self) -> None:
        """Forget every checkpoint (eventsource-py 0.5.0's test helper)."""
        with self.state.lock:
            self.state.checkpoints.clear()

    async def get_checkpoint(self, projection_name: str) -> UUID | None:
        check_projection_name(projection_name)
        data = self.state.checkpoints.get(projection_name)
        return None if data is None else data.last_event_id

    async def get_checkpoint_data(self, projection_name: str) -> CheckpointData | None:
        check_projection_name(projection_name)
        data: CheckpointData | None = self.state.checkpoints.get(projection_name)
        return data

    async def update_checkpoint(
        self,
        projection_name: str,
        event_id: UUID,
        event_type: str,
        global_position: int | None = None,
    ) -> None:
        check_projection_name(projection_name)
        check_identifier(event_type, "event_type")
        given = check_checkpoint_update(event_id, global_position)
        with self.state.lock:
            stored = self.state.by_id.get(event_id)
            position = resolve_checkpoint_position(
                projection_name, event_id, given, None if stored is None else stored.global_position
            )
            current: CheckpointData | None = self.state.checkpoints.get(projection_name)
            if (
                current is not None
                and current.global_position is not None
                and position < current.global_position
            ):
                return
            self.state.checkpoints[projection_name] = CheckpointData(
                projection_name=projection_name,
                last_event_id=event_id,
                last_event_type=event_type,
                global_position=position,
                events_processed=(current.events_processed if current else 0) + 1,
                updated_at=_now(),
            )

    async def reset_checkpoint(self, projection_name: str) -> None:
        check_projection_name(projection_name)
        self.state.checkpoints.pop(projection_name, None)

    async def move_checkpoint(
        self, projection_name: str, event_id: UUID, event_type: str, global_position: int
    ) -> None:
        check_projection_name(projection_name)
        check_identifier(event_type, "event_type")
        given = check_checkpoint_update(event_id, global_position)
        with self.state.lock:
            stored = self.state.by_id.get(event_id)
            position = resolve_checkpoint_position(
                projection_name, event_id, given, None if stored is None else stored.global_position
            )
            self.state.checkpoints[projection_name] = CheckpointData(
                projection_name=projection_name,
                last_event_id=event_id,
                last_event_type=event_type,
                global_position=position,
                events_processed=1,
                updated_at=_now(),
            )

    # -- ownership leases --------------------------------------------------------------------

    async def acquire_lease(
        self,
        projection_name: str,
        owner_id: str,
        ttl: timedelta,
        *,
        now: datetime | None = None,
    ) -> ProjectionLease | None:
        name, owner, duration, moment = check_lease_request(projection_name, owner_id, ttl, now)
        with self.state.lock:
            granted = lease_acquired(
                self.state.leases.get(name), name, owner, duration, moment or _now()
            )
            if granted is not None:
                self.state.leases[name] = granted
            return granted

    async def renew_lease(
        self, lease: ProjectionLease, ttl: timedelta, *, now: datetime | None = None
    ) -> ProjectionLease | None:
        lease = check_projection_lease(lease)
        _, _, duration, moment = check_lease_request(
            lease.projection_name, lease.owner_id, ttl, now
        )
        with self.state.lock:
            current = self.state.leases.get(lease.projection_name)
            renewed = lease_renewed(current, lease, duration, moment or _now())
            if renewed is not None:
                self.state.leases[lease.projection_name] = renewed
            return renewed

    async def release_lease(self, lease: ProjectionLease, *, now: datetime | None = None) -> bool:
        lease = check_projection_lease(lease)
        check_lease_request(lease.projection_name, lease.owner_id, timedelta(seconds=1), now)
        with self.state.lock:
            current = self.state.leases.get(lease.projection_name)
            released = lease_released(current, lease, now or _now())
            if released is None:
                return False
            self.state.leases[lease.projection_name] = released
            return True

    async def forget_lease(
        self, lease: ProjectionLease, *, expired_before: datetime | None = None
    ) -> bool:
        lease = check_projection_lease(lease)
        before = None if expired_before is None else check_moment(expired_before, "expired_before")
        with self.state.lock:
            current = self.state.leases.get(lease.projection_name)
            if not lease_forgettable(current, lease, before):
                return False
            del self.state.leases[lease.projection_name]
            return True

    async def get_leases(self) -> list[ProjectionLease]:
        with self.state.lock:
            return [self.state.leases[name] for name in sorted(self.state.leases)]

    async def update_checkpoint_fenced(
        self,
        lease: ProjectionLease,
        event_id: UUID,
        event_type: str,
        global_position: int | None = None,
    ) -> None:
        lease = check_projection_lease(lease)
        with self.state.lock:  # re-entrant: the check and the write are one step
            current = self.state.leases.get(lease.projection_name)
            if current is None or current.token != lease.token:
                raise OwnershipLostError(
                    lease.projection_name, lease.token, None if current is None else current.token
                )
            await self.update_checkpoint(
                lease.projection_name, event_id, event_type, global_position
            )

    async def get_lag_metrics(
        self, projection_name: str, event_types: Sequence[str] | None = None
    ) -> LagMetrics | None:
        check_projection_name(projection_name)
        types = check_event_types(event_types)
        with self.state.lock:
            data: CheckpointData | None = self.state.checkpoints.get(projection_name)
            if data is None:
                return None
            wanted = None if types is None else set(types)
            relevant = [
                s
                for s in self.state.events
                if (wanted is None or s.event.event_type in wanted)
                and s.global_position not in self.state.removed
            ]
            last = self.state.by_id.get(data.last_event_id) if data.last_event_id else None
        position = data.global_position or 0
        latest = relevant[-1] if relevant else None
        lag_events = sum(1 for s in relevant if s.global_position > position)
        lag_seconds = 0.0
        if latest is not None and last is not None and lag_events:
            lag_seconds = max(0.0, (latest.stored_at - last.stored_at).total_seconds())
        return LagMetrics(
            projection_name=projection_name,
            last_event_id=data.last_event_id,
            latest_event_id=latest.event.event_id if latest else None,
            lag_seconds=lag_seconds,
            lag_events=lag_events,
            events_processed=data.events_processed,
            last_processed_at=data.updated_at,
        )

    async def get_all_checkpoints(self) -> list[CheckpointData]:
        return [self.state.checkpoints[name] for name in sorted(self.state.checkpoints)]

    async def import_checkpoints(self, rows: Sequence[CheckpointData]) -> int:
        checked = check_import_checkpoints(rows)
        with self.state.lock:
            for row in checked:
                held = self.state.checkpoints.get(row.projection_name)
                if (
                    held is None
                    or held.global_position is None
                    or (row.global_position or 0) >= held.global_position
                ):
                    self.state.checkpoints[row.projection_name] = row
        return len(checked)


class MemoryOutboxRepository(OutboxRepository, OutboxTransfer):
    """Outbox in memory; claims are leases recorded on the entries. Built over a store, it
    holds events to the store's ``max_event_bytes``."""

    def __init__(
        self,
        source: MemoryEventStore | MemoryState | None = None,
        enable_tracing: bool = True,  # eventsource-py 0.5.0's tracing arguments: unused
        *,
        tracer: object = None,
        clock: Clock | None = None,
    ) -> None:
        self.state = _state_of(source)
        if clock is not None:
            self.clock = clock
        self._store = source if isinstance(source, MemoryEventStore) else None

    async def clear(self) -> None:
        """Forget every entry (eventsource-py 0.5.0's test helper)."""
        with self.state.lock:
            self.state.outbox.clear()
            self.state.outbox_not_before.clear()

    @property
    def max_event_bytes(self) -> int:
        """The largest event document ``add_event`` takes: the store's limit, if built over
        a store."""
        return self._store.max_event_bytes if self._store is not None else DEFAULT_MAX_EVENT_BYTES

    async def add_event(self, event: DomainEvent) -> UUID:
        if not isinstance(event, DomainEvent):
            raise InvalidEventError(f"expected a DomainEvent, got {type(event).__name__}")
        entry = outbox_entry_for(event, self.clock.now(), max_bytes=self.max_event_bytes)
        with self.state.lock:
            self.state.outbox[entry.id] = entry
        return entry.id

    async def get_pending_events(
        self,
        limit: int = 100,
        *,
        worker_id: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        per_aggregate_order: bool = False,
    ) -> list[OutboxEntry]:
        check_limit(limit)
        lease = check_lease(lease)
        worker = check_worker_id(worker_id) or f"worker-{uuid4().hex[:8]}"
        ordered = check_per_aggregate_order(per_aggregate_order)
        now = self.clock.now()
        claimed: list[OutboxEntry] = []
        held: set[UUID] = set()  # aggregates whose oldest pending entry was already seen
        with self.state.lock:
            for entry in self.state.outbox.values():
                if len(claimed) >= limit:
                    break
                if entry.status is not OutboxStatus.PENDING:
                    continue
                if ordered:
                    if entry.aggregate_id in held:
                        continue
                    held.add(entry.aggregate_id)
                if entry.claimed_until is not None and entry.claimed_until > now:
                    continue
                if self.state.outbox_not_before.get(entry.id, now) > now:
                    continue
                updated = dataclasses.replace(entry, claimed_by=worker, claimed_until=now + lease)
                self.state.outbox[entry.id] = updated
                claimed.append(updated)
        return claimed

    def _update(self, outbox_id: UUID, **changes: Any) -> None:
        check_outbox_id(outbox_id)
        with self.state.lock:
            entry = self.state.outbox.get(outbox_id)
            if entry is None:
                raise EntryNotFoundError(f"no outbox entry {outbox_id}")
            self.state.outbox[outbox_id] = dataclasses.replace(entry, **changes)

    async def mark_published(self, outbox_id: UUID) -> None:
        self._update(
            outbox_id,
            status=OutboxStatus.PUBLISHED,
            published_at=self.clock.now(),
            claimed_by=None,
            claimed_until=None,
        )

    async def mark_published_many(self, outbox_ids: Sequence[UUID]) -> int:
        ids = check_outbox_ids(outbox_ids)
        now = self.clock.now()
        marked = 0
        with self.state.lock:
            for outbox_id in ids:
                entry = self.state.outbox.get(outbox_id)
                if entry is None:
                    continue
                self.state.outbox[outbox_id] = dataclasses.replace(
                    entry,
                    status=OutboxStatus.PUBLISHED,
                    published_at=now,
                    claimed_by=None,
                    claimed_until=None,
                )
                marked += 1
        return marked

    async def release(
        self,
        outbox_id: UUID,
        error: str | None = None,
        *,
        retry_after: timedelta | None = None,
    ) -> None:
        if error is not None:
            error = storable_note(error, "error")
        retry_after = check_retry_after(retry_after)
        with self.state.lock:
            entry = await self.get_entry(outbox_id)
            changes: dict[str, Any] = {"claimed_by": None, "claimed_until": None}
            if error is not None:
                changes.update(retry_count=entry.retry_count + 1, last_error=error)
            self._update(outbox_id, **changes)
            if retry_after:
                self.state.outbox_not_before[outbox_id] = self.clock.now() + retry_after

    async def mark_failed(self, outbox_id: UUID, error: str) -> None:
        error = storable_note(error, "error")
        with self.state.lock:
            entry = await self.get_entry(outbox_id)
            self._update(
                outbox_id,
                status=OutboxStatus.FAILED,
                last_error=error,
                retry_count=entry.retry_count + 1,
                claimed_by=None,
                claimed_until=None,
            )

    async def list_entries(self, status: str = "pending", limit: int = 100) -> list[OutboxEntry]:
        wanted, limit = check_outbox_status(status), check_limit(limit)
        with self.state.lock:
            return [e for e in self.state.outbox.values() if e.status is wanted][:limit]

    async def retry_failed(self, outbox_id: UUID | None = None) -> int:
        with self.state.lock:
            if outbox_id is None:
                ids = [e.id for e in self.state.outbox.values() if e.status is OutboxStatus.FAILED]
            else:
                entry = await self.get_entry(outbox_id)
                if entry.status is not OutboxStatus.FAILED:
                    raise InvalidStateError(
                        f"outbox entry {outbox_id} is {entry.status.value}, not failed"
                    )
                ids = [entry.id]
            for entry_id in ids:
                self._update(entry_id, status=OutboxStatus.PENDING, claimed_by=None)
                self.state.outbox_not_before.pop(entry_id, None)
            return len(ids)

    async def get_entry(self, outbox_id: UUID) -> OutboxEntry:
        entry: OutboxEntry | None = self.state.outbox.get(check_outbox_id(outbox_id))
        if entry is None:
            raise EntryNotFoundError(f"no outbox entry {outbox_id}")
        return entry

    async def get_stats(self) -> OutboxStats:
        now = self.clock.now()
        with self.state.lock:
            entries = list(self.state.outbox.values())
        pending = [e for e in entries if e.status is OutboxStatus.PENDING]
        return OutboxStats(
            pending_count=len(pending),
            claimed_count=sum(1 for e in pending if e.claimed_until and e.claimed_until > now),
            published_count=sum(1 for e in entries if e.status is OutboxStatus.PUBLISHED),
            failed_count=sum(1 for e in entries if e.status is OutboxStatus.FAILED),
            oldest_pending_at=min((e.created_at for e in pending), default=None),
            avg_retries=sum(e.retry_count for e in pending) / len(pending) if pending else 0.0,
        )

    async def cleanup_published(self, older_than: timedelta = timedelta(days=7)) -> int:
        cutoff = self.clock.now() - check_older_than(older_than)
        with self.state.lock:
            doomed = [
                key
                for key, e in self.state.outbox.items()
                if e.status is OutboxStatus.PUBLISHED and e.published_at and e.published_at < cutoff
            ]
            for key in doomed:
                del self.state.outbox[key]
        return len(doomed)

    async def export_outbox(self) -> list[OutboxEntry]:
        with self.state.lock:
            return list(self.state.outbox.values())

    async def import_outbox(self, entries: Sequence[OutboxEntry]) -> int:
        checked = check_import_entries(entries, OutboxEntry)
        added = 0
        with self.state.lock:
            for entry in checked:
                if entry.id not in self.state.outbox:
                    unclaimed = dataclasses.replace(entry, claimed_by=None, claimed_until=None)
                    self.state.outbox[entry.id] = unclaimed
                    added += 1
        return added


class MemoryDLQRepository(DLQRepository, DLQTransfer):
    """Dead-letter queue in memory."""

    def __init__(
        self,
        source: MemoryEventStore | MemoryState | None = None,
        enable_tracing: bool = True,  # eventsource-py 0.5.0's tracing arguments: unused
        *,
        tracer: object = None,
    ) -> None:
        self.state = _state_of(source)

    async def clear(self) -> None:
        """Forget every entry; ids start at 1 again (eventsource-py 0.5.0's test helper)."""
        with self.state.lock:
            self.state.dlq.clear()
            self.state.next_dlq_id = 1

    async def add_failed_event(
        self,
        event_id: UUID,
        projection_name: str,
        event_type: str,
        event_data: dict[str, Any],
        error: BaseException | str,
        retry_count: int = 1,
    ) -> int:
        text, details = prepare_failed_event(
            event_id, projection_name, event_type, event_data, error, retry_count
        )
        data = json.loads(text)
        now = _now()
        with self.state.lock:
            for entry in self.state.dlq.values():
                if entry.event_id == event_id and entry.projection_name == projection_name:
                    self.state.dlq[entry.id] = dataclasses.replace(
                        entry,
                        event_data=data,
                        error_type=details.error_type,
                        error_message=details.message,
                        error_stacktrace=details.stacktrace,
                        retry_count=retry_count,
                        last_failed_at=now,
                        status=DLQStatus.FAILED,
                        resolved_at=None,
                        resolution=None,
                    )
                    return int(entry.id)
            dlq_id = self.state.next_dlq_id
            self.state.next_dlq_id += 1
            self.state.dlq[dlq_id] = DLQEntry(
                id=dlq_id,
                event_id=event_id,
                projection_name=projection_name,
                event_type=event_type,
                event_data=data,
                error_type=details.error_type,
                error_message=details.message,
                error_stacktrace=details.stacktrace,
                retry_count=retry_count,
                first_failed_at=now,
                last_failed_at=now,
            )
            return dlq_id

    async def get_failed_events(
        self,
        projection_name: str | None = None,
        status: str = "failed",
        limit: int = 100,
    ) -> list[DLQEntry]:
        if projection_name is not None:
            check_projection_name(projection_name)
        wanted = check_dlq_status(status)
        limit = check_limit(limit)
        with self.state.lock:
            entries = [
                e
                for e in self.state.dlq.values()
                if e.status is wanted
                and (projection_name is None or e.projection_name == projection_name)
            ]
        entries.sort(key=lambda e: (e.first_failed_at, e.id))
        return entries[:limit]

    async def get_failed_event_by_id(self, dlq_id: int) -> DLQEntry | None:
        entry: DLQEntry | None = self.state.dlq.get(check_dlq_id(dlq_id))
        return entry

    def _update(self, dlq_id: int, **changes: Any) -> None:
        check_dlq_id(dlq_id)
        with self.state.lock:
            entry = self.state.dlq.get(dlq_id)
            if entry is None:
                raise EntryNotFoundError(f"no DLQ entry {dlq_id}")
            self.state.dlq[dlq_id] = dataclasses.replace(entry, **changes)

    async def mark_retrying(self, dlq_id: int) -> None:
        self._update(dlq_id, status=DLQStatus.RETRYING)

    async def mark_resolved(self, dlq_id: int, resolution: str) -> None:
        resolution = storable_note(resolution, "resolution")
        self._update(dlq_id, status=DLQStatus.RESOLVED, resolved_at=_now(), resolution=resolution)

    async def get_failure_stats(self) -> DLQStats:
        with self.state.lock:
            entries = list(self.state.dlq.values())
        unresolved = [e for e in entries if e.status is not DLQStatus.RESOLVED]
        return DLQStats(
            total_failed=sum(1 for e in entries if e.status is DLQStatus.FAILED),
            total_retrying=sum(1 for e in entries if e.status is DLQStatus.RETRYING),
            total_resolved=sum(1 for e in entries if e.status is DLQStatus.RESOLVED),
            affected_projections=len({e.projection_name for e in unresolved}),
            oldest_failure=min((e.first_failed_at for e in unresolved), default=None),
        )

    async def get_projection_failure_counts(self) -> list[ProjectionFailureCount]:
        with self.state.lock:
            entries = [e for e in self.state.dlq.values() if e.status is not DLQStatus.RESOLVED]
        by_name: dict[str, list[DLQEntry]] = {}
        for entry in entries:
            by_name.setdefault(entry.projection_name, []).append(entry)
        counts = [
            ProjectionFailureCount(
                projection_name=name,
                failure_count=len(group),
                oldest_failure=min(e.first_failed_at for e in group),
                most_recent_failure=max(e.last_failed_at for e in group),
            )
            for name, group in by_name.items()
        ]
        counts.sort(key=lambda c: (-c.failure_count, c.projection_name))
        return counts

    async def delete_resolved_events(self, older_than: timedelta = timedelta(days=30)) -> int:
        cutoff = _now() - check_older_than(older_than)
        with self.state.lock:
            doomed = [
                key
                for key, e in self.state.dlq.items()
                if e.status is DLQStatus.RESOLVED and e.resolved_at and e.resolved_at < cutoff
            ]
            for key in doomed:
                del self.state.dlq[key]
        return len(doomed)

    async def export_dlq(self) -> list[DLQEntry]:
        with self.state.lock:
            return [self.state.dlq[key] for key in sorted(self.state.dlq)]

    async def import_dlq(self, entries: Sequence[DLQEntry]) -> int:
        checked = check_import_entries(entries, DLQEntry)
        added = 0
        with self.state.lock:
            held = {(e.event_id, e.projection_name) for e in self.state.dlq.values()}
            for entry in checked:
                if (entry.event_id, entry.projection_name) in held:
                    continue
                dlq_id = entry.id if entry.id not in self.state.dlq else self.state.next_dlq_id
                self.state.dlq[dlq_id] = dataclasses.replace(entry, id=dlq_id)
                self.state.next_dlq_id = max(self.state.next_dlq_id, dlq_id + 1)
                held.add((entry.event_id, entry.projection_name))
                added += 1
        return added
