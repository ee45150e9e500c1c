"""The event reads behind the stream browser: recent events, one stream, and streams found
by a piece of their id. An undecodable row ends a read: the events before it are shown, with
a note naming the row."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from .._exceptions import EventDecodeError
from ..events import serialize_event
from ..stores._contract import EventStore
from ..stores._types import ReadDirection, ReadOptions, StoredEvent, parse_stream_id

__all__ = [
    "Page",
    "event_document",
    "find_streams",
    "neighbours",
    "recent",
    "stream",
]

#: How many of the newest events a search by part of a stream id looks through.
SEARCH_SCAN = 5000


@dataclass
class Page:
    """Events read, and why the read stopped early (an undecodable row), if it did."""

    events: list[StoredEvent] = field(default_factory=list)
    problem: str | None = None
    #: The global position of the undecodable row the read stopped at, when it names one.
    stopped_at: int | None = None


async def _collect(events: AsyncIterator[StoredEvent], page: Page) -> Page:
    try:
        async for stored in events:
            page.events.append(stored)
    except EventDecodeError as exc:
        where = f"global position {exc.global_position}" if exc.global_position else "a row"
        page.stopped_at = exc.global_position
        page.problem = (
            f"the event at {where} (stream {exc.stream_id}, type {exc.event_type}) cannot "
            f"be decoded: {exc}"
        )
    return page


async def recent(
    store: EventStore, *, before: int | None, limit: int, event_type: str | None
) -> Page:
    """Up to ``limit`` events before global position ``before`` (None: the newest), newest
    first, of ``event_type`` when given."""
    options = ReadOptions(
        ReadDirection.BACKWARD,
        from_position=before,
        limit=limit,
        event_types=(event_type,) if event_type else None,
    )
    return await _collect(store.read_all(options), Page())


async def stream(store: EventStore, stream_id: str, *, after: int, limit: int) -> Page:
    """Up to ``limit`` events of ``stream_id`` (``"<uuid>:<type>"``) after version
    ``after``, oldest first; :class:`InvalidArgumentError` for a malformed id."""
    parse_stream_id(stream_id)
    options = ReadOptions(from_position=after, limit=limit)
    return await _collect(store.read_stream(stream_id, options), Page())


async def find_streams(store: EventStore, text: str, *, limit: int = 100) -> tuple[list[str], int]:
    """Streams whose id contains ``text`` (case-insensitive) among the newest
    :data:`SEARCH_SCAN` events, newest first; and how many events were looked through."""
    needle = text.lower()
    found: dict[str, None] = {}
    page = await recent(store, before=None, limit=SEARCH_SCAN, event_type=None)
    for stored in page.events:
        if needle in stored.stream_id.lower():
            found.setdefault(stored.stream_id)
            if len(found) >= limit:
                break
    return list(found), len(page.events)


def event_document(stored: StoredEvent) -> str:
    """The event's stored JSON document, indented, keys sorted."""
    data: Any = json.loads(serialize_event(stored.event))
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)


async def neighbours(
    store: EventStore, stored: StoredEvent
) -> tuple[StoredEvent | None, StoredEvent | None]:
    """The events before and after ``stored`` in its stream (None at either end, or where a
    row there cannot be decoded)."""
    version = stored.stream_position
    options = ReadOptions(from_position=max(0, version - 2), limit=3)
    page = await _collect(store.read_stream(stored.stream_id, options), Page())
    around = {e.stream_position: e for e in page.events}
    return around.get(version - 1), around.get(version + 1)
