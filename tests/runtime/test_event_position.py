"""``EventStore.get_event_position``: an event id's global position, on every backend, and
the default (a lazy read of the log) for a store that does not override it."""

from __future__ import annotations

from uuid import uuid4

import pytest

from eventsource import Backend, DomainEvent
from eventsource.exceptions import InvalidArgumentError
from eventsource.stores._contract import EventStore


class PosPlaced(DomainEvent):
    event_type: str = "PosPlaced"
    aggregate_type: str = "PosOrder"


async def test_an_event_id_gives_its_global_position(backend: Backend) -> None:
    store = backend.events
    first, second = uuid4(), uuid4()
    placed = [PosPlaced(aggregate_id=a) for a in (first, second)]
    await store.append_events(first, "PosOrder", [placed[0]], 0)
    await store.append_events(second, "PosOrder", [placed[1]], 0)
    positions = {s.event_id: s.global_position async for s in store.read_all()}
    for event in placed:
        assert await store.get_event_position(event.event_id) == positions[event.event_id]
    assert await store.get_event_position(uuid4()) is None
    # the contract's default, on the same store, agrees
    assert (
        await EventStore.get_event_position(store, placed[1].event_id)
        == positions[placed[1].event_id]
    )
    assert await EventStore.get_event_position(store, uuid4()) is None
    with pytest.raises(InvalidArgumentError):
        await store.get_event_position("not a uuid")  # type: ignore[arg-type]
