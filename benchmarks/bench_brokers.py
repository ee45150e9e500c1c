"""B1 brokers: the outbox relay publishing to RabbitMQ, Redis Streams and NATS JetStream,
beside the broker's client publishing the same messages directly with confirms, same run.

    python benchmarks/bench_brokers.py [--quick] [--rounds N]

Each round fills a fresh SQLite outbox (a file) with 10,000 pending entries (2,000 with
``--quick``; filling is not timed), then:

- ours: one ``OutboxRelay`` (batches of 100) with the broker's publisher from
  ``eventsource.brokers``: claim a batch, publish each entry and wait for the broker's
  confirm, mark the batch published;
- raw: the client library alone sending the same messages (the same bodies, ids and headers;
  each body's JSON made in the loop, as an application would), one at a time, waiting for
  each confirm: aio-pika with
  publisher confirms (persistent, mandatory), redis-py running the same XADD-once script
  (EVALSHA), nats-py's JetStream publish with ``Nats-Msg-Id`` awaiting each ack.

The sides alternate within each round; figures are entries/s, medians of ``rounds``. Target:
ours >= 0.7x raw. The brokers are the local ones (``EVENTSOURCE_TEST_AMQP_URL``, ...).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aio_pika
import nats
import redis.asyncio

from _report import Row, format_table
from eventsource import DomainEvent, open_backend
from eventsource.brokers import (
    BrokerMessage,
    BrokerPublisher,
    NatsJetStreamPublisher,
    RabbitMQPublisher,
    RedisStreamPublisher,
    message_for,
)
from eventsource.brokers._redis import _XADD_ONCE
from eventsource.repositories import OutboxEntry
from eventsource.runtime import OutboxRelay

__all__ = ["run"]

BATCH = 100
TARGET = 0.7
AMQP = os.environ.get("EVENTSOURCE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
REDIS = os.environ.get("EVENTSOURCE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
NATS = os.environ.get("EVENTSOURCE_TEST_NATS_URL", "nats://127.0.0.1:4222")


class BenchBrokerOrderPlaced(DomainEvent):
    """A small event announced through the outbox."""

    aggregate_type: str = "Order"
    sku: str
    quantity: int


async def _fill(url: str, entries: int) -> list[OutboxEntry]:
    """Fill the outbox; return the entries as the relay will see them (for the raw side)."""
    async with open_backend(url) as backend:
        for start in range(0, entries, BATCH):
            aggregate_id = uuid.uuid4()
            events = [
                BenchBrokerOrderPlaced(aggregate_id=aggregate_id, sku=f"SKU-{i}", quantity=i)
                for i in range(min(BATCH, entries - start))
            ]
            await backend.events.append_events(aggregate_id, "Order", events, 0, outbox=True)
        pending: list[OutboxEntry] = []
        while len(pending) < entries:  # claim them all (to read them), then hand them back
            batch = await backend.outbox.get_pending_events(1000, worker_id="peek")
            if not batch:
                break
            pending += batch
        for entry in pending:
            await backend.outbox.release(entry.id)
        return pending


async def _ours(url: str, publisher: BrokerPublisher) -> int:
    async with open_backend(url) as backend, publisher:
        relay = OutboxRelay(backend.outbox, publisher, batch_size=BATCH)
        return await relay.drain(timeout=600)


RawSend = Callable[[OutboxEntry, BrokerMessage], Awaitable[Any]]


async def _raw(entries: list[OutboxEntry], send: RawSend) -> int:
    start = time.perf_counter()
    for entry in entries:  # the body's JSON is made in the loop, as an application would
        await send(entry, message_for(entry))
    return int(len(entries) / (time.perf_counter() - start))


async def _rabbitmq_raw(name: str, entries: list[OutboxEntry]) -> int:
    connection = await aio_pika.connect(AMQP)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.get_exchange(name)

        async def send(entry: OutboxEntry, message: BrokerMessage) -> None:
            await exchange.publish(
                aio_pika.Message(
                    message.body,
                    headers=dict(message.headers),
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=message.message_id,
                ),
                routing_key=f"{entry.aggregate_type}.{entry.event_type}",
                mandatory=True,
            )

        return await _raw(entries, send)


async def _redis_raw(name: str, entries: list[OutboxEntry]) -> int:
    async with redis.asyncio.Redis.from_url(REDIS) as client:
        script = client.register_script(_XADD_ONCE)

        async def send(entry: OutboxEntry, message: BrokerMessage) -> None:
            fields: list[Any] = [i for pair in message.headers.items() for i in pair]
            await script(
                keys=[f"{name}:raw", f"{name}:raw-dedupe:{message.message_id}"],
                args=[0, 86_400, "~", *fields, "data", message.body],
            )

        return await _raw(entries, send)


async def _nats_raw(name: str, entries: list[OutboxEntry]) -> int:
    nc = await nats.connect(NATS)
    try:
        js = nc.jetstream()

        async def send(entry: OutboxEntry, message: BrokerMessage) -> None:
            headers = {"Nats-Msg-Id": f"raw-{message.message_id}", **message.headers}
            await js.publish(f"{name}.raw.{entry.event_type}", message.body, headers=headers)

        return await _raw(entries, send)
    finally:
        await nc.close()


async def _rabbitmq_setup(name: str) -> Callable[[], Awaitable[None]]:
    connection = await aio_pika.connect(AMQP)
    channel = await connection.channel()
    exchange = await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(name, durable=True)
    await queue.bind(exchange, routing_key="#")

    async def cleanup() -> None:
        await channel.queue_delete(name)
        await channel.exchange_delete(name)
        await connection.close()

    return cleanup


async def _redis_cleanup(name: str) -> None:
    async with redis.asyncio.Redis.from_url(REDIS) as client:
        keys = [key async for key in client.scan_iter(match=f"{name}*", count=5000)]
        for start in range(0, len(keys), 1000):
            await client.delete(*keys[start : start + 1000])


async def _nats_cleanup(name: str) -> None:
    nc = await nats.connect(NATS)
    try:
        await nc.jetstream().delete_stream(name.upper())
    finally:
        await nc.close()


async def _broker_rounds(broker: str, rounds: int, entries: int) -> tuple[float, float]:
    ours: list[float] = []
    raw: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        for index in range(rounds):
            name = f"bench{uuid.uuid4().hex[:10]}"
            url = f"sqlite:///{folder}/outbox-{index}.db"
            listed = await _fill(url, entries)
            assert len(listed) == entries, len(listed)
            cleanup: Callable[[], Awaitable[None]] | None = None
            try:
                if broker == "rabbitmq":
                    cleanup = await _rabbitmq_setup(name)
                    publisher: BrokerPublisher = RabbitMQPublisher(AMQP, exchange=name)
                elif broker == "redis":
                    publisher = RedisStreamPublisher(
                        REDIS, stream=f"{name}:ours", dedupe_prefix=f"{name}:ours-dedupe:"
                    )
                else:
                    publisher = NatsJetStreamPublisher(
                        NATS, stream=name.upper(), subject_prefix=name
                    )
                    await publisher.connect()  # makes the stream, for both sides
                    await publisher.close()
                sides = ["ours", "raw"] if index % 2 == 0 else ["raw", "ours"]
                for side in sides:
                    if side == "ours":
                        start = time.perf_counter()
                        done = await _ours(url, publisher)
                        assert done == entries, (broker, done)
                        ours.append(done / (time.perf_counter() - start))
                    elif broker == "rabbitmq":
                        raw.append(await _rabbitmq_raw(name, listed))
                    elif broker == "redis":
                        raw.append(await _redis_raw(name, listed))
                    else:
                        raw.append(await _nats_raw(name, listed))
            finally:
                if cleanup is not None:
                    await cleanup()
                elif broker == "redis":
                    await _redis_cleanup(name)
                else:
                    await _nats_cleanup(name)
    return statistics.median(ours), statistics.median(raw)


LABELS = {
    "rabbitmq": "aio-pika publish, confirms",
    "redis": "redis-py EVALSHA XADD-once",
    "nats": "nats-py js.publish, acks",
}


async def run(rounds: int = 3, quick: bool = False) -> list[Row]:
    """B1 on RabbitMQ, Redis and NATS JetStream."""
    entries = 2_000 if quick else 10_000
    rows = []
    for broker in ("rabbitmq", "redis", "nats"):
        ours, raw = await _broker_rounds(broker, rounds, entries)
        rows.append(
            Row(
                broker,
                f"B1 relay to broker {entries:,}",
                ours,
                raw,
                LABELS[broker],
                unit="entries/s",
                target=TARGET,
                note="SQLite outbox, 1 worker",
            )
        )
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(format_table(asyncio.run(run(args.rounds, args.quick))))
