"""Deliberately broken snapshot stores: memory subclasses, each breaking one guarantee, as toy
backends (see ``broken_toys``)."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

from broken_toys import toy_spec

from eventsource.memory import MemorySnapshotStore
from eventsource.plugins import Backend, parse_url
from eventsource.snapshots import Snapshot
from eventsource.spi import BackendSpec, check_snapshot_key, encode_snapshot, newer_snapshot_wins


class LastWriteWinsSnapshots(MemorySnapshotStore):
    """Upserts without the version condition: an older snapshot replaces a newer one."""

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        record = encode_snapshot(snapshot)
        self.state.snapshots[(record.aggregate_id, record.aggregate_type)] = record


class ReadThenWriteSnapshots(MemorySnapshotStore):
    """Checks the stored version, yields (a round trip), then writes: racing writers can
    move the snapshot backwards."""

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        record = encode_snapshot(snapshot)
        key = (record.aggregate_id, record.aggregate_type)
        wins = newer_snapshot_wins(self.state.snapshots.get(key), record)
        await asyncio.sleep(0.001 * (record.version % 3))
        if wins:
            self.state.snapshots[key] = record


class StaleVersionSnapshots(MemorySnapshotStore):
    """Reads a snapshot back one version lower than it was saved at (state unchanged)."""

    async def get_snapshot(self, aggregate_id: UUID, aggregate_type: str) -> Snapshot | None:
        check_snapshot_key(aggregate_id, aggregate_type)
        found = await super().get_snapshot(aggregate_id, aggregate_type)
        if found is None or found.version < 2:
            return found
        return Snapshot(
            found.aggregate_id,
            found.aggregate_type,
            found.version - 1,
            found.state,
            found.schema_version,
            found.created_at,
            found.event_id,
        )


TOYS: dict[str, BackendSpec] = {
    "sound": toy_spec(),
    "last_write_wins": toy_spec(snapshots=LastWriteWinsSnapshots),
    "read_then_write": toy_spec(snapshots=ReadThenWriteSnapshots),
    "stale_version": toy_spec(snapshots=StaleVersionSnapshots),
}


def snapshot_toy_opener(kind: str) -> object:
    """An opener for the snapshot toy ``kind`` on a fresh shared database."""
    spec = TOYS[kind]
    url = parse_url(f"toy://kit-{uuid4().hex}")
    return lambda: Backend(spec, url)
