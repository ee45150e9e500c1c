"""prepare_append's one pass: each event checked and encoded once, its version span kept,
and restamp copying nothing when the stamps already hold."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import pytest

from eventsource import DomainEvent, DuplicateEventError, InvalidEventError, SerializationError
from eventsource.events import serialize_event
from eventsource.memory import MemoryEventStore
from eventsource.spi import PreparedEvent, prepare_append, restamp, version_span


class PaItem(DomainEvent):
    """A plain event class: pydantic's own serializer is called directly."""

    sku: str = "SKU-1"
    quantity: int = 1


class PaLoud(DomainEvent):
    """A class that overrides model_dump_json: its own method must still be used."""

    note: str = ""

    def model_dump_json(self, **kwargs: Any) -> str:
        return super().model_dump_json(**kwargs).replace('"note":""', '"note":"loud"')


def _batch(cls: type[DomainEvent], aggregate_id: UUID, n: int, start: int = 1) -> list[Any]:
    return [
        cls(aggregate_id=aggregate_id, aggregate_type="Cart", aggregate_version=start + i)
        for i in range(n)
    ]


@pytest.mark.parametrize("cls", [PaItem, PaLoud])
def test_documents_and_spans_are_those_serialize_event_gives(cls: type[DomainEvent]) -> None:
    store = MemoryEventStore()
    aid = uuid4()
    events = _batch(cls, aid, 3)
    expected, prepared = prepare_append(store, aid, "Cart", events, 0)
    assert expected == 0
    assert [p.event for p in prepared] == events
    for item in prepared:
        assert item.payload == serialize_event(item.event)
        assert item.version_span == version_span(item.payload, item.event.aggregate_version)
        at, length = item.version_span
        assert item.payload[at - 1 : at - 1 + length] == str(item.event.aggregate_version)
    if cls is PaLoud:
        assert all('"note":"loud"' in p.payload for p in prepared)


def test_a_missing_aggregate_type_is_stamped_and_encoded_with_it() -> None:
    aid = uuid4()
    event = PaItem(aggregate_id=aid)  # aggregate_type ""
    _, (item,) = prepare_append(MemoryEventStore(), aid, "Cart", [event], 0)
    assert item.event.aggregate_type == "Cart"
    assert '"aggregate_type":"Cart"' in item.payload


def test_duplicate_ids_in_one_batch_are_refused() -> None:
    aid = uuid4()
    first = PaItem(aggregate_id=aid)
    again = PaItem(aggregate_id=aid, event_id=first.event_id, aggregate_version=2)
    with pytest.raises(DuplicateEventError):
        prepare_append(MemoryEventStore(), aid, "Cart", [first, again], 0)


def test_an_equal_but_distinct_aggregate_id_is_accepted_and_another_refused() -> None:
    aid = uuid4()
    event = PaItem(aggregate_id=UUID(str(aid)))  # equal, not the same object
    assert prepare_append(MemoryEventStore(), aid, "Cart", [event], 0)[1]
    with pytest.raises(InvalidEventError):
        prepare_append(MemoryEventStore(), uuid4(), "Cart", [event], 0)


def test_envelope_types_are_still_checked_on_the_fast_path() -> None:
    aid = uuid4()
    store = MemoryEventStore()
    wrong_id = PaItem.model_construct(
        aggregate_id=aid, aggregate_type="Cart", event_type="PaItem", event_id="not-a-uuid"
    )
    with pytest.raises(InvalidEventError, match="event_id"):
        prepare_append(store, aid, "Cart", [wrong_id], 0)
    naive = PaItem.model_construct(
        aggregate_id=aid, aggregate_type="Cart", event_type="PaItem", occurred_at=datetime.now()
    )
    with pytest.raises(InvalidEventError, match="occurred_at"):
        prepare_append(store, aid, "Cart", [naive], 0)
    # another zone than UTC (model_construct skips the validator): accepted, as before
    zoned = PaItem.model_construct(
        aggregate_id=aid,
        aggregate_type="Cart",
        event_type="PaItem",
        occurred_at=datetime.now(timezone(timedelta(hours=2))),
    )
    assert prepare_append(store, aid, "Cart", [zoned], 0)[1]
    with pytest.raises(SerializationError, match="non-finite"):
        prepare_append(store, aid, "Cart", [PaItem(aggregate_id=aid, metadata={"x": 1e400})], 0)


def test_restamp_returns_the_batch_itself_when_the_stamps_hold() -> None:
    aid = uuid4()
    _, prepared = prepare_append(MemoryEventStore(), aid, "Cart", _batch(PaItem, aid, 3), 0)
    assert restamp(prepared, 0) is prepared


def test_restamp_reencodes_only_what_moves_with_its_new_span() -> None:
    aid = uuid4()
    _, prepared = prepare_append(MemoryEventStore(), aid, "Cart", _batch(PaItem, aid, 2), -1)
    moved = restamp(prepared, 9)
    assert [p.event.aggregate_version for p in moved] == [10, 11]
    for item in moved:
        assert isinstance(item, PreparedEvent)
        assert item.payload == serialize_event(item.event)
        at, length = item.version_span
        assert item.payload[at - 1 : at - 1 + length] == str(item.event.aggregate_version)
