"""Upcasting on every backend: events written as v1 by an old class read back as v3 through a
two-step chain (and a renamed type through a rename step), in aggregates, ``read_all``,
``read_stream`` and a running projection; the store keeps the bytes it was given; a missing
link is a typed error at the row, and the runner's poison policy applies to it."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4

import pytest
from pydantic import BaseModel

from eventsource import (
    AggregateRepository,
    AggregateRoot,
    Backend,
    DomainEvent,
    EventDecodeError,
    EventRegistry,
    InvalidArgumentError,
    UpcastError,
)
from eventsource.runtime import FailureMode, Projection, ProjectionRunner, RetryPolicy, handles
from eventsource.stores import ReadOptions, stream_id_for

ACCOUNT = "uptest.Account"


class OpenedV1(DomainEvent):
    """Version 1, as the old release wrote it: a bare email."""

    __register__ = False
    event_type: str = "uptest.Opened"
    email: str


class OpenedV3(DomainEvent):
    """Version 3, today's shape: a contact with email and phone."""

    __register__ = False
    event_type: str = "uptest.Opened"
    event_version: int = 3
    contact: dict[str, str | None]


class Funded(DomainEvent):
    """Today's name of what version 1 called ``uptest.Deposited``."""

    __register__ = False
    event_type: str = "uptest.Funded"
    event_version: int = 2
    cents: int


class DepositedV1(DomainEvent):
    __register__ = False
    event_type: str = "uptest.Deposited"
    amount: float  # in units, not cents


def _email_to_contact(data: dict[str, Any]) -> dict[str, Any]:
    data["contact"] = {"email": data.pop("email")}
    return data


def _add_phone(data: dict[str, Any]) -> dict[str, Any]:
    data["contact"].setdefault("phone", None)
    return data


def _deposited_to_funded(data: dict[str, Any]) -> dict[str, Any]:
    data["cents"] = round(data.pop("amount") * 100)
    return data


def today() -> EventRegistry:
    """The registry of today's release: the v3 and renamed classes and their upcasters."""
    registry = EventRegistry([OpenedV3, Funded])
    registry.register_upcaster("uptest.Opened", 1, _email_to_contact)
    registry.register_upcaster("uptest.Opened", 2, _add_phone)
    registry.register_upcaster(
        "uptest.Deposited", 1, _deposited_to_funded, to_type="uptest.Funded", to_version=2
    )
    return registry


class AccountState(BaseModel):
    email: str = ""
    phone: str | None = "unset"
    cents: int = 0


class Account(AggregateRoot[AccountState]):
    aggregate_type = ACCOUNT

    def _get_initial_state(self) -> AccountState:
        return AccountState()

    def _apply(self, event: DomainEvent) -> None:
        state = self.state
        if isinstance(event, OpenedV3):
            state.email = event.contact["email"] or ""
            state.phone = event.contact["phone"]
        elif isinstance(event, Funded):
            state.cents += event.cents
        else:  # a v1 class here would mean the chain did not run
            raise AssertionError(f"unexpected {type(event).__name__}")


async def _write_v1(backend: Backend) -> UUID:
    """An account written by the old release, with the old classes only."""
    store = backend.events
    store.event_registry = EventRegistry([OpenedV1, DepositedV1])
    aid = uuid4()
    events = [
        OpenedV1(aggregate_id=aid, email="a@example.org", aggregate_version=1),
        DepositedV1(aggregate_id=aid, amount=12.5, aggregate_version=2),
        DepositedV1(aggregate_id=aid, amount=0.25, aggregate_version=3),
    ]
    await store.append_events(aid, ACCOUNT, events, 0)
    return aid


async def test_v1_events_read_as_v3_on_every_read_path(backend: Backend) -> None:
    aid = await _write_v1(backend)
    store = backend.events
    store.event_registry = today()

    loaded = (await store.get_events(aid, ACCOUNT)).events
    expected: list[type[DomainEvent]] = [OpenedV3, Funded, Funded]
    assert [type(e) for e in loaded] == expected
    opened = loaded[0]
    assert isinstance(opened, OpenedV3)
    assert opened.contact == {"email": "a@example.org", "phone": None}
    assert (opened.event_type, opened.event_version) == ("uptest.Opened", 3)
    assert [e.cents for e in loaded[1:]] == [1250, 25]  # type: ignore[attr-defined]
    assert [e.aggregate_version for e in loaded] == [1, 2, 3]

    logged = [s.event async for s in store.read_all()]
    streamed = [s.event async for s in store.read_stream(stream_id_for(aid, ACCOUNT))]
    assert logged == loaded and streamed == loaded

    repository = AggregateRepository(store, Account, ACCOUNT)
    account = await repository.load(aid)
    assert account.state == AccountState(email="a@example.org", phone=None, cents=1275)
    assert account.committed_version == 3


async def test_the_store_keeps_the_original_document(backend: Backend) -> None:
    """Reading through upcasters changes nothing stored: the old classes still read it."""
    aid = await _write_v1(backend)
    store = backend.events
    store.event_registry = today()
    assert len((await store.get_events(aid, ACCOUNT)).events) == 3
    store.event_registry = EventRegistry([OpenedV1, DepositedV1])
    first = (await store.get_events(aid, ACCOUNT)).events[0]
    assert isinstance(first, OpenedV1) and first.email == "a@example.org"


class Ledger(Projection):
    """Handles today's types only; the renamed v1 type must reach it too."""

    name = "uptest.Ledger"

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    @handles(OpenedV3)
    async def on_opened(self, event: OpenedV3) -> None:
        self.seen.append(("opened", event.contact["email"]))

    @handles(Funded)
    async def on_funded(self, event: Funded) -> None:
        self.seen.append(("funded", event.cents))


async def test_a_running_projection_gets_upcast_and_renamed_events(backend: Backend) -> None:
    await _write_v1(backend)
    backend.events.event_registry = today()
    ledger = Ledger()
    runner = ProjectionRunner.from_backend(ledger, backend)
    assert await runner.catch_up() == 3
    assert ledger.seen == [("opened", "a@example.org"), ("funded", 1250), ("funded", 25)]


async def test_a_missing_link_is_a_typed_error_at_the_row(backend: Backend) -> None:
    """A chain 1 -> 2 with today's class at 3 and no 2 -> 3 step: reading v1 names the type
    and the versions; readers deliver up to the row; the runner with SKIP parks it."""
    aid = await _write_v1(backend)
    broken = EventRegistry([OpenedV3, Funded])
    broken.register_upcaster("uptest.Opened", 1, _email_to_contact)
    broken.register_upcaster(
        "uptest.Deposited", 1, _deposited_to_funded, to_type="uptest.Funded", to_version=2
    )
    store = backend.events
    store.event_registry = broken
    with pytest.raises(EventDecodeError) as caught:
        [s async for s in store.read_all()]
    error = caught.value
    assert error.global_position == 1
    assert isinstance(error.__cause__, UpcastError)
    assert "'uptest.Opened' from version 2" in str(error.__cause__)
    after = [s.event async for s in store.read_all(ReadOptions(from_position=1))]
    assert [type(e) for e in after] == [Funded, Funded]

    ledger = Ledger()
    policy = RetryPolicy(max_attempts=1, on_failure=FailureMode.SKIP)
    runner = ProjectionRunner.from_backend(ledger, backend, retry=policy)
    await runner.catch_up()
    assert ledger.seen == [("funded", 1250), ("funded", 25)]
    [parked] = await backend.dlq.get_failed_events(ledger.name)
    assert "missing link" in parked.error_message
    assert aid  # the stream is intact
    assert json.loads(json.dumps(parked.event_data))  # storable as ever


def test_registration_is_checked() -> None:
    registry = EventRegistry([OpenedV3])
    registry.register_upcaster("uptest.Opened", 1, _email_to_contact)
    with pytest.raises(InvalidArgumentError, match="already has an upcaster"):
        registry.register_upcaster("uptest.Opened", 1, _add_phone)
    registry.register_upcaster("uptest.Opened", 1, _email_to_contact)  # the same: no error
    for bad in (
        {"event_type": "", "from_version": 1, "function": _add_phone},
        {"event_type": "uptest.Opened", "from_version": 0, "function": _add_phone},
        {"event_type": "uptest.Opened", "from_version": True, "function": _add_phone},
        {"event_type": "uptest.Opened", "from_version": 5, "function": "not callable"},
        {"event_type": "uptest.Opened", "from_version": 5, "function": _add_phone, "to_version": 4},
    ):
        with pytest.raises(InvalidArgumentError):
            registry.register_upcaster(**bad)  # type: ignore[arg-type]


def test_failing_and_looping_upcasters_are_typed_errors() -> None:
    registry = EventRegistry([OpenedV3])

    def boom(data: dict[str, Any]) -> dict[str, Any]:
        raise KeyError("email")

    registry.register_upcaster("uptest.Opened", 1, boom)
    document = OpenedV1(aggregate_id=uuid4(), email="x").model_dump_json()
    with pytest.raises(UpcastError, match="version 1 failed: KeyError"):
        registry.deserialize(document, "uptest.Opened", 1)
    looping = EventRegistry([OpenedV3])
    looping.register_upcaster("a.A", 1, lambda d: d, to_type="a.B", to_version=1)
    looping.register_upcaster("a.B", 1, lambda d: d, to_type="a.A", to_version=1)
    with pytest.raises(UpcastError, match="loop"):
        looping.deserialize('{"x": 1}', "a.A", 1)


def test_stored_types_include_what_renames_into_them() -> None:
    registry = today()
    assert registry.stored_types(["uptest.Funded"]) == ("uptest.Funded", "uptest.Deposited")
    assert registry.stored_types(["uptest.Opened"]) == ("uptest.Opened",)


def test_decode_dict_upcasts_a_parked_old_document() -> None:
    """A DLQ entry parked as a v1 event's data replays as today's class."""
    registry = today()
    data = OpenedV1(aggregate_id=uuid4(), email="p@example.org").model_dump(mode="json")
    event = registry.decode_dict(data)
    assert isinstance(event, OpenedV3) and event.contact["email"] == "p@example.org"
