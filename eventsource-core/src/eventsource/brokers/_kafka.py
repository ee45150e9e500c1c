"""Kafka on aiokafka: an idempotent producer with ``acks="all"`` keyed by aggregate id, and a
minimal consumer committing after the handler. (No Kafka broker runs where this is tested:
the message building and the error handling are tested at the client boundary.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

from ..exceptions import InvalidBackendURLError
from ..repositories import OutboxEntry
from ._clients import require
from ._consumer import BrokerConsumer, Delivery, EventHandler
from ._message import BrokerMessage, EntryRoute
from ._publisher import BrokerPublisher

__all__ = [
    "DEFAULT_KAFKA_URL",
    "DEFAULT_TOPIC",
    "KafkaConsumer",
    "KafkaProducerLike",
    "KafkaPublisher",
    "bootstrap_servers",
    "kafka_record",
]

DEFAULT_KAFKA_URL = "kafka://127.0.0.1:9092"
DEFAULT_TOPIC = "eventsource.events"


class KafkaProducerLike(Protocol):
    """The part of ``aiokafka.AIOKafkaProducer`` the publisher uses."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send_and_wait(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        timestamp_ms: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Any: ...


def bootstrap_servers(url: str) -> str:
    """``kafka://host1:9092,host2:9092`` as aiokafka's ``"host1:9092,host2:9092"``."""
    parts = urlsplit(url)
    if parts.scheme != "kafka" or not parts.netloc:
        raise InvalidBackendURLError(f"not a kafka:// URL with hosts: {url!r}")
    return parts.netloc


def kafka_record(topic: str, message: BrokerMessage) -> dict[str, Any]:
    """The keyword arguments of ``send_and_wait`` for ``message``: key = aggregate id (so one
    aggregate's events share a partition, in order), value = the event's JSON, headers."""
    return {
        "topic": topic,
        "value": message.body,
        "key": message.key.encode(),
        "headers": [(name, value.encode()) for name, value in message.headers.items()],
    }


def _aiokafka_producer(**options: Any) -> KafkaProducerLike:
    import aiokafka

    producer: KafkaProducerLike = aiokafka.AIOKafkaProducer(**options)
    return producer


class KafkaPublisher(BrokerPublisher):
    """Sends each entry to ``topic`` (or ``topic(entry)``) with ``send_and_wait`` on an
    idempotent producer (``enable_idempotence=True``, ``acks="all"``): the call returns once
    every in-sync replica has the record. The key is the aggregate id, so each aggregate's
    events keep their order within a partition.

    Kafka's idempotent producer drops the producer's own internal retries; a publish retried
    by the relay (after a timeout or a crash) is a new record: delivery is at-least-once,
    deduplicate by the ``event-id`` header. ``producer_factory(**options)`` builds the
    producer (default ``aiokafka.AIOKafkaProducer``); ``producer_options`` are passed on.
    """

    broker = "kafka"

    def __init__(
        self,
        url: str = DEFAULT_KAFKA_URL,
        *,
        topic: str | EntryRoute = DEFAULT_TOPIC,
        producer_factory: Callable[..., KafkaProducerLike] | None = None,
        producer_options: dict[str, Any] | None = None,
        connect_timeout: float = 10.0,
        confirm_timeout: float = 10.0,
    ) -> None:
        if producer_factory is None:
            require("aiokafka")
        super().__init__(url, connect_timeout=connect_timeout, confirm_timeout=confirm_timeout)
        self.topic = topic
        self.producer_factory = producer_factory or _aiokafka_producer
        self.producer_options = {
            "bootstrap_servers": bootstrap_servers(url),
            "enable_idempotence": True,
            "acks": "all",
            "request_timeout_ms": int(confirm_timeout * 1000),
            **(producer_options or {}),
        }
        self._producer: KafkaProducerLike | None = None

    async def _open(self) -> None:
        producer = self.producer_factory(**self.producer_options)
        self._producer = producer
        await producer.start()

    async def _close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def _send(self, entry: OutboxEntry, message: BrokerMessage) -> bool:
        producer = self._producer
        assert producer is not None  # connected by __call__
        topic = self.topic if isinstance(self.topic, str) else self.topic(entry)
        await producer.send_and_wait(**kafka_record(topic, message))
        return False

    def _is_refusal(self, exc: BaseException) -> bool:
        # aiokafka marks the errors worth retrying (connection, leadership, timeouts) as
        # retriable; the others (a record too large, no authorisation) are refusals.
        retriable = getattr(exc, "retriable", None)
        return retriable is False and type(exc).__name__ != "KafkaTimeoutError"


class KafkaConsumer(BrokerConsumer):
    """Reads ``topic`` in the consumer group ``group_id`` with auto-commit off and commits
    each record's offset after the handler returned; when it raised, the partition is
    rewound to that record so it is read again."""

    broker = "kafka"

    def __init__(
        self,
        url: str,
        handler: EventHandler,
        *,
        topic: str = DEFAULT_TOPIC,
        group_id: str = "eventsource",
        consumer_factory: Callable[..., Any] | None = None,
        consumer_options: dict[str, Any] | None = None,
        **options: Any,
    ) -> None:
        if consumer_factory is None:
            require("aiokafka")
        super().__init__(url, handler, **options)
        self.topic = topic
        self.consumer_factory = consumer_factory or _aiokafka_consumer
        self.consumer_options = {
            "bootstrap_servers": bootstrap_servers(url),
            "group_id": group_id,
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            **(consumer_options or {}),
        }
        self._consumer: Any = None

    async def _open(self) -> None:
        self._consumer = self.consumer_factory(self.topic, **self.consumer_options)
        await self._consumer.start()

    async def _close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()

    async def _fetch(self, limit: int, timeout: float) -> list[Delivery]:
        consumer = self._consumer
        batches = await consumer.getmany(timeout_ms=int(timeout * 1000), max_records=limit)
        deliveries = []
        rewound: set[Any] = set()  # a partition is rewound to its first record handed back
        for partition, records in batches.items():
            for record in records:
                deliveries.append(_delivery(consumer, partition, record, rewound))
        return deliveries


def _aiokafka_consumer(topic: str, **options: Any) -> Any:
    import aiokafka

    return aiokafka.AIOKafkaConsumer(topic, **options)


def _delivery(consumer: Any, partition: Any, record: Any, rewound: set[Any]) -> Delivery:
    async def ack() -> None:
        await consumer.commit({partition: record.offset + 1})

    async def nack() -> None:
        if partition not in rewound:
            rewound.add(partition)
            consumer.seek(partition, record.offset)

    return Delivery(record.value, ack, nack)
