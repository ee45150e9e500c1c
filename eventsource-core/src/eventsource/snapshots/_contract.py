"""The snapshot store contract, the :class:`Snapshot` record and the row codec backends share.

Guarantees (checked by :class:`eventsource.testing.SnapshotStoreConformance`):

- **One snapshot per aggregate, never older.** ``save_snapshot`` upserts the snapshot of
  ``(aggregate_id, aggregate_type)``; a snapshot of the same state schema version with a lower
  version than the stored one changes nothing, even when writers race (atomically, in one
  statement or transaction); one of another schema version replaces it.
- **What was saved is what is read.** ``get_snapshot`` returns the stored snapshot with equal
  fields, or None; a row that does not decode, or whose checksum does not match its columns
  (a row changed around the library), raises :class:`SnapshotDeserializationError`, never a
  snapshot with other contents.
- **Bad input changes nothing.** A snapshot of the wrong types, a version outside 1..2**31-1,
  a state outside the portable value domain raise :class:`InvalidArgumentError` /
  :class:`SerializationError` before any I/O (:func:`encode_snapshot`, in every backend).

Backends store the columns of :class:`SnapshotRecord` as they are (the state as the JSON text
core produced, never re-encoded) and rebuild a snapshot with :func:`decode_snapshot`.
"""

from __future__ import annotations

import abc
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from .._exceptions import (
    InvalidArgumentError,
    SnapshotDeserializationError,
    SnapshotError,
)
from ..arguments import check_moment, check_uuid
from ..values import check_identifier, check_version, encode_json

__all__ = [
    "Snapshot",
    "SnapshotRecord",
    "SnapshotStore",
    "check_schema_version_below",
    "check_snapshot_key",
    "decode_snapshot",
    "encode_snapshot",
    "newer_snapshot_wins",
]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Snapshot:
    """An aggregate's state at ``version``: where ``load`` starts instead of event 1.

    ``schema_version`` is the aggregate class's state schema version when it was taken
    (``AggregateRoot.schema_version``); a snapshot of another version is never applied.
    ``event_id`` is the id of the event at ``version``, when known: ``load`` applies the
    snapshot only if the stream still holds that event there. The fields of eventsource-py
    0.5.0's ``Snapshot``, in its order, plus ``event_id``.
    """

    aggregate_id: UUID
    aggregate_type: str
    version: int
    state: dict[str, Any]
    schema_version: int = 1
    created_at: datetime = field(default_factory=_now)
    event_id: UUID | None = None


@dataclass(frozen=True, slots=True)
class SnapshotRecord:
    """A snapshot as a backend stores it: plain columns, the state as JSON text, and the
    checksum :func:`decode_snapshot` verifies."""

    aggregate_id: UUID
    aggregate_type: str
    version: int
    schema_version: int
    state: str
    event_id: UUID | None
    created_at: datetime
    checksum: str


def _checksum(
    aggregate_id: UUID | str,
    aggregate_type: str,
    version: int,
    schema_version: int,
    event_id: UUID | str | None,
    state: str,
) -> str:
    text = f"{aggregate_id}\n{aggregate_type}\n{version}\n{schema_version}\n{event_id or ''}\n"
    digest = hashlib.blake2b(text.encode(), digest_size=16)
    digest.update(state.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def check_snapshot_key(aggregate_id: object, aggregate_type: object) -> tuple[UUID, str]:
    """The door of ``get_snapshot``, ``delete_snapshot`` and ``snapshot_exists``."""
    return check_uuid(aggregate_id, "aggregate_id"), check_identifier(
        aggregate_type, "aggregate_type"
    )


def check_schema_version_below(value: object) -> int | None:
    """The ``schema_version_below`` of ``delete_snapshots_by_type``: None or a version."""
    return None if value is None else check_version(value, "schema_version_below")


def encode_snapshot(snapshot: object) -> SnapshotRecord:
    """``snapshot`` checked and turned into the columns a backend stores (before any I/O).

    :class:`InvalidArgumentError` for anything but a :class:`Snapshot` of the right types (a
    version or schema version outside 1..2**31-1, a naive ``created_at``);
    :class:`SerializationError` for a state outside the portable value domain.
    """
    if not isinstance(snapshot, Snapshot):
        raise InvalidArgumentError(f"expected a Snapshot, got {type(snapshot).__name__}")
    aggregate_id, aggregate_type = check_snapshot_key(
        snapshot.aggregate_id, snapshot.aggregate_type
    )
    version = check_version(snapshot.version, "snapshot version")
    schema_version = check_version(snapshot.schema_version, "snapshot schema_version")
    event_id = None if snapshot.event_id is None else check_uuid(snapshot.event_id, "event_id")
    created_at = check_moment(snapshot.created_at, "snapshot created_at")
    if not isinstance(snapshot.state, dict):
        raise InvalidArgumentError(
            f"snapshot state must be a dict, got {type(snapshot.state).__name__}"
        )
    state = encode_json(snapshot.state, f"snapshot state of {aggregate_type} {aggregate_id}")
    checksum = _checksum(aggregate_id, aggregate_type, version, schema_version, event_id, state)
    return SnapshotRecord(
        aggregate_id, aggregate_type, version, schema_version, state, event_id, created_at, checksum
    )


def decode_snapshot(
    aggregate_id: Any,
    aggregate_type: Any,
    version: Any,
    schema_version: Any,
    state: Any,
    event_id: Any,
    created_at: Any,
    checksum: Any,
) -> Snapshot:
    """The :class:`Snapshot` of a stored row's columns (ids as UUIDs or their text).

    Raises :class:`SnapshotDeserializationError` when the row does not decode or does not
    match its checksum: a row changed around the library is never returned.
    """
    try:
        aid = aggregate_id if isinstance(aggregate_id, UUID) else UUID(str(aggregate_id))
        eid = (
            None if event_id is None else event_id if isinstance(event_id, UUID) else UUID(event_id)
        )
        text = state if isinstance(state, str) else bytes(state).decode()
        if not isinstance(checksum, str) or checksum != _checksum(
            aid, aggregate_type, version, schema_version, eid, text
        ):
            raise SnapshotError("its checksum does not match its columns")
        data = json.loads(text)
        if not isinstance(data, dict) or not isinstance(created_at, datetime):
            raise SnapshotError("its state is not a JSON object or it has no creation time")
        return Snapshot(aid, aggregate_type, version, data, schema_version, created_at, eid)
    except (SnapshotError, ValueError, TypeError, RecursionError) as exc:
        raise SnapshotDeserializationError(
            aggregate_id,
            str(aggregate_type),
            exc,
            f"stored snapshot of {aggregate_type} {aggregate_id} is unusable: {exc}",
        ) from exc


def newer_snapshot_wins(stored: SnapshotRecord | None, new: SnapshotRecord) -> bool:
    """Whether ``new`` replaces ``stored``: unless both have one schema version and the stored
    one is the higher version (the rule every backend's upsert applies)."""
    return (
        stored is None
        or stored.schema_version != new.schema_version
        or stored.version <= new.version
    )


class SnapshotStore(abc.ABC):
    """Where aggregate snapshots are kept: one per aggregate, a cache in front of its events.

    The methods and arguments of eventsource-py 0.5.0's ``SnapshotStore``. Every method checks
    its arguments first (:func:`encode_snapshot`, :func:`check_snapshot_key`).
    """

    @abc.abstractmethod
    async def save_snapshot(self, snapshot: Snapshot) -> None:
        """Store ``snapshot``, replacing the aggregate's older one (see the module guarantees)."""

    @abc.abstractmethod
    async def get_snapshot(self, aggregate_id: UUID, aggregate_type: str) -> Snapshot | None:
        """The aggregate's snapshot, or None; :class:`SnapshotDeserializationError` for a
        stored row that does not decode or verify."""

    @abc.abstractmethod
    async def delete_snapshot(self, aggregate_id: UUID, aggregate_type: str) -> bool:
        """Delete the aggregate's snapshot; True when there was one."""

    async def snapshot_exists(self, aggregate_id: UUID, aggregate_type: str) -> bool:
        """True when a snapshot (readable or not) is stored for the aggregate."""
        try:
            return await self.get_snapshot(aggregate_id, aggregate_type) is not None
        except SnapshotDeserializationError:
            return True

    async def delete_snapshots_by_type(
        self, aggregate_type: str, schema_version_below: int | None = None
    ) -> int:
        """Delete every snapshot of ``aggregate_type`` (only those with a schema version below
        ``schema_version_below``, if given); how many were deleted.

        Our backends implement it; the default (for stores written against 0.5.0's three
        abstract methods) raises :class:`SnapshotError`.
        """
        raise SnapshotError(f"{type(self).__name__} does not implement delete_snapshots_by_type")
