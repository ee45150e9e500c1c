"""The upcast dry run on every backend: per stored event type and version, how many events
each upcaster chain touches, where it ends, and which cannot be decoded (a missing link);
it counts without running an upcaster and changes nothing."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from eventsource import Backend, DomainEvent, EventRegistry, InvalidArgumentError
from eventsource.upcasting import UpcastChainUse, upcast_dry_run

from .test_upcasting import DepositedV1, Funded, OpenedV1, OpenedV3, today

ACCOUNT = "uptest.Account"


class OpenedV2(DomainEvent):
    __register__ = False
    event_type: str = "uptest.Opened"
    event_version: int = 2
    contact: dict[str, str]


class NotedV1(DomainEvent):
    __register__ = False
    event_type: str = "uptest.Noted"
    text: str


class NotedV3(DomainEvent):
    __register__ = False
    event_type: str = "uptest.Noted"
    event_version: int = 3
    text: str


def _never(data: dict[str, Any]) -> dict[str, Any]:
    raise AssertionError("a dry run runs no upcaster")


def _registry() -> EventRegistry:
    registry = today()  # Opened 1 -> 2 -> 3, Deposited 1 -> Funded 2
    registry.register(NotedV3)
    registry.register_upcaster("uptest.Noted", 2, _never)  # version 1 has no link
    return registry


async def test_counts_per_stored_type_and_version(backend: Backend) -> None:
    store = backend.events
    old = EventRegistry([OpenedV1, OpenedV2, DepositedV1, NotedV1, OpenedV3, Funded])
    store.event_registry = old
    plain = uuid4()
    for _ in range(3):
        aid = uuid4()
        batch: list[DomainEvent] = [
            OpenedV1(aggregate_id=aid, email="a@x"),
            DepositedV1(aggregate_id=aid, amount=1.5),
            DepositedV1(aggregate_id=aid, amount=2.0),
        ]
        await store.append_events(aid, ACCOUNT, batch, 0)
    mixed = uuid4()
    await store.append_events(
        mixed,
        ACCOUNT,
        [
            OpenedV2(aggregate_id=mixed, contact={"email": "b@x"}),
            OpenedV3(aggregate_id=mixed, contact={"email": "c@x", "phone": None}),
            NotedV1(aggregate_id=mixed, text="n"),
            Funded(aggregate_id=mixed, cents=5),
        ],
        0,
    )
    await store.append_events(plain, "uptest.Other", [Funded(aggregate_id=plain, cents=1)], 0)
    position = await store.get_global_position()

    report = await upcast_dry_run(store, _registry())

    assert [(u.event_type, u.event_version, u.events) for u in report] == [
        ("uptest.Deposited", 1, 6),
        ("uptest.Noted", 1, 1),
        ("uptest.Opened", 1, 3),
        ("uptest.Opened", 2, 1),
    ]
    deposited, noted, opened_1, opened_2 = report
    assert (deposited.to_type, deposited.to_version, deposited.ok) == ("uptest.Funded", 2, True)
    assert [(s.event_type, s.from_version) for s in deposited.steps] == [("uptest.Deposited", 1)]
    assert [s.from_version for s in opened_1.steps] == [1, 2] and opened_1.to_version == 3
    assert [s.from_version for s in opened_2.steps] == [2] and opened_2.ok
    assert not noted.ok and noted.steps == () and noted.error is not None
    assert "uptest.Noted" in noted.error and "1" in noted.error
    assert isinstance(noted, UpcastChainUse)
    assert await store.get_global_position() == position  # nothing written

    store.event_registry = _registry()
    assert [(u.event_type, u.event_version) for u in await upcast_dry_run(store)] == [
        (u.event_type, u.event_version) for u in report
    ]
    assert await upcast_dry_run(store, EventRegistry([OpenedV3])) == []  # no upcasters


async def test_deleted_and_truncated_events_are_not_counted(backend: Backend) -> None:
    store = backend.events
    store.event_registry = EventRegistry([OpenedV1, DepositedV1, OpenedV3, Funded])
    gone, cut = uuid4(), uuid4()
    await store.append_events(gone, ACCOUNT, [OpenedV1(aggregate_id=gone, email="g@x")], 0)
    deposits: list[DomainEvent] = [DepositedV1(aggregate_id=cut, amount=i) for i in range(4)]
    await store.append_events(cut, ACCOUNT, deposits, 0)
    await store.delete_stream(gone, ACCOUNT)
    await store.truncate_stream(cut, ACCOUNT, before=3)
    report = await upcast_dry_run(store, today())
    assert [(u.event_type, u.event_version, u.events) for u in report] == [
        ("uptest.Deposited", 1, 2)
    ]


async def test_bad_registry_is_a_typed_error(backend: Backend) -> None:
    with pytest.raises(InvalidArgumentError):
        await upcast_dry_run(backend.events, object())  # type: ignore[arg-type]
