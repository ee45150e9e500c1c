"""The in-memory event store: the whole contract, held in one process's memory.

All state lives in a :class:`MemoryState`, shared by the store and the repositories built over
it (the in-memory counterpart of one database). Operations are atomic: each runs without an
await between its check and its write, under a lock that also guards against threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
import zlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from ..spi import (
    DEFAULT_MAX_EVENT_BYTES,
    AppendResult,
    DomainEvent,
    DuplicateEventError,
    EventRegistry,
    EventStore,
    EventStream,
    EventTransfer,
    PreparedEvent,
    RawEvent,
    ReadDirection,
    ReadOptions,
    RetentionPolicy,
    ShardReads,
    StoredEvent,
    StoredPlace,
    StoreNotFoundError,
    StreamDeletedError,
    StreamMark,
    check_event_id,
    check_export_args,
    check_get_events,
    check_get_events_by_type,
    check_import_marks,
    check_import_rows,
    check_lifecycle_key,
    check_read_options,
    check_shard,
    check_stream_key,
    check_stream_version,
    check_truncate,
    check_wait,
    decode_stored_event,
    original_result,
    parse_stream_id,
    prepare_append,
    restamp,
    restored,
    stream_id_for,
    tombstone,
    truncated,
)
from . import _transfer as transfer
from ._names import forget_named
from ._outbox_entries import outbox_entry_for

__all__ = ["MemoryEventStore", "MemoryState"]


@dataclass
class MemoryState:
    """Everything one in-memory database holds."""

    events: list[StoredEvent] = field(default_factory=list)
    streams: dict[tuple[UUID, str], list[StoredEvent]] = field(default_factory=dict)
    by_id: dict[UUID, StoredEvent] = field(default_factory=dict)
    #: The stored JSON text of each event, by global position: what upcasters read.
    payloads: dict[int, str] = field(default_factory=dict)
    #: Positions of imported rows the registry could not decode (held as stand-ins; reads
    #: decode their stored text again).
    undecoded: set[int] = field(default_factory=set)
    checkpoints: dict[str, Any] = field(default_factory=dict)
    #: The latest ownership lease of each projection (a ProjectionLease).
    leases: dict[str, Any] = field(default_factory=dict)
    outbox: dict[UUID, Any] = field(default_factory=dict)
    outbox_not_before: dict[UUID, datetime] = field(default_factory=dict)
    dlq: dict[int, Any] = field(default_factory=dict)
    next_dlq_id: int = 1
    #: Snapshot rows (``SnapshotRecord``) by (aggregate id, aggregate type).
    snapshots: dict[tuple[UUID, str], Any] = field(default_factory=dict)
    #: Stored retention policies (``RetentionPolicy``) by aggregate type.
    retention: dict[str, Any] = field(default_factory=dict)
    #: Global positions no read shows: removed (hard delete, truncation) or soft-deleted. Their
    #: log entries stay as placeholders so positions are never reused.
    removed: set[int] = field(default_factory=set)
    #: Deleted streams: (hard, the soft-deleted events kept for a restore).
    deleted: dict[tuple[UUID, str], tuple[bool, list[StoredEvent]]] = field(default_factory=dict)
    #: Each deleted stream's last version and the time of its (latest) delete.
    mark_info: dict[tuple[UUID, str], tuple[int, datetime]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = field(
        default_factory=list
    )

    def notify(self) -> None:
        """Wake every task waiting in :meth:`MemoryEventStore.wait_for_events`."""
        waiters, self.waiters = self.waiters, []
        for loop, future in waiters:
            if loop.is_closed():
                continue
            loop.call_soon_threadsafe(_set_done, future)


def _set_done(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class MemoryEventStore(EventStore, ShardReads, EventTransfer):
    """Event store in process memory; ``memory://name`` URLs share one state per name.

    ``name`` is the ``memory://NAME`` it was opened by; ``new`` (default: no ``state`` given)
    says the state did not exist before this store, so ``open(create=False)`` refuses it.
    """

    def __init__(
        self,
        state: MemoryState | None = None,
        *,
        event_registry: EventRegistry | None = None,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        name: str | None = None,
        new: bool | None = None,
        tracer: object = None,  # eventsource-py 0.5.0's tracing arguments: accepted, unused
        enable_tracing: bool = True,
    ) -> None:
        super().__init__(event_registry=event_registry, max_event_bytes=max_event_bytes)
        self.state = state if state is not None else MemoryState()
        self.name = name
        self.new = state is None if new is None else new

    async def initialize(self) -> None:
        """Nothing to create; present for the contract."""

    # -- eventsource-py 0.5.0's test helpers (docs/migrating-from-eventsource-py.md) -----------

    async def clear(self) -> None:
        """Forget every event (global positions start at 1 again); repositories keep theirs."""
        with self.state.lock:
            self.state.events.clear()
            self.state.streams.clear()
            self.state.by_id.clear()
            self.state.payloads.clear()
            self.state.undecoded.clear()

    async def get_all_events(self) -> list[DomainEvent]:
        """Every event, oldest ``occurred_at`` first."""
        with self.state.lock:
            stored = list(self.state.events)
        return sorted((self._current(s).event for s in stored), key=lambda e: e.occurred_at)

    async def get_event_count(self) -> int:
        """How many events are stored."""
        return len(self.state.by_id)

    async def get_aggregate_ids(self) -> list[UUID]:
        """The ids of every aggregate with events, in the order they were first written."""
        with self.state.lock:
            return list(dict.fromkeys(aid for aid, _ in self.state.streams))

    async def connect_existing(self) -> None:
        """Refuse a database this store brought into being: a private ``memory://`` (always
        new) or a ``memory://NAME`` no other store of this process held; it is forgotten
        again, so nothing is created."""
        if not self.new:
            return
        if self.name is None:
            raise StoreNotFoundError(
                "memory:// is a new private database each time it is opened, so there is no "
                "existing one to open with create=False (use memory://NAME)",
                location="memory://",
            )
        forget_named(self.name, self.state)
        raise StoreNotFoundError(
            f"no in-memory database named {self.name!r} in this process (memory is not "
            "persistent: it exists only while a store or backend holds it)",
            location=f"memory://{self.name}",
        )

    async def append_events(
        self,
        aggregate_id: UUID,
        aggregate_type: str,
        events: Sequence[DomainEvent],
        expected_version: int,
        *,
        outbox: bool = False,
        recreate: bool = False,
    ) -> AppendResult:
        expected, prepared = prepare_append(
            self, aggregate_id, aggregate_type, events, expected_version
        )
        state = self.state
        with state.lock:
            gone = state.deleted.get((aggregate_id, aggregate_type))
            if gone is not None:
                if not recreate:
                    raise StreamDeletedError(aggregate_id, aggregate_type, hard=gone[0])
                self._purge(gone[1])
                del state.deleted[(aggregate_id, aggregate_type)]
                state.mark_info.pop((aggregate_id, aggregate_type), None)
            return self._append_locked(aggregate_id, aggregate_type, expected, prepared, outbox)

    def _append_locked(
        self,
        aggregate_id: UUID,
        aggregate_type: str,
        expected: int,
        prepared: list[PreparedEvent],
        outbox: bool,
    ) -> AppendResult:
        state = self.state
        with state.lock:
            stream = state.streams.get((aggregate_id, aggregate_type), [])
            current = stream[-1].stream_position if stream else 0
            event_ids = [item.event.event_id for item in prepared]
            places = [_place(state.by_id[i]) for i in event_ids if i in state.by_id]
            # some of the batch stored: a retry of a stored append, or a DuplicateEventError
            original = original_result(aggregate_id, aggregate_type, expected, event_ids, places)
            if original is not None:
                return original
            check_stream_version(aggregate_id, aggregate_type, expected, current)
            now = datetime.now(UTC)
            stream_id = stream_id_for(aggregate_id, aggregate_type)
            stored_batch = []
            # Kept as the real backends return them: decoded from their JSON text (an untyped
            # UUID reads back as its string; a caller mutating its event changes nothing).
            # Decoded before anything is changed, so a failure leaves the state as it was.
            decode = self.event_registry.deserialize
            restamped = list(restamp(prepared, current))
            decoded = [
                decode(item.payload, item.event.event_type, item.event.event_version)
                for item in restamped
            ]
            entries = (
                [
                    outbox_entry_for(event, now, payload=item.payload)
                    for event, item in zip(decoded, restamped, strict=True)
                ]
                if outbox
                else []
            )
            for event, item in zip(decoded, restamped, strict=True):
                stored = StoredEvent(
                    event=event,
                    stream_id=stream_id,
                    stream_position=event.aggregate_version,
                    global_position=len(state.events) + 1,
                    stored_at=now,
                )
                state.events.append(stored)
                state.payloads[stored.global_position] = item.payload
                state.by_id[event.event_id] = stored
                stored_batch.append(stored)
            state.streams.setdefault((aggregate_id, aggregate_type), []).extend(stored_batch)
            for entry in entries:
                state.outbox[entry.id] = entry
            state.notify()
            return AppendResult(
                success=True,
                new_version=current + len(stored_batch),
                global_position=stored_batch[-1].global_position,
                events_written=len(stored_batch),
            )

    # -- stream lifecycle ----------------------------------------------------------------------

    def _purge(self, events: list[StoredEvent]) -> None:
        """Forget ``events`` for good (their positions stay burned)."""
        for stored in events:
            self.state.removed.add(stored.global_position)
            self.state.payloads.pop(stored.global_position, None)
            if self.state.by_id.get(stored.event.event_id) is stored:
                del self.state.by_id[stored.event.event_id]

    def _record(self, event: DomainEvent) -> None:
        """Append a lifecycle event to its system stream (the lock is held)."""
        key = (event.aggregate_id, event.aggregate_type)
        stream = self.state.streams.get(key)
        version = stream[-1].stream_position if stream else 0
        expected, prepared = prepare_append(self, event.aggregate_id, key[1], [event], version)
        self._append_locked(event.aggregate_id, key[1], expected, prepared, False)

    async def delete_stream(
        self, aggregate_id: UUID, aggregate_type: str, hard: bool = False
    ) -> int:
        key = check_lifecycle_key(aggregate_id, aggregate_type)
        state = self.state
        with state.lock:
            gone = state.deleted.get(key)
            if gone is not None:
                if gone[0] or not hard:
                    return 0
                self._purge(gone[1])  # soft, now hard: the kept events go for good
                state.deleted[key] = (True, [])
                last = state.mark_info.get(key, (len(gone[1]), None))[0]
                state.mark_info[key] = (last, datetime.now(UTC))
                self._record(tombstone(aggregate_id, aggregate_type, len(gone[1]), True))
                return len(gone[1])
            stream = state.streams.pop(key, [])
            if not stream:
                return 0
            if hard:
                self._purge(stream)
            else:
                for stored in stream:
                    state.removed.add(stored.global_position)
                    del state.by_id[stored.event.event_id]
            state.deleted[key] = (hard, [] if hard else stream)
            state.mark_info[key] = (stream[-1].stream_position, datetime.now(UTC))
            self._forget_attachments(aggregate_id, aggregate_type)
            self._record(tombstone(aggregate_id, aggregate_type, stream[-1].stream_position, hard))
            return len(stream)

    def _forget_attachments(self, aggregate_id: UUID, aggregate_type: str) -> None:
        """Drop the stream's outbox entries and snapshot (the lock is held)."""
        state = self.state
        for entry_id in [
            i
            for i, e in state.outbox.items()
            if e.aggregate_id == aggregate_id and e.aggregate_type == aggregate_type
        ]:
            del state.outbox[entry_id]
            state.outbox_not_before.pop(entry_id, None)
        state.snapshots.pop((aggregate_id, aggregate_type), None)

    async def restore_stream(self, aggregate_id: UUID, aggregate_type: str) -> int:
        key = check_lifecycle_key(aggregate_id, aggregate_type)
        state = self.state
        with state.lock:
            gone = state.deleted.get(key)
            if gone is None:
                return 0
            hard, stream = gone
            if hard:
                raise StreamDeletedError(aggregate_id, aggregate_type, hard=True)
            for stored in stream:
                if stored.event.event_id in state.by_id:
                    raise DuplicateEventError(
                        stored.event.event_id,
                        "in another stream, appended since the delete: nothing was restored",
                    )
            for stored in stream:
                state.removed.discard(stored.global_position)
                state.by_id[stored.event.event_id] = stored
            state.streams[key] = stream
            del state.deleted[key]
            state.mark_info.pop(key, None)
            self._record(restored(aggregate_id, aggregate_type, stream[-1].stream_position))
            return len(stream)

    async def truncate_stream(self, aggregate_id: UUID, aggregate_type: str, *, before: int) -> int:
        aggregate_id, aggregate_type, before = check_truncate(aggregate_id, aggregate_type, before)
        key = (aggregate_id, aggregate_type)
        state = self.state
        with state.lock:
            stream = state.streams.get(key, [])
            if not stream:
                return 0
            before = min(before, stream[-1].stream_position)
            doomed = [s for s in stream if s.stream_position < before]
            if not doomed:
                return 0
            last = stream[-1].stream_position
            self._record(truncated(aggregate_id, aggregate_type, before, last, len(doomed)))
            self._purge(doomed)
            state.streams[key] = [s for s in stream if s.stream_position >= before]
            snapshot = state.snapshots.get(key)
            if snapshot is not None and snapshot.version < before - 1:
                del state.snapshots[key]
            return len(doomed)

    async def _stored_versions(self) -> dict[tuple[str, int], int]:
        counts: dict[tuple[str, int], int] = {}
        with self.state.lock:
            for stream in self.state.streams.values():
                for stored in stream:
                    key = (stored.event.event_type, stored.event.event_version)
                    counts[key] = counts.get(key, 0) + 1
        return counts

    async def _read_retention(self) -> dict[str, RetentionPolicy]:
        with self.state.lock:
            return dict(self.state.retention)

    async def _write_retention(self, aggregate_type: str, policy: RetentionPolicy | None) -> None:
        with self.state.lock:
            if policy is None:
                self.state.retention.pop(aggregate_type, None)
            else:
                self.state.retention[aggregate_type] = policy

    async def _stream_extents(
        self, aggregate_type: str, cutoff: datetime | None
    ) -> list[tuple[UUID, int, int, int | None]]:
        with self.state.lock:
            streams = [
                (aid, list(s)) for (aid, t), s in self.state.streams.items() if t == aggregate_type
            ]
        out: list[tuple[UUID, int, int, int | None]] = []
        for aid, stream in streams:
            if not stream:
                continue
            expired = [
                s.stream_position
                for s in stream
                if cutoff is not None and s.event.occurred_at < cutoff
            ]
            newest = max(expired) if expired else None
            out.append((aid, stream[0].stream_position, stream[-1].stream_position, newest))
        return out

    # -- bulk transfer (eventsource migrate) ---------------------------------------------------

    async def transfer_position(self) -> int:
        return transfer.transfer_position(self.state)

    async def count_rows(self, after_position: int = 0) -> int:
        after, _ = check_export_args(after_position, 1)
        return transfer.count_rows(self.state, after)

    async def export_rows(self, after_position: int, limit: int) -> list[RawEvent]:
        after, count = check_export_args(after_position, limit)
        return transfer.export_rows(self.state, after, count)

    async def export_marks(self) -> list[StreamMark]:
        return transfer.export_marks(self.state)

    async def import_rows(self, rows: Sequence[RawEvent]) -> int:
        checked = check_import_rows(rows, 0, self.max_event_bytes)
        if not checked:
            return 0
        return transfer.import_rows(self.state, self.event_registry, checked)

    async def import_marks(self, marks: Sequence[StreamMark]) -> int:
        return transfer.import_marks(self.state, check_import_marks(marks))

    async def get_events(
        self,
        aggregate_id: UUID,
        aggregate_type: str | None = None,
        from_version: int = 0,
        from_timestamp: datetime | None = None,
        to_timestamp: datetime | None = None,
    ) -> EventStream:
        check_get_events(aggregate_id, aggregate_type, from_version, from_timestamp, to_timestamp)
        with self.state.lock:
            if aggregate_type is None:
                matches = [s for (aid, _), s in self.state.streams.items() if aid == aggregate_id]
                stream = sorted((e for s in matches for e in s), key=lambda e: e.global_position)
                found_type = stream[0].event.aggregate_type if stream else ""
            else:
                stream = list(self.state.streams.get((aggregate_id, aggregate_type), []))
                found_type = aggregate_type
        version = max((e.stream_position for e in stream), default=0)
        events = [
            self._current(e).event
            for e in stream
            if e.stream_position > from_version and _in_window(e, from_timestamp, to_timestamp)
        ]
        return EventStream(aggregate_id, found_type, events, version)

    def _current(self, stored: StoredEvent) -> StoredEvent:
        """``stored`` as the registry decodes it today: an event whose type has upcasters, or
        an imported row kept undecoded, is decoded again from its stored text (the others are
        kept decoded)."""
        event = stored.event
        if not self.event_registry.has_upcasters(event.event_type) and (
            stored.global_position not in self.state.undecoded
        ):
            return stored
        again = decode_stored_event(
            self.event_registry,
            self.state.payloads[stored.global_position],
            event.event_type,
            event.event_version,
            stored.global_position,
            stored.stream_id,
            stored.stream_position,
            event.event_id,
        )
        return dataclasses.replace(stored, event=again)

    async def read_stream(
        self, stream_id: str, options: ReadOptions | None = None
    ) -> AsyncIterator[StoredEvent]:
        aggregate_id, aggregate_type = parse_stream_id(stream_id)
        options = check_read_options(options)
        with self.state.lock:
            stream = list(self.state.streams.get((aggregate_id, aggregate_type), []))
        for stored in _select(stream, options, key="stream"):
            yield self._current(stored)

    async def read_all(self, options: ReadOptions | None = None) -> AsyncIterator[StoredEvent]:
        async for stored in self._read_all(check_read_options(options), None):
            yield stored

    async def read_all_shard(
        self, shard: int, shards: int, options: ReadOptions | None = None
    ) -> AsyncIterator[StoredEvent]:
        wanted = check_shard(shard, shards)
        async for stored in self._read_all(check_read_options(options), wanted):
            yield stored

    async def _read_all(
        self, options: ReadOptions, shard: tuple[int, int] | None
    ) -> AsyncIterator[StoredEvent]:
        # Page through the log so a long read neither copies it whole nor blocks writers.
        yielded = 0
        forward = options.direction is ReadDirection.FORWARD
        cursor = options.from_position
        while True:
            with self.state.lock:
                log = self.state.events
                if forward:
                    start = cursor or 0
                    page = log[start : start + self.page_size]
                else:
                    end = len(log) if cursor is None else max(0, min(cursor - 1, len(log)))
                    page = log[max(0, end - self.page_size) : end][::-1]
            if not page:
                return
            cursor = page[-1].global_position
            removed = self.state.removed
            for stored in page:
                if stored.global_position in removed or not _matches(stored, options):
                    continue
                if (
                    shard is not None
                    and zlib.crc32(stored.aggregate_id.bytes) % shard[1] != shard[0]
                ):
                    continue
                if options.limit is not None and yielded >= options.limit:
                    return
                yielded += 1
                yield self._current(stored)
            await asyncio.sleep(0)

    async def get_events_by_type(
        self,
        aggregate_type: str,
        tenant_id: UUID | None = None,
        from_timestamp: datetime | None = None,
    ) -> list[DomainEvent]:
        check_get_events_by_type(aggregate_type, tenant_id, from_timestamp)
        with self.state.lock:
            log = list(self.state.events)
        return [
            self._current(s).event
            for s in log
            if s.event.aggregate_type == aggregate_type
            and s.global_position not in self.state.removed
            and (tenant_id is None or s.event.tenant_id == tenant_id)
            and (from_timestamp is None or s.event.occurred_at >= from_timestamp)
        ]

    async def event_exists(self, event_id: UUID) -> bool:
        return check_event_id(event_id) in self.state.by_id

    async def get_event_position(self, event_id: UUID) -> int | None:
        stored = self.state.by_id.get(check_event_id(event_id))
        return None if stored is None else stored.global_position

    async def get_stream_version(self, aggregate_id: UUID, aggregate_type: str) -> int:
        check_stream_key(aggregate_id, aggregate_type)
        stream = self.state.streams.get((aggregate_id, aggregate_type))
        return stream[-1].stream_position if stream else 0

    async def get_global_position(self) -> int:
        return len(self.state.events)

    async def wait_for_events(self, after_position: int, timeout: float) -> bool:
        timeout = check_wait(after_position, timeout)
        loop = asyncio.get_running_loop()
        with self.state.lock:
            if len(self.state.events) > after_position:
                return True
            future: asyncio.Future[None] = loop.create_future()
            waiter = (loop, future)
            self.state.waiters.append(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(future, timeout)
        finally:
            with self.state.lock:  # timed out or cancelled: not woken, so still listed
                if waiter in self.state.waiters:
                    self.state.waiters.remove(waiter)
        return len(self.state.events) > after_position


def _place(stored: StoredEvent) -> StoredPlace:
    event = stored.event
    return StoredPlace(
        event.event_id,
        event.aggregate_id,
        event.aggregate_type,
        stored.stream_position,
        stored.global_position,
    )


def _in_window(stored: StoredEvent, start: datetime | None, end: datetime | None) -> bool:
    occurred = stored.event.occurred_at
    return (start is None or occurred >= start) and (end is None or occurred <= end)


def _matches(stored: StoredEvent, options: ReadOptions) -> bool:
    event = stored.event
    return (
        _in_window(stored, options.from_timestamp, options.to_timestamp)
        and (options.tenant_id is None or event.tenant_id == options.tenant_id)
        and (options.event_types is None or event.event_type in options.event_types)
    )


def _select(events: list[StoredEvent], options: ReadOptions, key: str) -> list[StoredEvent]:
    def position(stored: StoredEvent) -> int:
        return stored.stream_position if key == "stream" else stored.global_position

    if options.direction is ReadDirection.BACKWARD:
        events = events[::-1]
        if options.from_position is not None:
            events = [e for e in events if position(e) < options.from_position]
    elif options.from_position is not None:
        events = [e for e in events if position(e) > options.from_position]
    events = [e for e in events if _matches(e, options)]
    return events if options.limit is None else events[: options.limit]
