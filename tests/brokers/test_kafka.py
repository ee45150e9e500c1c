"""Kafka without a broker (none runs here): the records the publisher builds and its error
handling, tested at the client boundary with a stand-in for aiokafka's producer that records
what it is given and raises aiokafka's own errors; and the real aiokafka producer against a
port where nothing listens."""

from __future__ import annotations

import uuid
from typing import Any

import aiokafka.errors
import pytest

from eventsource import (
    Backend,
    BrokerUnavailableError,
    DomainEvent,
    InvalidBackendURLError,
)
from eventsource.brokers import KafkaConsumer, KafkaPublisher, open_publisher
from eventsource.repositories import OutboxStatus
from eventsource.runtime import Backoff, OutboxRelay

from ._events import BrOrderPlaced
from .conftest import closed_port


class RecordingProducer:
    """Stands in for AIOKafkaProducer: records its options and each send; a send raises the
    next of ``failures`` (shared by every instance, as the broker's state would be)."""

    instances: list[RecordingProducer] = []
    failures: list[BaseException] = []

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.sent: list[dict[str, Any]] = []
        self.started = self.stopped = False
        RecordingProducer.instances.append(self)

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def send_and_wait(self, topic: str, **record: Any) -> None:
        if RecordingProducer.failures:
            raise RecordingProducer.failures.pop(0)
        self.sent.append({"topic": topic, **record})


@pytest.fixture(autouse=True)
def _fresh() -> None:
    RecordingProducer.instances.clear()
    RecordingProducer.failures.clear()


async def test_idempotent_acks_all_keyed_by_aggregate(backend: Backend) -> None:
    event = BrOrderPlaced(aggregate_id=uuid.uuid4(), sku="A", quantity=3, causation_id=uuid.uuid4())
    await backend.outbox.add_event(event)
    async with KafkaPublisher(
        "kafka://broker-a:9092,broker-b:9092", topic="orders", producer_factory=RecordingProducer
    ) as pub:
        assert await OutboxRelay(backend.outbox, pub).drain() == 1
    [producer] = RecordingProducer.instances
    assert producer.options["bootstrap_servers"] == "broker-a:9092,broker-b:9092"
    assert producer.options["enable_idempotence"] is True
    assert producer.options["acks"] == "all"
    assert producer.started and producer.stopped
    [record] = producer.sent
    assert record["topic"] == "orders"
    assert record["key"] == str(event.aggregate_id).encode()
    headers = dict(record["headers"])
    assert headers["event-id"] == str(event.event_id).encode()
    assert headers["event-type"] == b"BrOrderPlaced"
    assert headers["event-version"] == b"1"
    assert headers["aggregate-type"] == b"Order"
    assert headers["correlation-id"] == str(event.correlation_id).encode()
    assert headers["causation-id"] == str(event.causation_id).encode()
    assert BrOrderPlaced.model_validate_json(record["value"]) == event


async def test_retriable_errors_are_retried_and_others_refused(backend: Backend) -> None:
    first = await backend.outbox.add_event(
        BrOrderPlaced(aggregate_id=uuid.uuid4(), sku="A", quantity=1)
    )
    pub = KafkaPublisher(producer_factory=RecordingProducer)
    relay = OutboxRelay(backend.outbox, pub, max_attempts=3, backoff=Backoff(0, jitter=0))
    await pub.connect()
    RecordingProducer.failures[:] = [
        aiokafka.errors.KafkaConnectionError("gone"),
        aiokafka.errors.KafkaTimeoutError(),
    ]
    await relay.run_once()  # connection error: retried, reconnects
    await relay.run_once()  # timeout: retried
    await relay.run_once()  # published
    entry = await backend.outbox.get_entry(first)
    assert entry.status is OutboxStatus.PUBLISHED
    assert entry.retry_count == 2
    assert "BrokerUnavailableError" in (entry.last_error or "")
    assert len(RecordingProducer.instances) == 3  # each unavailable error dropped the producer
    assert all(p.stopped for p in RecordingProducer.instances[:2])

    second = await backend.outbox.add_event(
        BrOrderPlaced(aggregate_id=uuid.uuid4(), sku="B", quantity=1)
    )
    await pub.connect()
    too_big = aiokafka.errors.MessageSizeTooLargeError()
    RecordingProducer.failures[:] = [too_big, too_big, too_big]
    for _ in range(3):
        await relay.run_once()
    failed = await backend.outbox.get_entry(second)
    assert failed.status is OutboxStatus.FAILED
    assert "PublishRejectedError" in (failed.last_error or "")
    await pub.close()


async def test_the_real_client_with_no_broker_is_unavailable(backend: Backend) -> None:
    pub = KafkaPublisher(f"kafka://127.0.0.1:{closed_port()}", connect_timeout=3.0)
    with pytest.raises(BrokerUnavailableError, match="kafka"):
        await pub.connect()
    await backend.outbox.add_event(BrOrderPlaced(aggregate_id=uuid.uuid4(), sku="A", quantity=1))
    relay = OutboxRelay(backend.outbox, pub, max_attempts=2, backoff=Backoff(0, jitter=0))
    await relay.run_once()
    await relay.run_once()
    assert (await backend.outbox.get_stats()).failed_count == 1
    await pub.close()


def test_kafka_urls() -> None:
    pub = open_publisher("kafka://k1:9092,k2:9093?topic=orders&confirm_timeout=2.5")
    assert isinstance(pub, KafkaPublisher)
    assert pub.topic == "orders" and pub.confirm_timeout == 2.5
    assert pub.producer_options["bootstrap_servers"] == "k1:9092,k2:9093"
    with pytest.raises(InvalidBackendURLError):
        KafkaPublisher("amqp://nope")


class RecordingConsumer:
    """Stands in for AIOKafkaConsumer: hands out records, records commits and seeks."""

    def __init__(self, topic: str, **options: Any) -> None:
        self.options = options
        self.records: list[Any] = []
        self.commits: list[dict[Any, int]] = []
        self.seeks: list[tuple[Any, int]] = []

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[Any, list[Any]]:
        batch, self.records = self.records[:max_records], self.records[max_records:]
        return {"p0": batch} if batch else {}

    async def commit(self, offsets: dict[Any, int]) -> None:
        self.commits.append(offsets)

    def seek(self, partition: Any, offset: int) -> None:
        self.seeks.append((partition, offset))


class _Record:
    def __init__(self, offset: int, value: bytes) -> None:
        self.offset, self.value = offset, value


async def test_consumer_commits_after_the_handler_and_rewinds_on_failure() -> None:
    events = [BrOrderPlaced(aggregate_id=uuid.uuid4(), sku=s, quantity=1) for s in "ABC"]
    made: list[RecordingConsumer] = []

    def factory(topic: str, **options: Any) -> RecordingConsumer:
        made.append(RecordingConsumer(topic, **options))
        made[-1].records = [_Record(i, e.model_dump_json().encode()) for i, e in enumerate(events)]
        return made[-1]

    seen: list[DomainEvent] = []

    async def handler(event: DomainEvent) -> None:
        if event.sku == "B" and not any(e.sku == "B" for e in seen):  # type: ignore[attr-defined]
            seen.append(event)
            raise RuntimeError("handler failed")
        seen.append(event)

    consumer = KafkaConsumer("kafka://k:9092", handler, consumer_factory=factory)
    with pytest.raises(RuntimeError):
        await consumer.consume(idle_timeout=0.1)
    [kafka] = made
    assert kafka.options["enable_auto_commit"] is False
    assert kafka.commits == [{"p0": 1}]  # A committed; B and C not
    assert kafka.seeks == [("p0", 1)]  # rewound to B (not to C)
    await consumer.close()
