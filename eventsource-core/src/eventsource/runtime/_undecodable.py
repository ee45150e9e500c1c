"""Undecodable (poison) events as the DLQ holds them: the stored text and where it sits, in a
wrapper that can never be mistaken for an event."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from .._exceptions import EventDecodeError, InvalidArgumentError
from ..events import DomainEvent, EventRegistry
from ..stores._decoding import decode_stored_event
from ..values import MAX_IDENTIFIER_LENGTH, check_identifier, clean_text

__all__ = ["UndecodableEvent", "parkable_event_type"]


@dataclass(frozen=True, slots=True)
class UndecodableEvent:
    """A stored event that could not be decoded, as parked in the DLQ.

    Its DLQ ``event_data`` is ``{"$undecodable": {...}}``, holding these fields; the stored
    payload is kept as a string (``raw_payload``), so any entry parks on every backend
    whatever the text holds, and the wrapper has no ``event_type`` of its own, so
    ``EventRegistry.decode_dict`` refuses it rather than mistake it for an event.
    """

    #: The only key of the wrapper dict.
    KEY: ClassVar[str] = "$undecodable"

    raw_payload: str
    event_type: str
    event_version: int | None
    event_id: str | None
    global_position: int | None
    stream_id: str | None
    stream_position: int | None

    @classmethod
    def from_error(cls, error: EventDecodeError) -> UndecodableEvent:
        """The row an :class:`EventDecodeError` names."""
        return cls(
            raw_payload=error.raw_payload,
            event_type=error.event_type,
            event_version=error.event_version,
            event_id=None if error.event_id is None else str(error.event_id),
            global_position=error.global_position,
            stream_id=error.stream_id,
            stream_position=error.stream_position,
        )

    @classmethod
    def from_event_data(cls, data: Mapping[str, Any]) -> UndecodableEvent | None:
        """The undecodable event a DLQ entry's ``event_data`` wraps; None for a real event."""
        inner = data.get(cls.KEY) if len(data) == 1 else None
        if not isinstance(inner, Mapping):
            return None
        raw = inner.get("raw_payload")
        event_type = inner.get("event_type")
        if not isinstance(raw, str) or not isinstance(event_type, str):
            return None
        return cls(
            raw_payload=raw,
            event_type=event_type,
            event_version=_int_or_none(inner.get("event_version")),
            event_id=_str_or_none(inner.get("event_id")),
            global_position=_int_or_none(inner.get("global_position")),
            stream_id=_str_or_none(inner.get("stream_id")),
            stream_position=_int_or_none(inner.get("stream_position")),
        )

    def to_event_data(self) -> dict[str, Any]:
        """The DLQ ``event_data`` of this entry."""
        return {self.KEY: asdict(self)}

    @property
    def dlq_event_id(self) -> UUID:
        """The id the DLQ entry is keyed by: the row's event id, or one derived from its
        position when the backend could not name the id."""
        if self.event_id is not None:
            try:
                return UUID(self.event_id)
            except ValueError:
                pass
        return uuid5(NAMESPACE_URL, f"eventsource:undecodable:{self.global_position}")

    @property
    def dlq_event_type(self) -> str:
        """The event type the DLQ entry is filed under: the row's, or a readable stand-in when
        that is not a valid identifier (empty, too long, holding NUL), which every backend's
        DLQ refuses (:func:`parkable_event_type`). The row's own type stays in
        :attr:`event_type`, which is what replay decodes with."""
        return parkable_event_type(self.event_type)

    def decode(self, registry: EventRegistry) -> DomainEvent:
        """The event decoded from ``raw_payload`` by ``registry`` (after its class was fixed);
        raises :class:`EventDecodeError` while it still cannot be decoded."""
        return decode_stored_event(
            registry,
            self.raw_payload,
            self.event_type,
            self.event_version,
            self.global_position,
            self.stream_id,
            self.stream_position,
            self.event_id,
        )


def parkable_event_type(event_type: str) -> str:
    """``event_type`` if it is a valid identifier, else a stand-in that is: NUL and lone
    surrogates escaped, cut to the identifier limit (saying how long it was), ``(empty)``
    for an empty one."""
    try:
        return check_identifier(event_type, "event_type")
    except InvalidArgumentError:
        pass
    text = clean_text(event_type) if isinstance(event_type, str) else ""
    if not text:
        return "(empty)"
    if len(text) > MAX_IDENTIFIER_LENGTH:
        marker = f"...[{len(event_type)} characters]"
        text = text[: MAX_IDENTIFIER_LENGTH - len(marker)] + marker
    return text


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
