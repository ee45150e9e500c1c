"""Decoding a stored event, shared by every backend: a row that cannot be decoded (a poison row)
becomes an :class:`EventDecodeError` naming where it is, so readers can stop exactly there."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from .._exceptions import EventDecodeError
from ..events import DomainEvent, EventRegistry

__all__ = ["PageDecoder", "decode_stored_event"]


def decode_stored_event(
    registry: EventRegistry,
    payload: Any,
    event_type: str,
    event_version: int | None,
    global_position: int | None,
    stream_id: str | None,
    stream_position: int | None = None,
    event_id: Any = None,
) -> DomainEvent:
    """The stored JSON ``payload`` decoded by ``registry`` into its event class.

    The other arguments are the row's own columns, not read from the payload: where the row
    is and what it claims to be. When the payload cannot be decoded (invalid JSON, nesting past
    the parser's limit, a document its class refuses, a type the registry does not know) this
    raises :class:`EventDecodeError` carrying them, the stored text unchanged as
    ``raw_payload``, and the decoder's error as ``__cause__``. Costs nothing extra when the
    payload decodes.
    """
    try:
        return registry.deserialize(payload, event_type, event_version)
    except Exception as exc:
        raise _decode_error(
            exc,
            payload,
            event_type,
            event_version,
            global_position,
            stream_id,
            stream_position,
            event_id,
        ) from exc


class PageDecoder:
    """:func:`decode_stored_event` for the rows of one page (or one read): each
    ``(event_type, event_version)`` finds its decoder once (:meth:`EventRegistry.decoder`,
    which skips validation work a stored document cannot need), and every row decodes to
    exactly what :func:`decode_stored_event` gives, or raises the same error. Make one per
    page so that classes registered meanwhile are seen at the next page."""

    __slots__ = ("_decoders", "_registry")

    def __init__(self, registry: EventRegistry) -> None:
        self._registry = registry
        self._decoders: dict[tuple[str, int | None], Callable[[Any], DomainEvent]] = {}

    def __call__(
        self,
        payload: Any,
        event_type: str,
        event_version: int | None,
        global_position: int | None,
        stream_id: str | None,
        stream_position: int | None = None,
        event_id: Any = None,
    ) -> DomainEvent:
        """Decode one row, with the arguments of :func:`decode_stored_event`."""
        decode = self._decoders.get((event_type, event_version))
        if decode is None:
            decode = self._registry.decoder(event_type, event_version)
            self._decoders[(event_type, event_version)] = decode
        try:
            return decode(payload)
        except Exception as exc:
            raise _decode_error(
                exc,
                payload,
                event_type,
                event_version,
                global_position,
                stream_id,
                stream_position,
                event_id,
            ) from exc


def _decode_error(
    cause: Exception,
    payload: Any,
    event_type: str,
    event_version: int | None,
    global_position: int | None,
    stream_id: str | None,
    stream_position: int | None,
    event_id: Any,
) -> EventDecodeError:
    return EventDecodeError(
        f"{type(cause).__name__}: {cause}",
        global_position=global_position,
        stream_id=stream_id,
        stream_position=stream_position,
        event_id=_as_uuid(event_id),
        event_type=event_type,
        event_version=event_version,
        raw_payload=_as_text(payload),
    )


def _as_text(payload: Any) -> str:
    """The stored payload as text: bytes decoded as UTF-8 (undecodable bytes escaped)."""
    if isinstance(payload, str):
        return payload
    if isinstance(payload, bytes | bytearray | memoryview):
        return bytes(payload).decode("utf-8", "backslashreplace")
    return str(payload)


def _as_uuid(value: Any) -> Any:
    """A UUID for an id column stored as text; anything unparsable is kept as it is."""
    if value is None or isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        return value
