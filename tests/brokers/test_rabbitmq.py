"""RabbitMQ against the real server: publisher confirms, persistent messages with the event id
as message id, routing keys, a consumer acking after its handler, a server that is down or
refuses, connections cut mid-run."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import aio_pika
import pytest

from eventsource import Backend, DomainEvent, PublishRejectedError
from eventsource.brokers import RabbitMQConsumer, RabbitMQPublisher
from eventsource.repositories import OutboxStatus
from eventsource.runtime import Backoff, OutboxRelay

from ._events import BrOrderPlaced
from ._proxy import CuttableProxy
from ._relaying import fill, relay_all
from .conftest import closed_port


@pytest.fixture
async def channel(rabbitmq_url: str, name: str) -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    """A channel for checking; deletes this test's queue and exchange afterwards."""
    connection = await aio_pika.connect(rabbitmq_url)
    try:
        opened = await connection.channel()
        yield opened
        await opened.queue_delete(name)
        await opened.exchange_delete(name)
    finally:
        await connection.close()


async def bound_queue(
    channel: aio_pika.abc.AbstractChannel, name: str, binding: str = "#"
) -> aio_pika.abc.AbstractQueue:
    exchange = await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(name, durable=True)
    await queue.bind(exchange, routing_key=binding)
    return queue


async def test_confirmed_persistent_message_with_headers(
    rabbitmq_url: str, name: str, backend: Backend, channel: aio_pika.abc.AbstractChannel
) -> None:
    queue = await bound_queue(channel, name)
    event = BrOrderPlaced(aggregate_id=uuid.uuid4(), sku="A", quantity=2, causation_id=uuid.uuid4())
    await backend.outbox.add_event(event)
    async with RabbitMQPublisher(rabbitmq_url, exchange=name) as pub:
        assert await OutboxRelay(backend.outbox, pub).drain() == 1
    message = await queue.get(timeout=5)
    assert message.message_id == str(event.event_id)
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.routing_key == "Order.BrOrderPlaced"
    assert message.content_type == "application/json"
    assert message.correlation_id == str(event.correlation_id)
    assert message.headers["event-type"] == "BrOrderPlaced"
    assert message.headers["event-version"] == "1"
    assert message.headers["aggregate-id"] == str(event.aggregate_id)
    assert message.headers["aggregate-type"] == "Order"
    assert message.headers["causation-id"] == str(event.causation_id)
    await message.ack()


async def test_routing_key_is_overridable(
    rabbitmq_url: str, name: str, backend: Backend, channel: aio_pika.abc.AbstractChannel
) -> None:
    queue = await bound_queue(channel, name, "orders.*")
    await backend.outbox.add_event(BrOrderPlaced(aggregate_id=uuid.uuid4(), sku="A", quantity=1))
    async with RabbitMQPublisher(
        rabbitmq_url, exchange=name, routing_key=lambda entry: f"orders.{entry.event_type}"
    ) as pub:
        assert await OutboxRelay(backend.outbox, pub).drain() == 1
    message = await queue.get(timeout=5)
    assert message.routing_key == "orders.BrOrderPlaced"
    await message.ack()


async def test_consumer_acks_only_after_the_handler_returned(
    rabbitmq_url: str, name: str, backend: Backend, channel: aio_pika.abc.AbstractChannel
) -> None:
    queue = await bound_queue(channel, name)
    event = BrOrderPlaced(aggregate_id=uuid.uuid4(), sku="A", quantity=1)
    await backend.outbox.add_event(event)
    async with RabbitMQPublisher(rabbitmq_url, exchange=name) as pub:
        await OutboxRelay(backend.outbox, pub).drain()

    async def failing(received: DomainEvent) -> None:
        raise RuntimeError("handler failed")

    async with RabbitMQConsumer(rabbitmq_url, failing, queue=name, exchange=name) as consumer:
        with pytest.raises(RuntimeError, match="handler failed"):
            await consumer.consume(idle_timeout=5)
    seen: list[DomainEvent] = []

    async def handler(received: DomainEvent) -> None:
        seen.append(received)

    async with RabbitMQConsumer(rabbitmq_url, handler, queue=name, exchange=name) as consumer:
        assert await consumer.consume(1, idle_timeout=5) == 1  # requeued, delivered again
    assert seen == [event]
    assert await queue.get(fail=False, timeout=5) is None  # acknowledged: gone


async def test_a_server_that_is_down_fails_the_entry_after_the_retry_budget(
    backend: Backend,
) -> None:
    await backend.outbox.add_event(BrOrderPlaced(aggregate_id=uuid.uuid4(), sku="A", quantity=1))
    down = RabbitMQPublisher(f"amqp://guest:guest@127.0.0.1:{closed_port()}/", connect_timeout=2.0)
    relay = OutboxRelay(backend.outbox, down, max_attempts=3, backoff=Backoff(initial=0, jitter=0))
    for _ in range(3):
        assert (await relay.run_once()).published == 0
    stats = await backend.outbox.get_stats()
    assert (stats.published_count, stats.failed_count) == (0, 1)
    await down.close()


async def test_an_unroutable_message_is_refused_then_failed(
    rabbitmq_url: str, name: str, backend: Backend, channel: aio_pika.abc.AbstractChannel
) -> None:
    entry_id = await backend.outbox.add_event(
        BrOrderPlaced(aggregate_id=uuid.uuid4(), sku="A", quantity=1)
    )
    # the exchange exists but no queue is bound: mandatory makes the broker return it
    async with RabbitMQPublisher(rabbitmq_url, exchange=name) as pub:
        [entry] = await backend.outbox.get_pending_events(1)
        with pytest.raises(PublishRejectedError, match="rabbitmq"):
            await pub(entry)
        await backend.outbox.release(entry.id)
        relay = OutboxRelay(backend.outbox, pub, max_attempts=2, backoff=Backoff(0, jitter=0))
        await relay.run_once()
        await relay.run_once()
    failed = await backend.outbox.get_entry(entry_id)
    assert failed.status is OutboxStatus.FAILED
    assert "PublishRejectedError" in (failed.last_error or "")


async def _cut_run(
    rabbitmq_url: str,
    name: str,
    backend: Backend,
    channel: aio_pika.abc.AbstractChannel,
    total: int,
    cuts: int,
) -> None:
    await bound_queue(channel, name)
    ids = await fill(backend, total)
    target = urlsplit(rabbitmq_url)
    received: Counter[str] = Counter()

    async def handler(event: DomainEvent) -> None:
        received[str(event.event_id)] += 1

    async with CuttableProxy(target.hostname or "127.0.0.1", target.port or 5672) as proxy:
        via = f"amqp://guest:guest@127.0.0.1:{proxy.port}/"
        publishers = [RabbitMQPublisher(via, exchange=name) for _ in range(4)]
        try:
            run = await relay_all(
                backend, publishers, total, cut=proxy.cut, cut_every=total // (cuts + 1), cuts=cuts
            )
        finally:
            for pub in publishers:
                await pub.close()
        reconnects = sum(pub.stats.connects for pub in publishers)
    async with RabbitMQConsumer(rabbitmq_url, handler, queue=name, exchange=name) as consumer:
        await consumer.consume(idle_timeout=3)
    assert run.cuts == cuts
    assert reconnects > len(publishers)  # the cuts broke connections, which were reopened
    assert run.marked_unconfirmed == []
    assert (run.stats.published_count, run.stats.failed_count) == (total, 0)
    assert set(received) == {str(i) for i in ids}  # at least once: none lost
    assert min(received.values()) >= 1


async def test_cut_connections_lose_nothing(
    rabbitmq_url: str, name: str, backend: Backend, channel: aio_pika.abc.AbstractChannel
) -> None:
    await _cut_run(rabbitmq_url, name, backend, channel, total=600, cuts=2)


@pytest.mark.stress
async def test_stress_10000_entries_4_workers_at_least_once_with_cuts(
    rabbitmq_url: str, name: str, backend: Backend, channel: aio_pika.abc.AbstractChannel
) -> None:
    await _cut_run(rabbitmq_url, name, backend, channel, total=10_000, cuts=3)
