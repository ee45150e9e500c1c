"""Bulk transfer of checkpoints (part of the capability ``bulk_transfer``).

A migration copies each checkpoint as it is, row for row (position, processed count, update
time), so a rerun changes nothing: :meth:`CheckpointTransfer.import_checkpoints` replaces the
target's row of each projection with the given one. Exporting is
:meth:`CheckpointRepository.get_all_checkpoints`.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from uuid import UUID

from .._exceptions import InvalidArgumentError
from ..arguments import check_moment, check_position
from ..values import check_identifier
from ._entries import CheckpointData

__all__ = ["CheckpointTransfer", "check_import_checkpoints"]


class CheckpointTransfer(abc.ABC):
    """What a checkpoint repository adds for bulk copies."""

    @abc.abstractmethod
    async def import_checkpoints(self, rows: Sequence[CheckpointData]) -> int:
        """Insert or replace each projection's checkpoint with ``rows`` (checked by
        :func:`check_import_checkpoints`), as given, in one transaction; returns how many."""


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
