"""Copying what a store holds besides its events: checkpoints, outbox and DLQ entries,
snapshots (``migrate_backend(include=...)``); each copy is idempotent (see
:mod:`eventsource.repositories._transfer`)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ._exceptions import ConfigurationError, EntryNotFoundError
from .plugins._backend import Backend
from .repositories._contracts import CheckpointRepository
from .repositories._transfer import (
    CheckpointTransfer,
    DLQTransfer,
    OutboxTransfer,
    SnapshotTransfer,
)
from .snapshots._contract import SnapshotStore

__all__ = [
    "count_snapshots",
    "migrate_checkpoints",
    "migrate_entries",
    "migrate_snapshots",
    "pending_entries",
]


async def migrate_checkpoints(
    source: CheckpointRepository, target: CheckpointRepository, *, exact: bool = False
) -> int:
    """Copy each projection's checkpoint; returns how many the target now holds as copied.

    ``exact`` (the events were copied at their positions, the bulk path) and a target that is
    a :class:`~eventsource.spi.CheckpointTransfer`: each row is copied as it is (event,
    position, processed count, update time), so a rerun changes nothing. Otherwise the target
    finds the position from the event id through ``update_checkpoint``; a checkpoint the
    target already has at that event is left as it is (a rerun adds nothing to its processed
    count), one further along stays (they never move backwards), and checkpoints without an
    event, or whose event the target does not hold, are skipped.
    """
    rows = await source.get_all_checkpoints()
    if exact and isinstance(target, CheckpointTransfer):
        return await target.import_checkpoints(rows)
    copied = 0
    for data in rows:
        if data.last_event_id is None or data.last_event_type is None:
            continue
        event_id: UUID = data.last_event_id
        if await target.get_checkpoint(data.projection_name) == event_id:
            copied += 1
            continue
        try:
            await target.update_checkpoint(data.projection_name, event_id, data.last_event_type)
        except EntryNotFoundError:
            continue
        copied += 1
    return copied


async def migrate_snapshots(source: SnapshotStore, target: SnapshotStore) -> int:
    """Save every snapshot of ``source`` (a :class:`~eventsource.spi.SnapshotTransfer`) into
    ``target`` with ``save_snapshot``, which keeps a newer one it has and none of a deleted
    stream; returns how many were offered. A source without it is a
    :class:`ConfigurationError`."""
    if not isinstance(source, SnapshotTransfer):
        raise ConfigurationError(
            f"{type(source).__name__} has no bulk transfer (SnapshotTransfer): its snapshots "
            "cannot be copied; migrate without snapshots in include"
        )
    snapshots = await source.export_snapshots()
    for snapshot in snapshots:
        await target.save_snapshot(snapshot)
    return len(snapshots)


def _transfer_of(repository: object, kind: type[OutboxTransfer] | type[DLQTransfer]) -> Any:
    if not isinstance(repository, kind):
        role = "outbox" if kind is OutboxTransfer else "DLQ"
        raise ConfigurationError(
            f"{type(repository).__name__} has no bulk transfer ({kind.__name__}): its "
            f"{role} entries cannot be copied; migrate without it in include"
        )
    return repository


async def migrate_entries(source: object, target: object) -> int:
    """Copy the outbox (two :class:`~eventsource.spi.OutboxTransfer`) or the DLQ (two
    :class:`~eventsource.spi.DLQTransfer`) entries the target does not hold yet, every
    status; returns how many were added (a rerun adds none). Outbox claims are not copied.
    A repository without it is a :class:`ConfigurationError`."""
    kind = OutboxTransfer if isinstance(source, OutboxTransfer) else DLQTransfer
    exporter, importer = _transfer_of(source, kind), _transfer_of(target, kind)
    if kind is OutboxTransfer:
        added: int = await importer.import_outbox(await exporter.export_outbox())
    else:
        added = await importer.import_dlq(await exporter.export_dlq())
    return added


async def pending_entries(source: Backend, target: Backend | None, role: str) -> int:
    """Outbox or DLQ entries of ``source`` that ``target`` does not hold (a dry run)."""
    if role == "outbox":
        ours = _transfer_of(source.outbox, OutboxTransfer)
        theirs = None if target is None else _transfer_of(target.outbox, OutboxTransfer)
        mine = {e.id for e in await ours.export_outbox()}
        held = set() if theirs is None else {e.id for e in await theirs.export_outbox()}
    else:
        ours = _transfer_of(source.dlq, DLQTransfer)
        theirs = None if target is None else _transfer_of(target.dlq, DLQTransfer)
        mine = {(e.event_id, e.projection_name) for e in await ours.export_dlq()}
        held = (
            set()
            if theirs is None
            else {(e.event_id, e.projection_name) for e in await theirs.export_dlq()}
        )
    return len(mine - held)


async def count_snapshots(source: Backend) -> int:
    """How many snapshots a run would offer the target (a dry run)."""
    exporter = source.snapshots
    if not isinstance(exporter, SnapshotTransfer):
        raise ConfigurationError(f"{type(exporter).__name__} has no SnapshotTransfer")
    return len(await exporter.export_snapshots())
