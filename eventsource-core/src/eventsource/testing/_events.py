"""Event classes the conformance kit writes, and helpers that build them.

They register in :data:`eventsource.events.default_registry` when this module is imported, so a
backend decoding with the default registry reads them back. Their names start with ``Kit`` to
keep clear of an application's own event types.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from uuid import UUID, uuid4, uuid5

from pydantic import ConfigDict, Field, computed_field, field_serializer
from pydantic.alias_generators import to_camel

from ..events import DomainEvent

__all__ = [
    "AGGREGATE_TYPE",
    "OTHER_AGGREGATE_TYPE",
    "KitAliasedNotByName",
    "KitCamelCase",
    "KitItemCreated",
    "KitItemNoted",
    "KitItemNotedLenient",
    "KitItemRenamed",
    "KitLossySerialiser",
    "KitMeasured",
    "KitMeasuredKeepingNonFinite",
    "KitPayloadEvent",
    "KitRichEvent",
    "KitUnregisteredEvent",
    "KitVersionAsText",
    "KitWithComputedField",
    "noted",
    "retry_batch",
    "rich_event",
]

#: The aggregate type the kit's streams use.
AGGREGATE_TYPE = "KitItem"
#: A second aggregate type, for filters by type.
OTHER_AGGREGATE_TYPE = "KitOther"


class KitItemCreated(DomainEvent):
    """A kit item was created."""

    name: str = ""


class KitItemRenamed(DomainEvent):
    """A kit item was renamed."""

    name: str = ""


class KitItemNoted(DomainEvent):
    """A note on a kit item; the kit's workhorse event."""

    note: str = ""


class KitItemNotedLenient(DomainEvent):
    """KitItemNoted as a fixed class that also decodes a null ``note``; not registered (the
    kit puts it in a registry of its own)."""

    __register__: ClassVar[bool] = False

    event_type: str = "KitItemNoted"
    note: str | None = None


class KitPayloadEvent(DomainEvent):
    """An event carrying an arbitrary payload (used for oversized and unserialisable input)."""

    payload: Any = None


class KitRichEvent(DomainEvent):
    """An event with one field of each kind a JSON round trip can get wrong."""

    ref: UUID
    at: datetime
    amounts: list[int]
    ratio: float
    flag: bool
    text: str
    maybe: str | None = None
    nested: dict[str, Any] = {}


class KitMeasured(DomainEvent):
    """An event with typed numbers and untyped values, for the portable value domain."""

    reading: float = 0.0
    count: int = 0
    label: str = ""
    values: Any = None


class KitMeasuredKeepingNonFinite(DomainEvent):
    """Like :class:`KitMeasured`, opted in to storing non-finite floats (as strings)."""

    model_config = ConfigDict(ser_json_inf_nan="strings")

    reading: float = 0.0
    values: Any = None


class KitCamelCase(DomainEvent):
    """An event written with camelCase keys (``aggregateVersion``, ...): an alias generator,
    serialised by alias and read by name or alias. Stores must restamp its version in place."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    reading: float = 0.0
    label: str = ""
    values: Any = None


class KitWithComputedField(DomainEvent):
    """An event whose document carries a computed field (ignored when read back)."""

    reading: float = 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def doubled(self) -> float:
        """Twice the reading."""
        return self.reading * 2


class KitLossySerialiser(DomainEvent):
    """An event whose serialiser rounds its reading: its document does not read back."""

    reading: float = 0.0

    @field_serializer("reading")
    def _rounded(self, value: float) -> float:
        return round(value, 1)


class KitVersionAsText(DomainEvent):
    """An event that writes its aggregate_version as text: a store could not restamp it."""

    @field_serializer("aggregate_version")
    def _as_text(self, value: int) -> str:
        return f"v{value}"


class KitAliasedNotByName(DomainEvent):
    """An event with an aliased field that is written by name and read only by alias: its
    document does not read back."""

    reading: float = Field(default=0.0, alias="r")


class KitUnregisteredEvent(DomainEvent):
    """An event class that is deliberately not registered: stores must refuse it."""

    __register__: ClassVar[bool] = False


def noted(
    aggregate_id: UUID,
    count: int,
    *,
    aggregate_type: str = AGGREGATE_TYPE,
    prefix: str = "n",
    tenant_id: UUID | None = None,
    occurred_at: datetime | None = None,
) -> list[DomainEvent]:
    """``count`` :class:`KitItemNoted` events for one aggregate (notes ``prefix0``, ...)."""
    return [
        KitItemNoted(
            aggregate_id=aggregate_id,
            aggregate_type=aggregate_type,
            note=f"{prefix}{i}",
            tenant_id=tenant_id,
            **({"occurred_at": occurred_at} if occurred_at is not None else {}),
        )
        for i in range(count)
    ]


def retry_batch(aggregate_id: UUID, round_: int) -> list[DomainEvent]:
    """Two events whose ids derive from ``aggregate_id`` and ``round_``: the same batch in
    every process of the kit's retry race."""
    return [
        event.model_copy(update={"event_id": uuid5(aggregate_id, f"{round_}-{k}")})
        for k, event in enumerate(noted(aggregate_id, 2, prefix=f"r{round_}-"))
    ]


def rich_event(aggregate_id: UUID) -> KitRichEvent:
    """A :class:`KitRichEvent` with every envelope field set to a non-default value."""
    return KitRichEvent(
        event_id=uuid4(),
        aggregate_id=aggregate_id,
        aggregate_type=AGGREGATE_TYPE,
        occurred_at=datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=UTC),
        tenant_id=uuid4(),
        actor_id="kit-actor \u00e9\u00e8 \u2603",
        correlation_id=uuid4(),
        causation_id=uuid4(),
        metadata={
            "source": "kit",
            "count": 3,
            "ratio": 0.25,
            "ok": True,
            "none": None,
            "list": [1, "two", {"three": 3}],
            "nested": {"deep": {"deeper": ["x"]}},
            "unicode": "\u65e5\u672c \U0001f600",
        },
        ref=uuid4(),
        at=datetime(1999, 12, 31, 12, 0, 0, 1, tzinfo=UTC) + timedelta(hours=1),
        amounts=[0, -1, 2**53],
        ratio=1.5,
        flag=False,
        text='quotes " and \\ backslash and \n newline',
        nested={"a": [1, 2], "b": {"c": None}},
    )
