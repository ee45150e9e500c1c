"""The backend side of converting an eventsource-py 0.5.0 database: the converter contract.

A backend that can convert 0.5.0's tables gives its :class:`~eventsource.spi.EventStoreSpec` a
``legacy_converter`` (a factory over the unconnected store). Core drives the conversion
(:func:`eventsource.legacy.upgrade`): batches, progress, verification; the backend only moves
rows. Each method is one transaction, so an interrupted conversion resumes where it stopped.
"""

from __future__ import annotations

import abc
import enum
import hashlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from .._exceptions import LegacySchemaError

__all__ = [
    "LEGACY_TABLES",
    "LEGACY_VERSION",
    "EventDigest",
    "LegacyConverter",
    "LegacyState",
    "LegacyStoredEvent",
    "legacy_error_type",
    "legacy_outbox_id",
    "legacy_schema_error",
    "unwrap_outbox_data",
    "upgrade_command",
]

#: The release whose schema is converted.
LEGACY_VERSION = "eventsource-py 0.5.0"

#: What is copied, in this order (0.5.0's snapshots are a cache and are not copied).
LEGACY_TABLES = ("events", "checkpoints", "outbox", "dlq")

_OUTBOX_NAMESPACE = uuid.UUID("4f1d2c1e-5b0a-4c8e-9a55-0e5e1e9a0500")
_ERROR_LINE = re.compile(r"^([A-Za-z_][\w.]*)(?::|$)")


class LegacyState(enum.Enum):
    """What a database holds, as far as the conversion is concerned."""

    #: no tables of either release
    EMPTY = "empty"
    #: 0.5.0's tables, untouched
    LEGACY = "legacy"
    #: a conversion started (0.5.0's tables renamed, ours being filled) and not finished
    CONVERTING = "converting"
    #: our schema, nothing of 0.5.0 left to convert
    CURRENT = "current"


@dataclass(frozen=True, slots=True)
class LegacyStoredEvent:
    """One stored event as both sides of the verification see it."""

    global_position: int
    event_id: str
    aggregate_id: str
    aggregate_type: str
    version: int
    event_type: str
    payload: Any  # the JSON text or the decoded document


class EventDigest:
    """A running count and SHA-256 over events in global order.

    Both sides are digested the same way: ids as lowercase UUID text and the payload as its
    canonical JSON with ``aggregate_version`` set to the stored version (``restamp``, for
    0.5.0's rows, whose payload kept the version the event was built with).
    """

    def __init__(self, *, restamp: bool) -> None:
        self.count = 0
        self.restamp = restamp
        self._hash = hashlib.sha256()

    def add(self, event: LegacyStoredEvent) -> None:
        """Fold one event (the next in global order) into the digest."""
        document = (
            json.loads(event.payload)
            if isinstance(event.payload, str | bytes)
            else dict(event.payload)
        )
        if self.restamp:
            document["aggregate_version"] = event.version
        line = json.dumps(
            [
                event.global_position,
                str(uuid.UUID(str(event.event_id))),
                str(uuid.UUID(str(event.aggregate_id))),
                event.aggregate_type,
                event.version,
                event.event_type,
                document,
            ],
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        self._hash.update(line.encode())
        self._hash.update(b"\n")
        self.count += 1

    def hexdigest(self) -> str:
        """The SHA-256 so far, as hex."""
        return self._hash.hexdigest()


class LegacyConverter(abc.ABC):
    """Converts one backend's 0.5.0 database in place; built over an unconnected store.

    The states move ``LEGACY`` -> (:meth:`prepare`) ``CONVERTING`` -> (:meth:`finish`)
    ``CURRENT``. While ``CONVERTING``, the store refuses to open with a
    :class:`LegacySchemaError` (so no application writes into a half-copied store), and
    :meth:`copy_batch` copies the next rows of one table in one transaction, finding where it
    stopped from what it already copied: a rerun after an interruption never copies a row
    twice.
    """

    #: The file or schema, for messages.
    location: str = ""

    @abc.abstractmethod
    async def connect(self) -> None:
        """Connect without creating or checking any schema."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the connection; idempotent."""

    @abc.abstractmethod
    async def state(self) -> LegacyState:
        """What the database holds now (only reads)."""

    @abc.abstractmethod
    async def prepare(self) -> None:
        """``LEGACY`` -> ``CONVERTING`` in one transaction: move 0.5.0's tables aside, create
        this release's empty schema and mark the conversion as started."""

    @abc.abstractmethod
    async def restart(self) -> None:
        """``CONVERTING``: delete every row copied so far (0.5.0's tables stay as they are)."""

    @abc.abstractmethod
    async def copy_batch(self, table: str, limit: int) -> int:
        """Copy the next (at most ``limit``) rows of ``table`` (one of :data:`LEGACY_TABLES`)
        in one transaction; returns how many were copied (0 once the table is done)."""

    @abc.abstractmethod
    async def counts(self, table: str) -> tuple[int, int]:
        """Rows of ``table`` in 0.5.0's copy and in ours: ``(legacy, converted)``."""

    @abc.abstractmethod
    def legacy_events(self, batch: int) -> AsyncIterator[LegacyStoredEvent]:
        """0.5.0's events in global order, ``batch`` rows per query."""

    @abc.abstractmethod
    def converted_events(self, batch: int) -> AsyncIterator[LegacyStoredEvent]:
        """The converted events in global order, ``batch`` rows per query."""

    @abc.abstractmethod
    async def finish(self, *, keep_legacy: bool) -> None:
        """``CONVERTING`` -> ``CURRENT`` in one transaction: drop 0.5.0's tables (or keep them
        under their ``legacy050_`` names) and the conversion's mark."""


def upgrade_command(url: str) -> str:
    """The command line that converts the database at ``url``."""
    return f"eventsource upgrade {url}"


def legacy_schema_error(location: str, url: str, *, converting: bool) -> LegacySchemaError:
    """The error a store raises on opening a 0.5.0 database (or an unfinished conversion)."""
    command = upgrade_command(url)
    if converting:
        what = (
            f"{location} is being converted from {LEGACY_VERSION} and the conversion has not "
            "finished (or was interrupted)"
        )
        fix = f"run '{command}' to resume it"
    else:
        what = f"{location} was written by {LEGACY_VERSION}, whose schema this release cannot use"
        fix = f"convert it in place with '{command}' (stop its writers first)"
    return LegacySchemaError(
        f"{what}; nothing was changed: {fix}", location=location, command=command
    )


def legacy_error_type(stacktrace: str | None, message: str) -> str:
    """The exception class name of a 0.5.0 DLQ entry (which stored none): the last line of its
    traceback that names one, else ``"Exception"``."""
    for line in reversed((stacktrace or "").strip().splitlines()):
        match = _ERROR_LINE.match(line.strip())
        if match and not line.startswith(" "):
            return match.group(1).rsplit(".", 1)[-1]
    return "Exception"


def legacy_outbox_id(legacy_id: Any) -> str:
    """Our outbox id (a UUID) for a 0.5.0 entry: its own id when it is a UUID, else one
    derived from it (0.5.0's SQLite schema gave entries integers), the same on every run."""
    try:
        return str(uuid.UUID(str(legacy_id)))
    except ValueError:
        return str(uuid.uuid5(_OUTBOX_NAMESPACE, f"outbox:{legacy_id}"))


def unwrap_outbox_data(data: Any) -> str:
    """Our outbox ``event_data`` (the event document, as JSON text) from 0.5.0's envelope
    ``{"event_id", ..., "payload": {...}}``; any other document is kept as it is."""
    document = json.loads(data) if isinstance(data, str | bytes) else data
    if isinstance(document, dict) and isinstance(document.get("payload"), dict):
        document = document["payload"]
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))
