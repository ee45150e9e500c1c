"""eventsource-py 0.5.0's read-side type converter (``eventsource.stores._type_converter``).

Our stores do not need it: they decode each stored document with its registered pydantic
class, which turns ISO text into datetimes and UUID text into UUIDs by the field types. It is
kept for code of its users that converts raw event dicts themselves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, Self, runtime_checkable
from uuid import UUID

__all__ = [
    "DEFAULT_STRING_ID_FIELDS",
    "DEFAULT_UUID_FIELDS",
    "DefaultTypeConverter",
    "TypeConverter",
]

DEFAULT_UUID_FIELDS: frozenset[str] = frozenset(
    {
        "event_id",
        "aggregate_id",
        "tenant_id",
        "correlation_id",
        "causation_id",
        "template_id",
        "issuance_id",
        "user_id",
    }
)
DEFAULT_STRING_ID_FIELDS: frozenset[str] = frozenset(
    {
        "actor_id",
        "issuer_id",
        "recipient_id",
        "invited_by",
        "assigned_by",
        "revoked_by",
        "deactivated_by",
        "reactivated_by",
        "removed_by",
    }
)


@runtime_checkable
class TypeConverter(Protocol):
    """Converts a raw event dict's UUID and datetime strings to those types."""

    def convert_types(self, data: Any) -> Any:
        """``data`` with its UUID and datetime fields converted (nested too)."""

    def is_uuid_field(self, key: str) -> bool:
        """True when ``key`` holds a UUID."""

    def is_datetime_field(self, key: str) -> bool:
        """True when ``key`` holds a datetime."""


class DefaultTypeConverter:
    """UUID fields: the uuid set, else not the string-id set and (auto-detected) ``*_id``;
    datetime fields: ``occurred_at`` and ``*_at``. A value that does not parse is kept."""

    def __init__(
        self,
        *,
        uuid_fields: set[str] | None = None,
        string_id_fields: set[str] | None = None,
        auto_detect_uuid: bool = True,
        use_defaults: bool = True,
    ) -> None:
        self.uuid_fields = set(uuid_fields or ()) | (
            set(DEFAULT_UUID_FIELDS) if use_defaults else set()
        )
        self.string_id_fields = set(string_id_fields or ()) | (
            set(DEFAULT_STRING_ID_FIELDS) if use_defaults else set()
        )
        self.auto_detect_uuid = auto_detect_uuid

    @classmethod
    def strict(cls, uuid_fields: set[str]) -> Self:
        """Only ``uuid_fields`` are UUIDs: no defaults, no auto-detection."""
        return cls(uuid_fields=uuid_fields, auto_detect_uuid=False, use_defaults=False)

    def is_uuid_field(self, key: str) -> bool:
        """True when ``key`` holds a UUID."""
        if key in self.uuid_fields:
            return True
        if key in self.string_id_fields:
            return False
        return self.auto_detect_uuid and key.endswith("_id")

    def is_datetime_field(self, key: str) -> bool:
        """True when ``key`` holds a datetime."""
        return key == "occurred_at" or key.endswith("_at")

    def convert_types(self, data: Any) -> Any:
        """``data`` with its UUID and datetime strings converted, nested dicts and lists too."""
        if isinstance(data, list):
            return [self.convert_types(item) for item in data]
        if not isinstance(data, dict):
            return data
        out: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, str) and self.is_uuid_field(key):
                out[key] = _parse(UUID, value)
            elif isinstance(value, str) and self.is_datetime_field(key):
                out[key] = _parse(datetime.fromisoformat, value.replace("Z", "+00:00"), value)
            else:
                out[key] = self.convert_types(value)
        return out


def _parse(parse: Any, text: str, original: str | None = None) -> Any:
    try:
        return parse(text)
    except ValueError:
        return text if original is None else original
