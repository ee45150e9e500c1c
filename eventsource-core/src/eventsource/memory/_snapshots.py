"""The in-memory snapshot store, over a :class:`MemoryState` (or a private one)."""

from __future__ import annotations

from uuid import UUID

from ..spi import (
    Snapshot,
    SnapshotStore,
    check_identifier,
    check_schema_version_below,
    check_snapshot_key,
    decode_snapshot,
    encode_snapshot,
    newer_snapshot_wins,
)
from ._store import MemoryEventStore, MemoryState

__all__ = ["MemorySnapshotStore"]


class MemorySnapshotStore(SnapshotStore):
    """Snapshots in process memory; over a :class:`MemoryEventStore` it shares its database
    (so ``memory://NAME`` backends share snapshots), else it holds a private one.

    Rows are kept encoded, as a database keeps them, and verified on every read. Also
    ``InMemorySnapshotStore`` (eventsource-py 0.5.0's name), with its ``clear()`` and
    ``snapshot_count``.
    """

    def __init__(
        self,
        source: MemoryEventStore | MemoryState | None = None,
        *,
        tracer: object = None,  # eventsource-py 0.5.0's tracing arguments: accepted, unused
        enable_tracing: bool = True,
    ) -> None:
        if isinstance(source, MemoryEventStore):
            self.state = source.state
        else:
            self.state = source if source is not None else MemoryState()

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        record = encode_snapshot(snapshot)
        key = (record.aggregate_id, record.aggregate_type)
        with self.state.lock:
            if key in self.state.deleted:
                return  # a snapshot of a deleted stream goes with it, even one racing the delete
            if newer_snapshot_wins(self.state.snapshots.get(key), record):
                self.state.snapshots[key] = record

    async def get_snapshot(self, aggregate_id: UUID, aggregate_type: str) -> Snapshot | None:
        key = check_snapshot_key(aggregate_id, aggregate_type)
        with self.state.lock:
            record = self.state.snapshots.get(key)
        if record is None:
            return None
        return decode_snapshot(
            record.aggregate_id,
            record.aggregate_type,
            record.version,
            record.schema_version,
            record.state,
            record.event_id,
            record.created_at,
            record.checksum,
        )

    async def delete_snapshot(self, aggregate_id: UUID, aggregate_type: str) -> bool:
        key = check_snapshot_key(aggregate_id, aggregate_type)
        with self.state.lock:
            return self.state.snapshots.pop(key, None) is not None

    async def snapshot_exists(self, aggregate_id: UUID, aggregate_type: str) -> bool:
        key = check_snapshot_key(aggregate_id, aggregate_type)
        with self.state.lock:
            return key in self.state.snapshots

    async def delete_snapshots_by_type(
        self, aggregate_type: str, schema_version_below: int | None = None
    ) -> int:
        check_identifier(aggregate_type, "aggregate_type")
        below = check_schema_version_below(schema_version_below)
        with self.state.lock:
            doomed = [
                key
                for key, record in self.state.snapshots.items()
                if key[1] == aggregate_type and (below is None or record.schema_version < below)
            ]
            for key in doomed:
                del self.state.snapshots[key]
        return len(doomed)

    async def clear(self) -> None:
        """Delete every snapshot (eventsource-py 0.5.0's test helper)."""
        with self.state.lock:
            self.state.snapshots.clear()

    @property
    def snapshot_count(self) -> int:
        """How many snapshots are stored."""
        with self.state.lock:
            return len(self.state.snapshots)
