"""Event classes private to the runtime tests (their event types start with ``rttest.``)."""

from __future__ import annotations

from uuid import UUID, uuid4

from eventsource import DomainEvent, EventStore


class RtItemAdded(DomainEvent):
    """An item was added to a cart."""

    event_type: str = "rttest.ItemAdded"
    n: int


class RtNoteWritten(DomainEvent):
    """A note that the item projections do not care about."""

    event_type: str = "rttest.NoteWritten"
    text: str = ""


async def append_items(
    store: EventStore,
    count: int,
    *,
    start: int = 0,
    per_batch: int = 100,
    aggregate: UUID | None = None,
) -> list[int]:
    """Append ``count`` RtItemAdded events (n = start, start+1, ...), in batches of
    ``per_batch`` to fresh aggregates; returns the ``n`` values written."""
    written: list[int] = []
    n = start
    while len(written) < count:
        size = min(per_batch, count - len(written))
        agg = aggregate or uuid4()
        events = [RtItemAdded(aggregate_id=agg, n=n + i) for i in range(size)]
        await store.append_events(agg, "rttest.Cart", events, expected_version=-1)
        written.extend(range(n, n + size))
        n += size
    return written
