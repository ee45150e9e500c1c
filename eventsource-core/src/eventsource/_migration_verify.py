"""A migration's verification: counts and a checksum over the ordered events of each side.

Each event is folded into a SHA-256 as one canonical JSON line: its id, stream id, stream
version, type, event (schema) version, tenant id, whether it is a soft-deleted row, and its
payload parsed and written back with
sorted keys and no spaces (so two stores that keep the same document as different text agree).
Global positions are left out, so a copy through ``append_events`` (which numbers anew) is
verified too. Both sides are read the same way: stored rows when both have the
``bulk_transfer`` capability (soft-deleted rows included), otherwise ``read_all``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from .events import serialize_event
from .stores._contract import EventStore
from .stores._transfer import EventTransfer, RawEvent
from .stores._types import StoredEvent

__all__ = ["Verification", "digest_store", "verify_copy"]

_PAGE = 5000


@dataclass(frozen=True, slots=True)
class Verification:
    """Both sides' event counts and checksums; ``ok`` when they are equal."""

    source_count: int
    target_count: int
    source_checksum: str
    target_checksum: str

    @property
    def ok(self) -> bool:
        """True when the counts and the checksums match."""
        return (self.source_count, self.source_checksum) == (
            self.target_count,
            self.target_checksum,
        )

    def to_dict(self) -> dict[str, Any]:
        """The verification as a plain dict (for JSON output)."""
        return {
            "ok": self.ok,
            "source_count": self.source_count,
            "target_count": self.target_count,
            "source_checksum": self.source_checksum,
            "target_checksum": self.target_checksum,
        }


class _Digest:
    def __init__(self) -> None:
        self.count = 0
        self._hash = hashlib.sha256()

    def add(self, *fields: Any) -> None:
        line = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        self._hash.update(line.encode("utf-8", "surrogatepass"))
        self._hash.update(b"\n")
        self.count += 1

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def _document(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return {"$unparsed": text}  # an undecodable row still counts, by its text


def _add_raw(digest: _Digest, row: RawEvent) -> None:
    digest.add(
        str(row.event_id),
        row.stream_id,
        row.aggregate_version,
        row.event_type,
        row.event_version,
        None if row.tenant_id is None else str(row.tenant_id),
        row.deleted,
        _document(row.payload),
    )


def _add_stored(digest: _Digest, stored: StoredEvent) -> None:
    digest.add(
        str(stored.event_id),
        stored.stream_id,
        stored.stream_position,
        stored.event_type,
        stored.event.event_version,
        None if stored.event.tenant_id is None else str(stored.event.tenant_id),
        False,
        _document(serialize_event(stored.event)),
    )


async def digest_store(store: EventStore, *, rows: bool) -> tuple[int, str]:
    """The count and checksum of ``store``'s events: its stored rows (``rows``; the store
    must be an :class:`EventTransfer`) or what ``read_all`` yields."""
    digest = _Digest()
    if rows:
        assert isinstance(store, EventTransfer)
        position = 0
        while page := await store.export_rows(position, _PAGE):
            for row in page:
                _add_raw(digest, row)
            position = page[-1].global_position
    else:
        async for stored in store.read_all():
            _add_stored(digest, stored)
    return digest.count, digest.hexdigest()


async def verify_copy(source: EventStore, target: EventStore) -> Verification:
    """Count and checksum both sides the same way (see the module docs)."""
    rows = isinstance(source, EventTransfer) and isinstance(target, EventTransfer)
    source_count, source_sum = await digest_store(source, rows=rows)
    target_count, target_sum = await digest_store(target, rows=rows)
    return Verification(source_count, target_count, source_sum, target_sum)
