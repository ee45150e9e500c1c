"""What every broker is sent for one outbox entry: the body, the message id and the headers;
and how a consumer turns a received body back into its event."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic_core import from_json, to_json

from ..events import DomainEvent, EventRegistry, default_registry
from ..exceptions import SerializationError
from ..repositories import OutboxEntry

__all__ = [
    "HEADERS",
    "BrokerMessage",
    "EntryRoute",
    "decode_event",
    "message_for",
    "safe_token",
]

#: The header names every broker's messages carry (values are text).
HEADERS = (
    "event-id",
    "event-type",
    "event-version",
    "aggregate-id",
    "aggregate-type",
    "correlation-id",
    "causation-id",
    "tenant-id",
    "outbox-id",
)

#: Where an entry goes (an exchange's routing key, a stream, a subject or a topic).
EntryRoute = Callable[[OutboxEntry], str]


@dataclass(frozen=True, slots=True)
class BrokerMessage:
    """One outbox entry as a broker message.

    ``message_id`` is the event id (the idempotency key every broker gets), ``key`` the
    aggregate id (Kafka's partition key), ``body`` the event's JSON document exactly as
    stored, and ``headers`` the names in :data:`HEADERS` (a missing causation or tenant id is
    left out).
    """

    message_id: str
    key: str
    body: bytes
    headers: dict[str, str]


def message_for(entry: OutboxEntry) -> BrokerMessage:
    """The message announcing ``entry``'s event."""
    data = entry.event_data
    headers = {
        "event-id": str(entry.event_id),
        "event-type": entry.event_type,
        "event-version": str(data.get("event_version", 1)),
        "aggregate-id": str(entry.aggregate_id),
        "aggregate-type": entry.aggregate_type,
        "outbox-id": str(entry.id),
    }
    for name, field in (("correlation-id", "correlation_id"), ("causation-id", "causation_id")):
        value = data.get(field)
        if value is not None:
            headers[name] = str(value)
    if entry.tenant_id is not None:
        headers["tenant-id"] = str(entry.tenant_id)
    return BrokerMessage(
        message_id=str(entry.event_id),
        key=str(entry.aggregate_id),
        body=to_json(data),
        headers=headers,
    )


def decode_event(body: bytes | str, registry: EventRegistry | None = None) -> DomainEvent:
    """The event a message body carries, decoded through ``registry`` (default: the default
    registry), upcasters included. A body that is no JSON object raises
    :class:`~eventsource.SerializationError`; an unknown type
    :class:`~eventsource.UnknownEventTypeError`."""
    try:
        data: Any = from_json(body)
    except ValueError as exc:
        raise SerializationError(f"message body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise SerializationError("message body is not a JSON object")
    return (registry if registry is not None else default_registry).decode_dict(data)


def safe_token(text: str) -> str:
    """``text`` usable as one token of a NATS subject or AMQP routing key: dots, spaces and
    wildcards become ``_``."""
    return "".join("_" if ch in ". *>#\t\r\n" else ch for ch in text) or "_"
