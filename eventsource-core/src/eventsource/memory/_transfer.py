"""Bulk transfer in memory (capability ``bulk_transfer``): the state's log exported and
imported as stored, each call atomic under the state's lock.

Rows are kept as stored, like SQLite and PostgreSQL keep them: a row the store's registry
cannot decode (a type not registered here, a document its class refuses) is imported all the
same, as a stand-in event carrying its columns, its position listed in
``MemoryState.undecoded``; reads decode its stored text again (and raise
:class:`~eventsource.EventDecodeError` as the other backends do while it still fails).

A deleted stream's mark is its entry in ``MemoryState.deleted``; its last version and time
are kept in ``MemoryState.mark_info`` (streams deleted before that existed report their last
kept version, or 0, and the time of the export).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from uuid import UUID

from ..spi import (
    DomainEvent,
    EventRegistry,
    ImportConflictError,
    RawEvent,
    StoredEvent,
    StreamMark,
    stream_id_for,
)

if TYPE_CHECKING:
    from ._store import MemoryState

__all__ = [
    "count_rows",
    "export_marks",
    "export_rows",
    "import_marks",
    "import_rows",
    "transfer_position",
]


def _kept(state: MemoryState) -> set[int]:
    """Positions of soft-deleted rows."""
    return {s.global_position for hard, rows in state.deleted.values() if not hard for s in rows}


def _held(state: MemoryState, kept: set[int], after: int = 0) -> list[StoredEvent]:
    removed = state.removed
    return [
        s
        for s in state.events[after:]
        if s.global_position not in removed or s.global_position in kept
    ]


def transfer_position(state: MemoryState) -> int:
    """The highest position held, soft-deleted rows included."""
    with state.lock:
        kept = _kept(state)
        for stored in reversed(state.events):
            position = stored.global_position
            if position not in state.removed or position in kept:
                return position
        return 0


def count_rows(state: MemoryState, after: int) -> int:
    """Rows above ``after``, live and soft-deleted."""
    with state.lock:
        return len(_held(state, _kept(state), after))


def _raw(state: MemoryState, stored: StoredEvent, deleted: bool) -> RawEvent:
    event = stored.event
    return RawEvent(
        global_position=stored.global_position,
        event_id=event.event_id,
        aggregate_id=event.aggregate_id,
        aggregate_type=event.aggregate_type,
        aggregate_version=stored.stream_position,
        event_type=event.event_type,
        event_version=event.event_version,
        tenant_id=event.tenant_id,
        occurred_at=event.occurred_at,
        stored_at=stored.stored_at,
        payload=state.payloads[stored.global_position],
        deleted=deleted,
    )


def export_rows(state: MemoryState, after: int, limit: int) -> list[RawEvent]:
    """Up to ``limit`` rows after ``after``, live and soft-deleted, in global order."""
    with state.lock:
        kept = _kept(state)
        out: list[RawEvent] = []
        for stored in _held(state, kept, after):
            if len(out) >= limit:
                break
            out.append(_raw(state, stored, stored.global_position in kept))
        return out


def export_marks(state: MemoryState) -> list[StreamMark]:
    """Every deleted-stream mark."""
    now = datetime.now(UTC)
    with state.lock:
        marks = []
        for (aggregate_id, aggregate_type), (hard, rows) in sorted(
            state.deleted.items(), key=lambda item: (item[0][1], str(item[0][0]))
        ):
            last, when = state.mark_info.get(
                (aggregate_id, aggregate_type), (rows[-1].stream_position if rows else 0, now)
            )
            marks.append(StreamMark(aggregate_id, aggregate_type, hard, last, when))
        return marks


def _stand_in(row: RawEvent) -> DomainEvent:
    """An event with ``row``'s columns and none of its payload's fields: what memory holds
    for a row its registry cannot decode (reads decode the stored text again)."""
    return DomainEvent.model_construct(
        event_id=row.event_id,
        event_type=row.event_type,
        event_version=row.event_version,
        occurred_at=row.occurred_at,
        aggregate_id=row.aggregate_id,
        aggregate_type=row.aggregate_type,
        aggregate_version=row.aggregate_version,
        tenant_id=row.tenant_id,
    )


def import_rows(state: MemoryState, registry: EventRegistry, rows: list[RawEvent]) -> int:
    """Place checked rows at their positions, all or none: decoded with ``registry``, or
    kept undecoded (a stand-in event) where it cannot decode them."""
    with state.lock:
        taken = len(state.events)
        if rows[0].global_position <= taken:
            raise ImportConflictError(
                f"row at position {rows[0].global_position} is not above {taken}, the highest "
                "position this store has given out"
            )
        versions: dict[tuple[UUID, str], int] = {}
        placed: list[tuple[RawEvent, StoredEvent]] = []
        undecoded: list[int] = []
        for row in rows:  # everything is checked and decoded before the state changes
            key = (row.aggregate_id, row.aggregate_type)
            if not row.deleted:
                if row.event_id in state.by_id:
                    raise ImportConflictError(f"event id {row.event_id} is stored already")
                stream = state.streams.get(key)
                last = versions.get(key, stream[-1].stream_position if stream else 0)
                if row.aggregate_version <= last:
                    raise ImportConflictError(
                        f"stream {stream_id_for(*key)} is at version {last}: row "
                        f"{row.event_id} at version {row.aggregate_version} conflicts"
                    )
                versions[key] = row.aggregate_version
            try:
                event = registry.deserialize(row.payload, row.event_type, row.event_version)
            except Exception:  # kept as stored, as the other backends keep it
                event = _stand_in(row)
                undecoded.append(row.global_position)
            stored = StoredEvent(
                event=event,
                stream_id=stream_id_for(*key),
                stream_position=row.aggregate_version,
                global_position=row.global_position,
                stored_at=row.stored_at,
            )
            placed.append((row, stored))
        for row, stored in placed:
            for burned in range(len(state.events) + 1, row.global_position):
                state.events.append(dataclasses.replace(stored, global_position=burned))
                state.removed.add(burned)
            state.events.append(stored)
            state.payloads[row.global_position] = row.payload
            key = (row.aggregate_id, row.aggregate_type)
            if row.deleted:
                state.removed.add(row.global_position)
                hard, kept = state.deleted.get(key, (False, []))
                state.deleted[key] = (hard, [*kept, stored])
            else:
                state.by_id[row.event_id] = stored
                state.streams.setdefault(key, []).append(stored)
        state.undecoded.update(undecoded)
        state.notify()
        return len(rows)


def import_marks(state: MemoryState, marks: list[StreamMark]) -> int:
    """Insert or replace each mark."""
    with state.lock:
        for mark in marks:
            key = (mark.aggregate_id, mark.aggregate_type)
            _, kept = state.deleted.get(key, (mark.hard, []))
            state.deleted[key] = (mark.hard, [] if mark.hard else kept)
            state.mark_info[key] = (mark.last_version, mark.deleted_at)
        return len(marks)
