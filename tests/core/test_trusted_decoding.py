"""Property: the fast decoder of a page of rows (``EventRegistry.decoder``) gives exactly what
full validation (``EventRegistry.deserialize``) gives: the same classes, values, fields set
and time zones, or the same error, for any stored document.

Hypothesis draws an event class from a zoo (nested models, aliases, defaults, validators,
custom event types, upcasted versions, and shapes that must keep full validation: Decimal,
bytes, unions, enums, strict fields, before-validators) and a document: a valid one, or one
with keys dropped, replaced by arbitrary JSON, duplicated, an empty or missing event type,
other time zones, or text that is not JSON at all.
"""

from __future__ import annotations

import enum
import json
import math
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from eventsource import DomainEvent, EventRegistry
from eventsource._trusted_decoding import trusted_validator


class Line(BaseModel):
    sku: str
    quantity: int = 1
    price: float = 0.0


class Address(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    street: str = Field(alias="streetName")
    city: str | None = None
    tags: list[str] = []


class Tree(BaseModel):
    label: str = ""
    children: list[Tree] = []


class _Zoo(DomainEvent):
    __register__ = False


class Simple(_Zoo):
    __register__ = False
    sku: str
    quantity: int
    price_cents: int
    note: str = ""
    paid: bool = False


class Nested(_Zoo):
    __register__ = False
    lines: list[Line] = []
    address: Address | None = None
    main: Line = Line(sku="none")
    tree: Tree = Tree()


class Aliased(_Zoo):
    __register__ = False
    model_config = ConfigDict(populate_by_name=True)
    customer_name: str = Field(default="", alias="customerName")
    choice: int = Field(default=0, validation_alias=AliasChoices("choice", "pick"))


class Defaults(_Zoo):
    __register__ = False
    ref: UUID = Field(default_factory=uuid4)
    when: datetime | None = None
    day: date = date(2000, 1, 1)
    counts: dict[str, int] = {}
    extra_data: dict[str, Any] = Field(default_factory=dict)
    names: set[str] = set()
    frozen_names: frozenset[str] = frozenset()
    ratio: float = 1.5


class Validated(_Zoo):
    __register__ = False
    name: str = ""
    amount: int = 0

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @field_validator("amount", mode="before")
    @classmethod
    def _amount(cls, value: Any) -> Any:
        return int(value) if isinstance(value, str) and value.isdigit() else value

    @model_validator(mode="after")
    def _check(self) -> Validated:
        if self.amount < 0:
            raise ValueError("negative amount")
        return self


class Custom(_Zoo):
    __register__ = False
    event_type: str = "shop.custom"
    value: int = 0


class Upcast1(_Zoo):
    __register__ = False
    event_type: str = "shop.upcast"
    name: str = ""


class Upcast2(_Zoo):
    __register__ = False
    event_type: str = "shop.upcast"
    event_version: int = 2
    first: str = ""
    last: str = ""


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class NeedsFull(_Zoo):
    """Shapes that validate differently from JSON and from Python: full validation always."""

    __register__ = False
    amount: Decimal = Decimal("0")
    blob: bytes = b""
    either: int | str = 0
    colour: Colour = Colour.RED
    span: timedelta = timedelta(0)
    kind: Literal["a", "b"] = "a"


class SelfNested(_Zoo):
    """An event holding events of its own class: those keep their _fill_defaults."""

    __register__ = False
    children: list[SelfNested] = []


class Strict(_Zoo):
    __register__ = False
    exact: int = Field(default=0, strict=True)


class BeforeValidated(_Zoo):
    __register__ = False
    name: str = ""

    @model_validator(mode="before")
    @classmethod
    def _rename(cls, data: Any) -> Any:
        if isinstance(data, dict) and "nom" in data:
            data = {**data, "name": data["nom"]}
        return data


class OwnDecoding(_Zoo):
    """A class decoding its own way (as tests/runtime's tolerant fix does)."""

    __register__ = False
    value: int = 0

    @classmethod
    def model_validate_json(cls, json_data: Any, **kwargs: Any) -> OwnDecoding:  # type: ignore[override]
        return cls.model_validate({**json.loads(json_data), "value": 42}, **kwargs)


FAST = [Simple, Nested, Aliased, Defaults, Validated, Custom, Upcast1, Upcast2]
FULL = [NeedsFull, Strict, BeforeValidated, SelfNested, OwnDecoding]


def _split(data: dict[str, Any]) -> dict[str, Any]:
    first, _, last = str(data.pop("name", "")).partition(" ")
    return {**data, "first": first, "last": last}


def _registry() -> EventRegistry:
    registry = EventRegistry([*FAST, *FULL])
    registry.register_upcaster("shop.upcast", 1, _split)
    return registry


REGISTRY = _registry()

SAMPLES: dict[type[DomainEvent], DomainEvent] = {
    Simple: Simple(aggregate_id=uuid4(), sku="S-1", quantity=2, price_cents=99, note="n"),
    Nested: Nested(
        aggregate_id=uuid4(),
        lines=[Line(sku="a", quantity=2, price=1.25)],
        address=Address(street="Main", tags=["x"]),
        tree=Tree(label="r", children=[Tree(label="c", children=[Tree()])]),
    ),
    Aliased: Aliased(aggregate_id=uuid4(), customer_name="Ada", choice=3),
    Defaults: Defaults(
        aggregate_id=uuid4(),
        when=datetime(2024, 5, 1, 12, tzinfo=UTC),
        counts={"a": 1},
        extra_data={"k": [1, "x", None]},
        names={"p"},
    ),
    Validated: Validated(aggregate_id=uuid4(), name="x", amount=4),
    Custom: Custom(aggregate_id=uuid4(), value=7),
    Upcast1: Upcast1(aggregate_id=uuid4(), name="Ada Lovelace"),
    Upcast2: Upcast2(aggregate_id=uuid4(), first="Ada", last="Lovelace"),
    NeedsFull: NeedsFull(aggregate_id=uuid4(), amount=Decimal("1.10"), blob=b"ab", either="x"),
    Strict: Strict(aggregate_id=uuid4(), exact=3),
    BeforeValidated: BeforeValidated(aggregate_id=uuid4(), name="n"),
    OwnDecoding: OwnDecoding(aggregate_id=uuid4()),
    SelfNested: SelfNested(
        aggregate_id=uuid4(), children=[SelfNested(aggregate_id=uuid4(), event_type="")]
    ),
}

#: Replaced in the document's text by one of _NUMBERS, as a bare JSON number.
_NUMBER = "\u0000number\u0000"
_NUMBERS = [
    "0.1000000000000000055511151231257827",
    "1e400",
    "-0",
    "1.0",
    "1E2",
    "12345678901234567890",
]

_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.sampled_from(
        [
            str(uuid4()),
            "2024-01-02T03:04:05+02:00",
            "2024-01-02T03:04:05",
            "2024-01-02",
            "1",
            "true",
            "0.1000000000000000055511151231257827",
            "",
            _NUMBER,
        ]
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)
_MOMENTS = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.none()
).flatmap(
    lambda naive: st.sampled_from(
        [
            naive.isoformat(),
            naive.replace(tzinfo=UTC).isoformat(),
            naive.replace(tzinfo=timezone(timedelta(hours=5, minutes=30))).isoformat(),
            naive.replace(tzinfo=timezone(timedelta(hours=-8))).isoformat(),
        ]
    )
)


@st.composite
def documents(draw: st.DrawFn) -> tuple[type[DomainEvent], str | bytes]:
    cls = draw(st.sampled_from([*FAST, *FULL]))
    doc = SAMPLES[cls].model_dump(mode="json", by_alias=True)
    for key in list(doc):
        action = draw(st.sampled_from(["keep"] * 6 + ["drop", "replace"]))
        if action == "drop":
            del doc[key]
        elif action == "replace":
            doc[key] = draw(_JSON)
    if draw(st.booleans()):
        doc["occurred_at"] = draw(_MOMENTS)
    kind = draw(st.sampled_from(["keep"] * 6 + ["empty", "missing", "other"]))
    if kind == "empty":
        doc["event_type"] = ""
    elif kind == "missing":
        doc.pop("event_type", None)
    elif kind == "other":
        doc["event_type"] = draw(st.text(max_size=6))
    for key in draw(st.lists(st.text(max_size=6), max_size=2)):
        doc[key] = draw(_JSON)
    text = json.dumps(doc)
    while json.dumps(_NUMBER) in text:
        text = text.replace(json.dumps(_NUMBER), draw(st.sampled_from(_NUMBERS)), 1)
    shape = draw(st.sampled_from(["plain"] * 8 + ["duplicate", "truncated", "array"]))
    if shape == "duplicate" and len(text) > 2:
        key = draw(st.sampled_from([*SAMPLES[cls].model_dump(by_alias=True), "x"]))
        text = "{" + json.dumps(key) + ": " + json.dumps(draw(_JSON)) + ", " + text[1:]
    elif shape == "truncated":
        text = text[: draw(st.integers(0, max(0, len(text) - 1)))]
    elif shape == "array":
        text = "[" + text + "]"
    return cls, (text.encode("utf-8", "surrogatepass") if draw(st.booleans()) else text)


def _outcome(decode: Any, payload: str | bytes) -> tuple[str, Any]:
    try:
        return "ok", decode(payload)
    except Exception as exc:
        return "error", (type(exc), str(exc), type(exc.__cause__))


def _same_values(a: Any, b: Any) -> None:
    """Recursively the same types and values (NaN equal to NaN, tzinfo identical)."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, BaseModel):
        assert a.model_fields_set == b.model_fields_set
        assert a.__pydantic_extra__ == b.__pydantic_extra__
        for name, field in type(a).model_fields.items():
            if name not in a.model_fields_set and field.default_factory is not None:
                # a fresh id or moment on each side
                assert type(getattr(a, name)) is type(getattr(b, name))
                continue
            _same_values(getattr(a, name), getattr(b, name))
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            _same_values(a[key], b[key])
    elif isinstance(a, list | tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same_values(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    elif isinstance(a, datetime):
        assert a == b and a.tzinfo is b.tzinfo and a.isoformat() == b.isoformat()
    else:
        assert a == b


@settings(max_examples=700, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), st.sampled_from([None, 1, 2]))
def test_fast_decoder_matches_full_validation(
    drawn: tuple[type[DomainEvent], str | bytes], version: int | None
) -> None:
    cls, payload = drawn
    event_type = cls.default_event_type()
    full = _outcome(lambda p: REGISTRY.deserialize(p, event_type, version), payload)
    fast = _outcome(REGISTRY.decoder(event_type, version), payload)
    assert fast[0] == full[0], (payload, fast, full)
    if full[0] == "error":
        assert fast[1] == full[1]
    else:
        _same_values(fast[1], full[1])


def test_the_zoo_takes_the_path_it_should() -> None:
    """The shapes known to validate alike get the fast path; the others keep full validation
    (so the property above compares both paths, not full validation with itself)."""
    for cls in FAST:
        assert trusted_validator(cls) is not None, cls
    for cls in FULL:
        assert trusted_validator(cls) is None, cls


def test_a_stored_document_decodes_equal_on_both_paths() -> None:
    for cls, sample in SAMPLES.items():
        text = sample.model_dump_json(by_alias=True)
        kind, version = cls.default_event_type(), sample.event_version
        fast, full = (
            REGISTRY.decoder(kind, version)(text),
            REGISTRY.deserialize(text, kind, version),
        )
        _same_values(fast, full)
        assert fast.occurred_at.tzinfo is UTC


def test_upcasted_documents_go_through_their_upcasters() -> None:
    text = SAMPLES[Upcast1].model_dump_json()
    event = REGISTRY.decoder("shop.upcast", 1)(text)
    assert type(event) is Upcast2
    assert (event.first, event.last, event.event_version) == ("Ada", "Lovelace", 2)


def test_unknown_types_raise_what_deserialize_raises() -> None:
    decode = REGISTRY.decoder("no.such.type", 1)
    with pytest.raises(Exception) as fast:
        decode("{}")
    with pytest.raises(Exception) as full:
        REGISTRY.deserialize("{}", "no.such.type", 1)
    assert type(fast.value) is type(full.value) and str(fast.value) == str(full.value)


def test_a_registry_decoding_its_own_way_keeps_it() -> None:
    class Tagging(EventRegistry):
        def deserialize(
            self, payload: str | bytes, event_type: str, event_version: int | None = None
        ) -> DomainEvent:
            event = super().deserialize(payload, event_type, event_version)
            return event.with_metadata(tagged=True)

    registry = Tagging([Simple])
    text = SAMPLES[Simple].model_dump_json()
    assert registry.decoder("Simple", 1)(text).metadata == {"tagged": True}
