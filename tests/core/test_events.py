"""DomainEvent defaults, UTC timestamps, immutability, the registry and serialize_event."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from eventsource import (
    DomainEvent,
    DuplicateEventTypeError,
    EventRegistry,
    InvalidArgumentError,
    InvalidEventError,
    PayloadTooLargeError,
    SerializationError,
    UnknownEventTypeError,
    default_registry,
)
from eventsource.events import serialize_event


class CtPlain(DomainEvent):
    """No declared event type: the class name is used."""

    note: str = ""


class CtNamed(DomainEvent):
    """A declared event type."""

    event_type: str = "coretest.Named"


class CtThingV2(DomainEvent):
    """Version 2, defined BEFORE version 1 on purpose."""

    event_type: str = "coretest.Thing"
    event_version: int = 2
    size: int = 0


class CtThingV1(DomainEvent):
    """Version 1, defined after version 2."""

    event_type: str = "coretest.Thing"


class CtAbstractBase(DomainEvent):
    """An intermediate base that must not be registered."""

    __register__ = False
    event_type: str = "coretest.Abstract"


class CtHolder(DomainEvent):
    """An event with a free-form field, for serialisation failures."""

    event_type: str = "coretest.Holder"
    value: Any = None


def test_event_type_defaults_to_class_name() -> None:
    event = CtPlain(aggregate_id=uuid4())
    assert event.event_type == "CtPlain"
    assert CtPlain.default_event_type() == "CtPlain"


def test_event_type_uses_declared_default_and_survives_empty_input() -> None:
    assert CtNamed(aggregate_id=uuid4()).event_type == "coretest.Named"
    assert CtNamed(aggregate_id=uuid4(), event_type="").event_type == "coretest.Named"
    decoded = CtNamed.model_validate_json(json.dumps({"aggregate_id": str(uuid4())}))
    assert decoded.event_type == "coretest.Named"


def test_envelope_defaults() -> None:
    aggregate_id = uuid4()
    event = CtPlain(aggregate_id=aggregate_id)
    assert isinstance(event.event_id, UUID)
    assert event.event_id != CtPlain(aggregate_id=aggregate_id).event_id
    assert event.event_version == 1
    assert event.aggregate_version == 1
    assert event.aggregate_type == ""
    assert event.metadata == {}
    assert isinstance(event.correlation_id, UUID)
    assert event.tenant_id is None and event.causation_id is None


def test_occurred_at_defaults_to_now_in_utc() -> None:
    before = datetime.now(UTC)
    event = CtPlain(aggregate_id=uuid4())
    assert event.occurred_at.tzinfo is UTC
    assert before <= event.occurred_at <= datetime.now(UTC)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (datetime(2024, 1, 1, 12, 0), datetime(2024, 1, 1, 12, 0, tzinfo=UTC)),
        (
            datetime(2024, 1, 1, 14, 0, tzinfo=timezone(timedelta(hours=2))),
            datetime(2024, 1, 1, 12, 0, tzinfo=UTC),
        ),
        (
            datetime(2024, 1, 1, 12, 0, tzinfo=ZoneInfo("Europe/London")),  # offset 0, not UTC
            datetime(2024, 1, 1, 12, 0, tzinfo=UTC),
        ),
        (
            datetime(2024, 1, 1, 12, 0, tzinfo=timezone(timedelta(0), "Z0")),
            datetime(2024, 1, 1, 12, 0, tzinfo=UTC),
        ),
        ("2024-01-01T12:00:00", datetime(2024, 1, 1, 12, 0, tzinfo=UTC)),
        ("2024-01-01T07:00:00-05:00", datetime(2024, 1, 1, 12, 0, tzinfo=UTC)),
    ],
)
def test_occurred_at_is_normalised_to_utc(given: Any, expected: datetime) -> None:
    event = CtPlain(aggregate_id=uuid4(), occurred_at=given)
    assert event.occurred_at == expected
    assert event.occurred_at.tzinfo is UTC
    assert event.occurred_at.utcoffset() == timedelta(0)


def test_events_are_frozen() -> None:
    event = CtPlain(aggregate_id=uuid4(), note="a")
    with pytest.raises(ValidationError):
        event.note = "b"  # type: ignore[misc]
    assert event.note == "a"


def test_with_position_copies() -> None:
    event = CtPlain(aggregate_id=uuid4())
    moved = event.with_position(5)
    assert moved.aggregate_version == 5 and event.aggregate_version == 1
    assert moved.event_id == event.event_id
    assert event.with_position(1) is event


def test_invalid_versions_are_rejected() -> None:
    with pytest.raises(ValidationError):
        CtPlain(aggregate_id=uuid4(), aggregate_version=0)
    with pytest.raises(ValidationError):
        CtPlain(aggregate_id=uuid4(), event_version=0)


def test_unknown_fields_are_ignored_when_decoding() -> None:
    data = {"aggregate_id": str(uuid4()), "removed_field": 1, "note": "x"}
    event = CtPlain.model_validate(data)
    assert event.note == "x" and not hasattr(event, "removed_field")


# -- registry -------------------------------------------------------------------------------------


def test_subclasses_register_themselves() -> None:
    assert default_registry.get("CtPlain") is CtPlain
    assert default_registry.get("coretest.Named") is CtNamed
    assert "coretest.Named" in default_registry


def test_intermediate_base_is_not_registered() -> None:
    assert "coretest.Abstract" not in default_registry


def test_version_lookup_and_fallback_to_newest_whatever_the_definition_order() -> None:
    assert default_registry.get("coretest.Thing", 1) is CtThingV1
    assert default_registry.get("coretest.Thing", 2) is CtThingV2
    # Version 1 was defined after version 2, yet the fallback is the newest version.
    assert default_registry.get("coretest.Thing") is CtThingV2
    assert default_registry.get("coretest.Thing", 7) is CtThingV2


def test_private_registry_register_get_iterate() -> None:
    registry = EventRegistry([CtNamed])
    assert registry.get("coretest.Named") is CtNamed
    assert list(registry) == ["coretest.Named"] and len(registry) == 1
    assert registry.register(CtPlain) is CtPlain  # usable as a decorator
    assert sorted(registry) == ["CtPlain", "coretest.Named"]


def test_registering_a_different_class_under_a_taken_key_is_refused() -> None:
    registry = EventRegistry([CtNamed])

    class Other(DomainEvent):
        __register__ = False
        event_type: str = "coretest.Named"

    with pytest.raises(
        DuplicateEventTypeError, match=r"coretest.Named.*already registered.*CtNamed"
    ) as caught:
        registry.register(Other)
    assert isinstance(caught.value, ValueError)  # what register() raised before
    assert (caught.value.event_type, caught.value.event_version) == ("coretest.Named", 1)
    assert (caught.value.existing_class, caught.value.new_class) == (CtNamed, Other)
    assert registry.get("coretest.Named") is CtNamed
    registry.register(Other, replace=True)
    assert registry.get("coretest.Named") is Other
    assert registry.register(Other) is Other  # re-registering the same class is fine


def test_register_refuses_non_events() -> None:
    registry = EventRegistry()
    for bad in (dict, CtNamed(aggregate_id=uuid4()), "CtNamed"):
        with pytest.raises(InvalidArgumentError, match="not a DomainEvent subclass"):
            registry.register(bad)  # type: ignore[arg-type]
    assert len(registry) == 0


def test_unknown_type_error_names_the_type_version_and_fix() -> None:
    registry = EventRegistry([CtNamed, CtPlain])
    with pytest.raises(UnknownEventTypeError) as caught:
        registry.get("coretest.Missing", 3)
    error = caught.value
    assert isinstance(error, KeyError)
    assert error.event_type == "coretest.Missing" and error.event_version == 3
    text = str(error)
    assert text == (
        "unknown event type 'coretest.Missing' version 3: register its class with "
        "EventRegistry.register() (known: CtPlain, coretest.Named)"
    )
    empty = str(UnknownEventTypeError("X"))
    assert empty.endswith("(known: none)") and "version" not in empty


def test_unknown_type_error_truncates_a_long_known_list() -> None:
    text = str(UnknownEventTypeError("X", None, [f"T{i:02d}" for i in range(30)]))
    assert "T19 ..." in text and "T20" not in text


def test_check_registered() -> None:
    registry = EventRegistry([CtNamed])
    registry.check_registered(CtNamed(aggregate_id=uuid4()))
    with pytest.raises(UnknownEventTypeError):
        registry.check_registered(CtPlain(aggregate_id=uuid4()))


def test_deserialize_round_trip_and_mismatch() -> None:
    event = CtThingV2(aggregate_id=uuid4(), size=3, metadata={"k": [1, 2]})
    payload = serialize_event(event)
    decoded = default_registry.deserialize(payload, "coretest.Thing", 2)
    assert decoded == event and type(decoded) is CtThingV2
    with pytest.raises(SerializationError, match="does not match CtThingV2"):
        default_registry.deserialize('{"size": "big"}', "coretest.Thing", 2)
    with pytest.raises(SerializationError):
        default_registry.deserialize("not json", "coretest.Thing", 2)


def test_decode_dict() -> None:
    event = CtNamed(aggregate_id=uuid4())
    assert default_registry.decode_dict(event.model_dump()) == event
    with pytest.raises(InvalidEventError, match="no 'event_type'"):
        default_registry.decode_dict({"aggregate_id": str(uuid4())})
    with pytest.raises(SerializationError, match="does not match"):
        default_registry.decode_dict({"event_type": "coretest.Named", "aggregate_id": "nope"})
    with pytest.raises(UnknownEventTypeError):
        default_registry.decode_dict({"event_type": "coretest.Nope"})


# -- serialize_event ------------------------------------------------------------------------------


def test_serialize_event_produces_json() -> None:
    event = CtNamed(aggregate_id=uuid4())
    data = json.loads(serialize_event(event))
    assert data["event_type"] == "coretest.Named"
    assert data["event_id"] == str(event.event_id)


def test_serialize_event_refuses_non_events() -> None:
    with pytest.raises(InvalidEventError, match="expected a DomainEvent, got dict"):
        serialize_event({"event_type": "x"})  # type: ignore[arg-type]


def test_serialize_event_unserialisable_value() -> None:
    event = CtHolder(aggregate_id=uuid4(), value=object())
    with pytest.raises(SerializationError, match=r"coretest.Holder.*cannot be serialised"):
        serialize_event(event)


def test_serialize_event_size_limit_counts_bytes_not_characters() -> None:
    event = CtHolder(aggregate_id=uuid4(), value="é" * 600)
    text = serialize_event(event, max_bytes=10_000)
    # the size counts the aggregate_version at its widest (10 digits), so that a store
    # restamping the version never pushes the document over the limit
    size = len(text.encode()) + len(str(2**31 - 1)) - len(str(event.aggregate_version))
    assert size > len(text) + 9
    assert serialize_event(event, max_bytes=size) == text
    with pytest.raises(PayloadTooLargeError) as caught:
        serialize_event(event, max_bytes=size - 1)
    assert caught.value.size == size and caught.value.limit == size - 1
    assert isinstance(caught.value, SerializationError)


def test_occurred_at_without_a_utc_time_in_range_is_a_validation_error() -> None:
    """Year 1 at +23:59 has no UTC time a datetime can hold: a ValidationError naming it,
    not an OverflowError escaping the model."""
    from datetime import datetime, timedelta, timezone

    from pydantic import ValidationError

    early = datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=23, minutes=59)))
    with pytest.raises(ValidationError, match="no UTC time in range"):
        CtHolder(aggregate_id=uuid4(), occurred_at=early)
    late = datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5)))
    with pytest.raises(ValidationError, match="no UTC time in range"):
        CtHolder(aggregate_id=uuid4(), occurred_at=late)
