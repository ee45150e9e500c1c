"""Bulk transfer of stored rows: the optional capability ``bulk_transfer`` of an event store.

``eventsource migrate`` copies a store through it when both sides have it: rows go as stored
(the JSON text untouched, nothing decoded), at their global positions, versions and times,
soft-deleted rows and deleted-stream marks included, so a truncated or deleted stream copies
exactly. A backend without it is copied through ``read_all`` and ``append_events``.

The rules a backend keeps (the conformance kit's ``BulkTransferConformance`` checks them):

- :meth:`EventTransfer.export_rows` yields rows of both the live log and the soft-deleted
  side table, merged in global position order, after a position, up to a limit.
- :meth:`EventTransfer.import_rows` writes a batch atomically at the rows' own positions; it
  refuses (nothing written) bad rows (:func:`check_import_rows`: :class:`InvalidEventError`)
  and rows that collide with what the store holds: at or below
  :meth:`EventTransfer.transfer_position`, a stored event id or stream version
  (:class:`ImportConflictError`: something else wrote to the store). It is serialised with
  appends (the append lock, the one writer), so the global order stays gap-safe: every
  imported position is above every position committed before.
- :meth:`EventTransfer.import_marks` upserts deleted-stream marks; importing them twice
  changes nothing.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from .._exceptions import (
    ImportConflictError,
    InvalidArgumentError,
    InvalidEventError,
    SerializationError,
)
from ..arguments import check_moment, check_position
from ..values import _SURROGATE, MAX_VERSION, check_identifier, check_json_text

_decode = json.JSONDecoder().decode
#: Type names checked already (they repeat in every batch).
_KNOWN_NAMES: set[str] = set()

__all__ = [
    "EventTransfer",
    "RawEvent",
    "StreamMark",
    "check_export_args",
    "check_import_marks",
    "check_import_rows",
]


@dataclass(frozen=True, slots=True)
class RawEvent:
    """A stored event row as it is kept: its columns and its JSON text, undecoded.

    ``deleted``: the row belongs to a soft-deleted stream (kept aside for a restore)."""

    global_position: int
    event_id: UUID
    aggregate_id: UUID
    aggregate_type: str
    aggregate_version: int
    event_type: str
    event_version: int
    tenant_id: UUID | None
    occurred_at: datetime
    stored_at: datetime
    payload: str
    deleted: bool = False

    @property
    def stream_id(self) -> str:
        """The row's stream id (``"<aggregate_id>:<aggregate_type>"``)."""
        return f"{self.aggregate_id}:{self.aggregate_type}"


@dataclass(frozen=True, slots=True)
class StreamMark:
    """A deleted stream's mark: soft (its rows kept aside) or hard, its last version, when."""

    aggregate_id: UUID
    aggregate_type: str
    hard: bool
    last_version: int
    deleted_at: datetime


class EventTransfer(abc.ABC):
    """What an event store adds for bulk copies (capability ``bulk_transfer``); see the
    module docs for the rules."""

    @abc.abstractmethod
    async def transfer_position(self) -> int:
        """The highest global position held, soft-deleted rows included (0: none)."""

    @abc.abstractmethod
    async def count_rows(self, after_position: int = 0) -> int:
        """How many rows (live and soft-deleted) have a position above ``after_position``."""

    @abc.abstractmethod
    async def export_rows(self, after_position: int, limit: int) -> list[RawEvent]:
        """Up to ``limit`` rows (live and soft-deleted) after ``after_position``, in global
        order; call :func:`check_export_args` first."""

    @abc.abstractmethod
    async def export_marks(self) -> list[StreamMark]:
        """Every deleted-stream mark."""

    @abc.abstractmethod
    async def import_rows(self, rows: Sequence[RawEvent]) -> int:
        """Write ``rows`` (checked by :func:`check_import_rows`) at their positions in one
        transaction; returns how many. Soft-deleted rows go to the side table."""

    @abc.abstractmethod
    async def import_marks(self, marks: Sequence[StreamMark]) -> int:
        """Insert or replace each mark (checked by :func:`check_import_marks`); returns how
        many."""


def check_export_args(after_position: int, limit: int) -> tuple[int, int]:
    """The door of :meth:`EventTransfer.export_rows`: a position and a limit >= 1."""
    after = check_position(after_position, "after_position", InvalidArgumentError)
    count = check_position(limit, "limit", InvalidArgumentError)
    if count < 1:
        raise InvalidArgumentError(f"limit must be >= 1, not {count}")
    return after, count


def _check_version(value: object, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_VERSION:
        raise InvalidEventError(f"RawEvent.{what} must be an int from 1 to {MAX_VERSION}")


def _check_moment(value: object, what: str) -> None:
    if type(value) is not datetime or value.tzinfo is not UTC:  # the fast path: UTC already
        check_moment(value, what, InvalidEventError)


def _check_row(row: object, max_bytes: int, parse: bool = True) -> RawEvent:
    if type(row) is not RawEvent and not isinstance(row, RawEvent):
        raise InvalidEventError(f"expected a RawEvent, got {type(row).__name__}")
    if not (isinstance(row.event_id, UUID) and isinstance(row.aggregate_id, UUID)):
        raise InvalidEventError("RawEvent.event_id and aggregate_id must be UUIDs")
    if row.tenant_id is not None and not isinstance(row.tenant_id, UUID):
        raise InvalidEventError("RawEvent.tenant_id must be a UUID or None")
    if row.aggregate_type not in _KNOWN_NAMES or row.event_type not in _KNOWN_NAMES:
        check_identifier(row.aggregate_type, "aggregate_type", InvalidEventError)
        check_identifier(row.event_type, "event_type", InvalidEventError)
        if len(_KNOWN_NAMES) < 4096:
            _KNOWN_NAMES.update((row.aggregate_type, row.event_type))
    version, kind_version = row.aggregate_version, row.event_version
    if type(version) is not int or type(kind_version) is not int:
        _check_version(version, "aggregate_version")
        _check_version(kind_version, "event_version")
    if not (0 < version <= MAX_VERSION and 0 < kind_version <= MAX_VERSION):
        _check_version(version, "aggregate_version")
        _check_version(kind_version, "event_version")
    _check_moment(row.occurred_at, "occurred_at")
    _check_moment(row.stored_at, "stored_at")
    payload = row.payload
    if type(payload) is not str:
        raise InvalidEventError("RawEvent.payload must be the JSON text, a str")
    if len(payload) * 4 > max_bytes and len(payload.encode()) > max_bytes:
        raise InvalidEventError(
            f"event {row.event_id} payload is over the store's max_event_bytes ({max_bytes})"
        )
    # What every backend can hold and parse: no lone surrogate, non-finite float or over-long
    # integer (one backend's column or driver would refuse what another keeps). Nesting past
    # append_events' limit is copied as stored: rows the source holds go across exactly.
    if _SURROGATE.search(payload):
        raise InvalidEventError(f"event {row.event_id} payload holds a lone surrogate")
    try:
        check_json_text(payload, lambda: f"event {row.event_id} payload", check_depth=False)
    except SerializationError as exc:
        raise InvalidEventError(str(exc)) from None
    if parse:
        try:
            document = _decode(payload)
        except (ValueError, RecursionError):
            document = None
        if type(document) is not dict:
            raise InvalidEventError(f"event {row.event_id} payload is not a JSON object")
    elif not payload.lstrip(" \t\n\r").startswith("{"):
        raise InvalidEventError(f"event {row.event_id} payload is not a JSON object")
    if ("\\ud" in payload or "\\uD" in payload) and _escaped_surrogate(payload):
        raise InvalidEventError(f"event {row.event_id} payload holds a lone surrogate")
    return row


def _escaped_surrogate(payload: str) -> bool:
    """Whether ``payload`` escapes a lone surrogate (``"\\ud800"``), which the readers'
    parser refuses (an escaped pair, one astral character, is fine)."""
    try:
        document = _decode(payload)
    except (ValueError, RecursionError):
        return False  # not JSON: refused as such (or by the store's json column)
    return _SURROGATE.search(json.dumps(document, ensure_ascii=False)) is not None


def check_import_rows(
    rows: Sequence[RawEvent], held: int, max_bytes: int, *, parse: bool = True
) -> list[RawEvent]:
    """The door of :meth:`EventTransfer.import_rows`: a list of :class:`RawEvent`, positions
    strictly increasing and all above ``held`` (the store's :meth:`transfer_position`), no
    event id twice, valid columns, each payload a JSON object. Raises
    :class:`InvalidEventError` before any write (:class:`ImportConflictError` for a first
    position at or below a ``held`` above 0: the store's rows, not these, are in the way).

    ``parse=False`` is for a store whose column refuses text that is not JSON by itself
    (PostgreSQL's ``json``; the store turns that refusal into :class:`InvalidEventError`):
    the payload is then only checked to open an object (``{``), not parsed here."""
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence):
        raise InvalidEventError("rows must be a list of RawEvent")
    checked: list[RawEvent] = []
    last = held
    seen: set[int] = set()
    versions: set[tuple[object, str, int]] = set()
    for row in rows:
        row = _check_row(row, max_bytes, parse)
        position = check_position(row.global_position, "global_position", InvalidEventError)
        if position <= last:
            kind = ImportConflictError if last == held and held > 0 else InvalidEventError
            raise kind(
                f"row at position {position} is not above {last}: rows go in increasing "
                f"order, above every position the store holds ({held})"
            )
        key = row.event_id.int
        if key in seen:
            raise InvalidEventError(f"event id {row.event_id} is twice in the batch")
        seen.add(key)
        if not row.deleted:
            version = (row.aggregate_id, row.aggregate_type, row.aggregate_version)
            if version in versions:
                raise InvalidEventError(
                    f"stream {row.aggregate_type} {row.aggregate_id} has version "
                    f"{row.aggregate_version} twice in the batch"
                )
            versions.add(version)
        last = position
        checked.append(row)
    return checked


def check_import_marks(marks: Sequence[StreamMark]) -> list[StreamMark]:
    """The door of :meth:`EventTransfer.import_marks`: a list of valid :class:`StreamMark`."""
    if isinstance(marks, (str, bytes)) or not isinstance(marks, Sequence):
        raise InvalidEventError("marks must be a list of StreamMark")
    checked: list[StreamMark] = []
    for mark in marks:
        if not isinstance(mark, StreamMark) or not isinstance(mark.aggregate_id, UUID):
            raise InvalidEventError(f"expected a StreamMark, got {type(mark).__name__}")
        check_identifier(mark.aggregate_type, "aggregate_type", InvalidEventError)
        if not isinstance(mark.hard, bool):
            raise InvalidEventError("StreamMark.hard must be a bool")
        version = mark.last_version
        if isinstance(version, bool) or not isinstance(version, int) or version < 0:
            raise InvalidEventError("StreamMark.last_version must be an int >= 0")
        check_moment(mark.deleted_at, "deleted_at", InvalidEventError)
        checked.append(mark)
    return checked
