"""0.5.0's bus names: the in-memory bus's dispatch and counters, and the Redis and RabbitMQ
buses publishing to and consuming from the real brokers (Kafka's: its mapping only)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import aio_pika
import pytest
import redis.asyncio

from eventsource import BrokerError, DomainEvent
from eventsource import bus as bus_module
from eventsource.brokers import KafkaPublisher
from eventsource.bus import (
    EventBus,
    EventBusError,
    InMemoryEventBus,
    KafkaEventBus,
    KafkaEventBusConfig,
    RabbitMQEventBus,
    RabbitMQEventBusConfig,
    RedisEventBus,
    RedisEventBusConfig,
    RedisEventBusStats,
)

from ._events import BrOrderPlaced


class BrOrderShipped(DomainEvent):
    aggregate_type: str = "Order"


def test_the_050_names_are_there() -> None:
    for prefix in ("Redis", "RabbitMQ", "Kafka"):
        for suffix in ("EventBus", "EventBusConfig", "EventBusStats", "NotAvailableError"):
            assert f"{prefix}{suffix}" in bus_module.__all__
        assert f"{prefix.upper()}_AVAILABLE" in bus_module.__all__
    assert bus_module.REDIS_AVAILABLE and bus_module.RABBITMQ_AVAILABLE
    assert EventBusError is BrokerError
    assert issubclass(RedisEventBus, EventBus) and issubclass(InMemoryEventBus, EventBus)


async def test_in_memory_bus_dispatches_on_the_exact_class_and_to_wildcards() -> None:
    bus = InMemoryEventBus()
    placed: list[DomainEvent] = []
    everything: list[DomainEvent] = []

    async def on_placed(event: DomainEvent) -> None:
        placed.append(event)

    def failing(event: DomainEvent) -> None:
        raise RuntimeError("swallowed and counted")

    bus.subscribe(BrOrderPlaced, on_placed)
    bus.subscribe(BrOrderPlaced, failing)
    bus.subscribe_to_all_events(everything.append)
    first = BrOrderPlaced(aggregate_id=uuid.uuid4(), sku="A", quantity=1)
    second = BrOrderShipped(aggregate_id=first.aggregate_id)
    await bus.publish([first, second])
    await bus.publish([first], background=True)
    await bus.shutdown()
    assert placed == [first, first]
    assert everything == [first, second, first]
    assert bus.published_events == [first, second, first]
    assert bus.get_stats() == {
        "events_published": 3,
        "handlers_invoked": 7,
        "handler_errors": 2,
        "background_tasks_created": 1,
        "background_tasks_completed": 1,
    }
    assert bus.get_subscriber_count(BrOrderPlaced) == 2 and bus.get_subscriber_count() == 2
    assert bus.get_wildcard_subscriber_count() == 1
    assert bus.unsubscribe(BrOrderPlaced, failing) and not bus.unsubscribe(BrOrderPlaced, failing)
    assert bus.unsubscribe_from_all_events(everything.append)
    bus.clear_subscribers()
    assert bus.get_subscriber_count() == 0 and bus.get_background_task_count() == 0


@pytest.fixture
async def redis_cleanup(redis_url: str, name: str) -> AsyncIterator[None]:
    yield
    async with redis.asyncio.Redis.from_url(redis_url) as client:
        keys = [key async for key in client.scan_iter(match=f"{name}*")]
        keys += [key async for key in client.scan_iter(match="eventsource:dedupe:*")]
        if keys:
            await client.delete(*keys)


async def test_redis_bus_round_trip(redis_url: str, name: str, redis_cleanup: None) -> None:
    config = RedisEventBusConfig(redis_url=redis_url, stream_prefix=name, consumer_group="g")
    got: list[DomainEvent] = []
    event = BrOrderPlaced(aggregate_id=uuid.uuid4(), sku="A", quantity=1)
    async with RedisEventBus(config) as bus:
        bus.subscribe(BrOrderPlaced, got.append)
        await bus.publish([event])
        assert await bus.consume(idle_timeout=1) == 1
        stats = bus.get_stats()
    assert got == [event]
    assert isinstance(stats, RedisEventBusStats)
    assert (stats.events_published, stats.events_consumed, stats.handlers_invoked) == (1, 1, 1)


async def test_rabbitmq_bus_round_trip(rabbitmq_url: str, name: str) -> None:
    config = RabbitMQEventBusConfig(rabbitmq_url=rabbitmq_url, exchange_name=name)
    got: list[DomainEvent] = []
    event = BrOrderPlaced(aggregate_id=uuid.uuid4(), sku="A", quantity=1)
    try:
        async with RabbitMQEventBus(config) as bus:
            bus.subscribe_to_all_events(got.append)
            await bus.consume(idle_timeout=0.1)  # declares and binds the queue
            await bus.publish([event])
            assert await bus.consume(1, idle_timeout=5) == 1
    finally:
        connection = await aio_pika.connect(rabbitmq_url)
        async with connection:
            channel = await connection.channel()
            await channel.queue_delete(config.queue)
            await channel.exchange_delete(name)
    assert got == [event]


def test_kafka_bus_maps_onto_the_kafka_publisher() -> None:
    bus = KafkaEventBus(KafkaEventBusConfig(bootstrap_servers="k1:9092", topic_prefix="orders"))
    publisher = bus._publisher
    assert isinstance(publisher, KafkaPublisher)
    assert publisher.topic == "orders.stream"
    assert publisher.producer_options["bootstrap_servers"] == "k1:9092"
    assert publisher.producer_options["acks"] == "all"
