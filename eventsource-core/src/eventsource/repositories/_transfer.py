"""Bulk transfer of the repositories' rows (part of the capability ``bulk_transfer``).

A migration copies each checkpoint as it is, row for row (position, processed count, update
time), so a rerun changes nothing: :meth:`CheckpointTransfer.import_checkpoints` replaces the
target's row of each projection with the given one, unless the target's is further along (its
projection ran on since): a checkpoint never moves backwards. Exporting is
:meth:`CheckpointRepository.get_all_checkpoints`.

Outbox and DLQ entries are exported whole (every status) and imported only where the target
has no such entry yet (an outbox entry by id; a DLQ entry by event and projection, keeping its
id when that is free): a rerun writes nothing, and an entry the target's relay has published
since is never put back to pending. Outbox claims are not copied (a claim belongs to a worker
of the source); neither is a retry's wait (the entry is due at once in the target).

Snapshots are exported whole (:meth:`SnapshotTransfer.export_snapshots`, rows that no longer
decode left out: a snapshot is a cache) and imported through the contract's own
``save_snapshot``, which never moves a snapshot backwards and keeps none of a deleted stream.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import TypeVar
from uuid import UUID

from .._exceptions import InvalidArgumentError
from ..arguments import check_moment, check_position
from ..snapshots._contract import Snapshot
from ..values import check_identifier
from ._entries import CheckpointData, DLQEntry, OutboxEntry

EntryT = TypeVar("EntryT", OutboxEntry, DLQEntry)

__all__ = [
    "CheckpointTransfer",
    "DLQTransfer",
    "OutboxTransfer",
    "SnapshotTransfer",
    "check_import_checkpoints",
    "check_import_entries",
]


class CheckpointTransfer(abc.ABC):
    """What a checkpoint repository adds for bulk copies."""

    @abc.abstractmethod
    async def import_checkpoints(self, rows: Sequence[CheckpointData]) -> int:
        """Insert or replace each projection's checkpoint with ``rows`` (checked by
        :func:`check_import_checkpoints`), as given, in one transaction, except where the
        stored checkpoint is further along (a checkpoint never moves backwards); returns how
        many rows were given."""


class OutboxTransfer(abc.ABC):
    """What an outbox repository adds for bulk copies."""

    @abc.abstractmethod
    async def export_outbox(self) -> list[OutboxEntry]:
        """Every entry, of every status, oldest first."""

    @abc.abstractmethod
    async def import_outbox(self, entries: Sequence[OutboxEntry]) -> int:
        """Add the entries the repository does not hold (by id), in order, unclaimed, in
        one transaction; returns how many were added."""


class DLQTransfer(abc.ABC):
    """What a DLQ repository adds for bulk copies."""

    @abc.abstractmethod
    async def export_dlq(self) -> list[DLQEntry]:
        """Every entry, of every status, by id."""

    @abc.abstractmethod
    async def import_dlq(self, entries: Sequence[DLQEntry]) -> int:
        """Add the entries the repository does not hold (by event and projection), with
        their ids where those are free, in one transaction; returns how many were added."""


class SnapshotTransfer(abc.ABC):
    """What a snapshot store adds for bulk copies (imports go through ``save_snapshot``)."""

    @abc.abstractmethod
    async def export_snapshots(self) -> list[Snapshot]:
        """Every snapshot that decodes, by aggregate type and id."""


def check_import_entries(entries: Sequence[EntryT], kind: type[EntryT]) -> list[EntryT]:
    """The door of :meth:`OutboxTransfer.import_outbox` / :meth:`DLQTransfer.import_dlq`: a
    list of ``kind``; :class:`InvalidArgumentError` otherwise."""
    if isinstance(entries, (str, bytes)) or not isinstance(entries, Sequence):
        raise InvalidArgumentError(f"entries must be a list of {kind.__name__}")
    for entry in entries:
        if not isinstance(entry, kind):
            raise InvalidArgumentError(f"expected a {kind.__name__}, got {type(entry).__name__}")
        check_identifier(entry.event_type, "event_type", InvalidArgumentError)
        if not isinstance(entry.event_data, dict):
            raise InvalidArgumentError(f"{kind.__name__}.event_data must be a dict")
    return list(entries)


def check_import_checkpoints(rows: Sequence[CheckpointData]) -> list[CheckpointData]:
    """The door of :meth:`CheckpointTransfer.import_checkpoints`; :class:`InvalidArgumentError`
    for anything but a list of valid :class:`CheckpointData`."""
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence):
        raise InvalidArgumentError("rows must be a list of CheckpointData")
    checked: list[CheckpointData] = []
    for row in rows:
        if not isinstance(row, CheckpointData):
            raise InvalidArgumentError(f"expected a CheckpointData, got {type(row).__name__}")
        check_identifier(row.projection_name, "projection_name", InvalidArgumentError)
        if row.last_event_id is not None and not isinstance(row.last_event_id, UUID):
            raise InvalidArgumentError("CheckpointData.last_event_id must be a UUID or None")
        if row.last_event_type is not None:
            check_identifier(row.last_event_type, "last_event_type", InvalidArgumentError)
        if row.global_position is not None:
            check_position(row.global_position, "global_position", InvalidArgumentError)
        check_position(row.events_processed, "events_processed", InvalidArgumentError)
        check_moment(row.updated_at, "updated_at", InvalidArgumentError)
        checked.append(row)
    return checked
