"""0.5.0's broker buses (Redis, RabbitMQ, Kafka) and their configs and stats, as thin
shells over :mod:`eventsource.brokers`: ``publish`` sends each event through the broker's
publisher (returning once the broker confirmed it) and consuming hands each decoded event to
the subscribed handlers, acknowledging it after they ran."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, ClassVar, Self
from uuid import uuid4

from ..brokers import (
    BrokerConsumer,
    BrokerPublisher,
    KafkaConsumer,
    KafkaPublisher,
    RabbitMQConsumer,
    RabbitMQPublisher,
    RedisStreamConsumer,
    RedisStreamPublisher,
)
from ..events import DomainEvent, EventRegistry, serialize_event
from ..exceptions import BrokerError
from ..repositories import OutboxEntry
from ._base import EventBus

__all__ = [
    "KafkaEventBus",
    "KafkaEventBusConfig",
    "KafkaEventBusStats",
    "RabbitMQEventBus",
    "RabbitMQEventBusConfig",
    "RabbitMQEventBusStats",
    "RedisEventBus",
    "RedisEventBusConfig",
    "RedisEventBusStats",
]


@dataclass
class _BusStats:
    events_published: int = 0
    publish_errors: int = 0
    events_consumed: int = 0
    handlers_invoked: int = 0
    handler_errors: int = 0


@dataclass
class RedisEventBusStats(_BusStats):
    """Counters of a :class:`RedisEventBus`."""


@dataclass
class RabbitMQEventBusStats(_BusStats):
    """Counters of a :class:`RabbitMQEventBus`."""


@dataclass
class KafkaEventBusStats(_BusStats):
    """Counters of a :class:`KafkaEventBus`."""


@dataclass
class RedisEventBusConfig:
    """Where a :class:`RedisEventBus` publishes: the stream ``<stream_prefix>:stream``,
    read by ``consumer_name`` in the group ``consumer_group``; ``max_stream_length`` caps it
    (``MAXLEN ~``); ``dedupe`` adds each event id once (see
    :class:`~eventsource.brokers.RedisStreamPublisher`)."""

    redis_url: str = "redis://localhost:6379"
    stream_prefix: str = "events"
    consumer_group: str = "default"
    consumer_name: str = field(default_factory=lambda: f"consumer-{uuid4().hex[:8]}")
    batch_size: int = 100
    block_ms: int = 5000
    max_stream_length: int | None = None
    dedupe: bool = True

    @property
    def stream_name(self) -> str:
        """The stream events go to."""
        return f"{self.stream_prefix}:stream"


@dataclass
class RabbitMQEventBusConfig:
    """Where a :class:`RabbitMQEventBus` publishes: the durable ``exchange_type`` exchange
    ``exchange_name`` (routing key ``<aggregate type>.<event type>``), consumed from the
    durable queue ``queue_name`` (default ``<exchange_name>.<consumer_group>``) bound with
    ``routing_key_pattern``."""

    rabbitmq_url: str = "amqp://guest:guest@localhost:5672/"
    exchange_name: str = "events"
    exchange_type: str = "topic"
    consumer_group: str = "default"
    queue_name: str | None = None
    routing_key_pattern: str = "#"
    prefetch_count: int = 10
    batch_size: int = 100

    @property
    def queue(self) -> str:
        """The queue the bus consumes."""
        return self.queue_name or f"{self.exchange_name}.{self.consumer_group}"


@dataclass
class KafkaEventBusConfig:
    """Where a :class:`KafkaEventBus` publishes: the topic ``<topic_prefix>.stream`` (key =
    aggregate id), read in the consumer group ``consumer_group``."""

    bootstrap_servers: str = "localhost:9092"
    topic_prefix: str = "events"
    consumer_group: str = "default"
    batch_size: int = 100
    producer_options: dict[str, Any] = field(default_factory=dict)
    consumer_options: dict[str, Any] = field(default_factory=dict)

    @property
    def topic_name(self) -> str:
        """The topic events go to."""
        return f"{self.topic_prefix}.stream"


def _entry_for(event: DomainEvent) -> OutboxEntry:
    """An outbox-style record of ``event``, for the broker publishers."""
    return OutboxEntry(
        id=uuid4(),
        event_id=event.event_id,
        event_type=event.event_type,
        aggregate_id=event.aggregate_id,
        aggregate_type=event.aggregate_type,
        tenant_id=event.tenant_id,
        event_data=json.loads(serialize_event(event)),
        created_at=datetime.now(UTC),
    )


class _BrokerEventBus(EventBus):
    """Publishing through a broker publisher, consuming through its consumer."""

    stats_class: ClassVar[type[_BusStats]] = _BusStats

    def __init__(
        self,
        *,
        event_registry: EventRegistry | None = None,
        tracer: Any = None,
        enable_tracing: bool = True,
    ) -> None:
        super().__init__()
        self.event_registry = event_registry
        self._stats = self.stats_class()
        self._publisher = self._make_publisher()
        self._consumer: BrokerConsumer | None = None
        self._consuming: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()

    def _make_publisher(self) -> BrokerPublisher:
        raise NotImplementedError

    def _make_consumer(self) -> BrokerConsumer:
        raise NotImplementedError

    @property
    def stats(self) -> _BusStats:
        """The bus's counters (live)."""
        return self._stats

    def get_stats(self) -> _BusStats:
        """A copy of the counters."""
        return type(self._stats)(**vars(self._stats))

    @property
    def is_connected(self) -> bool:
        """Whether the publishing connection is open."""
        return bool(self._publisher._connected)

    async def connect(self) -> None:
        """Open the publishing connection (publishing also opens it on first use)."""
        await self._publisher.connect()

    async def disconnect(self) -> None:
        """Stop consuming and close every connection."""
        await self.stop_consuming()
        for task in list(self._background):
            with contextlib.suppress(Exception):
                await task
        await self._publisher.close()

    close = disconnect

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.disconnect()

    async def publish(self, events: list[DomainEvent], background: bool = False) -> None:
        """Send ``events`` in order, each confirmed by the broker before the next; raises
        :class:`~eventsource.BrokerError` when one was not (``background=True``: in a task,
        errors logged and counted)."""
        if background:
            task = asyncio.create_task(self._publish_all(list(events)))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            return
        await self._publish_all(events)

    async def _publish_all(self, events: list[DomainEvent]) -> None:
        for event in events:
            try:
                await self._publisher(_entry_for(event))
            except BrokerError:
                self._stats.publish_errors += 1
                raise
            self._stats.events_published += 1

    async def _on_event(self, event: DomainEvent) -> None:
        invoked, errors = await self.dispatch(event)
        self._stats.events_consumed += 1
        self._stats.handlers_invoked += invoked
        self._stats.handler_errors += errors

    async def consume(self, limit: int | None = None, *, idle_timeout: float = 1.0) -> int:
        """Dispatch up to ``limit`` received events (until none arrives for
        ``idle_timeout`` seconds) to the subscribed handlers; returns how many."""
        if self._consumer is None:
            self._consumer = self._make_consumer()
        return await self._consumer.consume(limit, idle_timeout=idle_timeout)

    async def start_consuming(self) -> None:
        """Consume in a background task until :meth:`stop_consuming`."""
        if self._consuming is not None and not self._consuming.done():
            return
        if self._consumer is None:
            self._consumer = self._make_consumer()
        self._consuming = asyncio.create_task(self._consumer.run(poll_interval=0.5))

    async def stop_consuming(self) -> None:
        """Stop the background consumer and close its connection."""
        consumer, task = self._consumer, self._consuming
        self._consumer = self._consuming = None
        if consumer is not None:
            consumer.stop()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if consumer is not None:
            await consumer.close()


class RedisEventBus(_BrokerEventBus):
    """0.5.0's Redis bus, on :class:`~eventsource.brokers.RedisStreamPublisher` and
    :class:`~eventsource.brokers.RedisStreamConsumer`."""

    stats_class = RedisEventBusStats

    def __init__(self, config: RedisEventBusConfig | None = None, **options: Any) -> None:
        self.config = config or RedisEventBusConfig()
        super().__init__(**options)

    def _make_publisher(self) -> BrokerPublisher:
        c = self.config
        return RedisStreamPublisher(
            c.redis_url, stream=c.stream_name, maxlen=c.max_stream_length or 0, dedupe=c.dedupe
        )

    def _make_consumer(self) -> BrokerConsumer:
        c = self.config
        return RedisStreamConsumer(
            c.redis_url,
            self._on_event,
            stream=c.stream_name,
            group=c.consumer_group,
            consumer=c.consumer_name,
            registry=self.event_registry,
            batch_size=c.batch_size,
        )


class RabbitMQEventBus(_BrokerEventBus):
    """0.5.0's RabbitMQ bus, on :class:`~eventsource.brokers.RabbitMQPublisher` and
    :class:`~eventsource.brokers.RabbitMQConsumer`."""

    stats_class = RabbitMQEventBusStats

    def __init__(self, config: RabbitMQEventBusConfig | None = None, **options: Any) -> None:
        self.config = config or RabbitMQEventBusConfig()
        super().__init__(**options)

    def _make_publisher(self) -> BrokerPublisher:
        c = self.config
        return RabbitMQPublisher(
            c.rabbitmq_url, exchange=c.exchange_name, exchange_type=c.exchange_type
        )

    def _make_consumer(self) -> BrokerConsumer:
        c = self.config
        return RabbitMQConsumer(
            c.rabbitmq_url,
            self._on_event,
            queue=c.queue,
            exchange=c.exchange_name,
            exchange_type=c.exchange_type,
            bindings=(c.routing_key_pattern,),
            prefetch=c.prefetch_count,
            registry=self.event_registry,
            batch_size=c.batch_size,
        )


class KafkaEventBus(_BrokerEventBus):
    """0.5.0's Kafka bus, on :class:`~eventsource.brokers.KafkaPublisher` and
    :class:`~eventsource.brokers.KafkaConsumer`."""

    stats_class = KafkaEventBusStats

    def __init__(self, config: KafkaEventBusConfig | None = None, **options: Any) -> None:
        self.config = config or KafkaEventBusConfig()
        super().__init__(**options)

    def _make_publisher(self) -> BrokerPublisher:
        c = self.config
        return KafkaPublisher(
            f"kafka://{c.bootstrap_servers}",
            topic=c.topic_name,
            producer_options=c.producer_options,
        )

    def _make_consumer(self) -> BrokerConsumer:
        c = self.config
        return KafkaConsumer(
            f"kafka://{c.bootstrap_servers}",
            self._on_event,
            topic=c.topic_name,
            group_id=c.consumer_group,
            consumer_options=c.consumer_options,
            registry=self.event_registry,
            batch_size=c.batch_size,
        )
