"""``ReadOptions(lazy=True)``: on every backend a lazy read yields the same stored events as an
eager one (equal, same fields, same decoded events, upcasted ones too); on SQLite and
PostgreSQL the event is decoded only when ``.event`` is read, so a metadata-only reader never
decodes, and an undecodable row raises the same :class:`EventDecodeError` at that access.
"""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import Any
from uuid import UUID, uuid4

import pytest

from eventsource import (
    Backend,
    DomainEvent,
    EventDecodeError,
    EventRegistry,
    InvalidArgumentError,
    ReadDirection,
    ReadOptions,
    StoredEvent,
)
from eventsource.spi import LazyStoredEvent

from .test_undecodable import CART, POISONS, Poison, RtScored, poisoned_log
from .test_undecodable import real_backend as real_backend  # the fixture

LAZY = ReadOptions(lazy=True)


class LzNote(DomainEvent):
    """A plain event."""

    __register__ = False
    event_type: str = "lztest.Note"
    text: str = ""
    tags: list[str] = []


class LzNamed1(DomainEvent):
    """Version 1 of a renamed field: upcast to version 2 on read."""

    __register__ = False
    event_type: str = "lztest.Named"
    name: str = ""


class LzNamed2(DomainEvent):
    __register__ = False
    event_type: str = "lztest.Named"
    event_version: int = 2
    full_name: str = ""


def _registry() -> EventRegistry:
    registry = EventRegistry([LzNote, LzNamed1, LzNamed2, RtScored])
    return registry


def _rename(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "full_name": data.pop("name", "")}


async def _log(backend: Backend) -> tuple[UUID, UUID]:
    store = backend.events
    store.event_registry = _registry()
    a, b = uuid4(), uuid4()
    await store.append_events(
        a, "Lz", [LzNote(aggregate_id=a, text=f"n{i}", tags=["x"] * i) for i in range(5)], 0
    )
    await store.append_events(b, "Lz", [LzNamed1(aggregate_id=b, name="Ada Lovelace")], 0)
    await store.append_events(a, "Lz", [LzNote(aggregate_id=a, text="last")], 5)
    # stored at version 1, read through the upcaster from now on
    store.event_registry.register_upcaster("lztest.Named", 1, _rename)
    return a, b


def _fields(stored: StoredEvent) -> tuple[Any, ...]:
    return (
        stored.global_position,
        stored.stream_id,
        stored.stream_position,
        stored.stored_at,
        stored.event_id,
        stored.event_type,
        stored.aggregate_id,
        stored.aggregate_type,
    )


async def test_a_lazy_read_yields_what_an_eager_one_does(backend: Backend) -> None:
    a, _ = await _log(backend)
    store = backend.events
    for options, lazy in [
        (ReadOptions(), LAZY),
        (
            ReadOptions(direction=ReadDirection.BACKWARD),
            ReadOptions(direction=ReadDirection.BACKWARD, lazy=True),
        ),
        (ReadOptions(from_position=2, limit=3), ReadOptions(from_position=2, limit=3, lazy=True)),
    ]:
        for page_size in (1000, 2):
            store.page_size = page_size
            eager = [s async for s in store.read_all(options)]
            got = [s async for s in store.read_all(lazy)]
            assert [_fields(s) for s in got] == [_fields(s) for s in eager]
            assert got == eager and eager == got
            for stored, expected in zip(got, eager, strict=True):
                assert type(stored.event) is type(expected.event)
                assert stored.event == expected.event
                assert stored.event.occurred_at.tzinfo is expected.event.occurred_at.tzinfo
    stream = [s async for s in store.read_stream(f"{a}:Lz", LAZY)]
    assert [s.event for s in stream] == (await store.get_events(a, "Lz")).events
    upcast = [s async for s in store.read_all(LAZY) if s.event_type == "lztest.Named"]
    assert [type(s.event) for s in upcast] == [LzNamed2]
    assert upcast[0].event.full_name == "Ada Lovelace"


async def test_a_metadata_reader_decodes_nothing(backend: Backend) -> None:
    await _log(backend)
    if backend.name == "memory":
        pytest.skip("the memory backend holds decoded events")
    got = [s async for s in backend.events.read_all(LAZY)]
    lazy = [s for s in got if isinstance(s, LazyStoredEvent)]
    # every row but the upcasted one (decoded at once, so its type is the upcast one)
    assert len(lazy) == len(got) - 1
    assert [s.global_position for s in got] == list(range(1, 8))
    assert all(s.event_type == "lztest.Note" for s in lazy)
    assert not any(s.is_decoded for s in lazy)
    assert str(lazy[0]).startswith("StoredEvent(lztest.Note")
    assert lazy[0].event.text == "n0" and lazy[0].is_decoded
    assert lazy[0].event is lazy[0].event  # decoded once, kept


async def test_a_lazy_stored_event_copies_as_a_stored_event(backend: Backend) -> None:
    await _log(backend)
    stored, *_ = [s async for s in backend.events.read_all(LAZY)]
    for again in (copy.copy(stored), pickle.loads(pickle.dumps(stored))):
        assert again == stored and type(again) is StoredEvent
    replaced = dataclasses.replace(stored, stream_position=99)
    assert replaced.stream_position == 99 and replaced.event == stored.event
    assert replaced.event_id == stored.event_id and replaced.stream_id == stored.stream_id
    assert "StoredEvent(event=" in repr(stored)
    with pytest.raises(dataclasses.FrozenInstanceError):
        stored.global_position = 5  # type: ignore[misc]


def test_lazy_must_be_a_bool() -> None:
    with pytest.raises(InvalidArgumentError, match=r"ReadOptions\.lazy"):
        ReadOptions(lazy="yes")  # type: ignore[arg-type]


@pytest.fixture(params=POISONS, ids=[p.name for p in POISONS])
def poison(request: pytest.FixtureRequest) -> Poison:
    value: Poison = request.param
    return value


async def test_an_undecodable_row_raises_at_access(real_backend: Backend, poison: Poison) -> None:
    """Lazily, every row is yielded; the poison row's ``.event`` raises the error an eager
    read raises from the iterator, with the same fields and cause."""
    log = await poisoned_log(real_backend, poison)
    store = real_backend.events
    with pytest.raises(EventDecodeError) as eager:
        async for _ in store.read_all():
            pass
    got = [s async for s in store.read_all(LAZY)]
    assert [s.global_position for s in got] == list(range(1, log.total + 1))
    row = got[log.position - 1]
    assert (row.event_type, row.event_id, row.stream_id) == (
        poison.event_type,
        log.row.event_id,
        log.stream_id,
    )
    assert row.aggregate_id == log.row.aggregate_id and row.aggregate_type == CART
    with pytest.raises(EventDecodeError) as lazy:
        row.event  # noqa: B018
    for name in (
        "global_position",
        "stream_id",
        "stream_position",
        "event_id",
        "event_type",
        "event_version",
        "raw_payload",
    ):
        assert getattr(lazy.value, name) == getattr(eager.value, name), name
    assert str(lazy.value) == str(eager.value)
    assert type(lazy.value.__cause__) is type(eager.value.__cause__)
    assert "undecodable" in repr(row)
    assert [s.event.score for s in got if s is not row] == [1.0, 2.0, 3.0, 5.0, 6.0, 7.0]
