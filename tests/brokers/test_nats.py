"""NATS JetStream against the real server: Nats-Msg-Id = event id (JetStream stores a repeat
once), acks awaited, a durable consumer acking after its handler, a server that is down or
refuses, connections cut mid-run."""

from __future__ import annotations

import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import nats
import nats.js
import pytest

from eventsource import Backend, DomainEvent, PublishRejectedError
from eventsource.brokers import NatsJetStreamConsumer, NatsJetStreamPublisher
from eventsource.repositories import OutboxStatus
from eventsource.runtime import Backoff, OutboxRelay

from ._events import BrOrderPlaced
from ._proxy import CuttableProxy
from ._relaying import fill, relay_all
from .conftest import closed_port


@pytest.fixture
async def js(nats_url: str, name: str) -> AsyncIterator[nats.js.JetStreamContext]:
    """A JetStream context for checking; deletes this test's stream afterwards."""
    nc = await nats.connect(nats_url)
    try:
        context = nc.jetstream()
        yield context
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await context.delete_stream(name.upper())
    finally:
        await nc.close()


def publisher(url: str, name: str, **options: object) -> NatsJetStreamPublisher:
    return NatsJetStreamPublisher(url, stream=name.upper(), subject_prefix=name, **options)  # type: ignore[arg-type]


def consumer(url: str, name: str, handler: object, durable: str = "d") -> NatsJetStreamConsumer:
    return NatsJetStreamConsumer(
        url,
        handler,
        stream=name.upper(),
        subject=f"{name}.>",
        durable=durable,  # type: ignore[arg-type]
    )


async def test_round_trip_with_headers_and_ack_after_handler(
    nats_url: str, name: str, backend: Backend, js: nats.js.JetStreamContext
) -> None:
    event = BrOrderPlaced(aggregate_id=uuid.uuid4(), sku="A", quantity=2, causation_id=uuid.uuid4())
    await backend.outbox.add_event(event)
    async with publisher(nats_url, name) as pub:
        assert await OutboxRelay(backend.outbox, pub).drain() == 1
    stored = await js.get_msg(name.upper(), seq=1)
    assert stored.subject == f"{name}.Order.BrOrderPlaced"
    headers = stored.headers or {}
    assert headers["Nats-Msg-Id"] == str(event.event_id)
    assert headers["event-type"] == "BrOrderPlaced"
    assert headers["aggregate-id"] == str(event.aggregate_id)
    assert headers["correlation-id"] == str(event.correlation_id)
    assert headers["causation-id"] == str(event.causation_id)

    async def failing(received: DomainEvent) -> None:
        raise RuntimeError("handler failed")

    async with consumer(nats_url, name, failing) as failing_consumer:
        with pytest.raises(RuntimeError, match="handler failed"):
            await failing_consumer.consume(idle_timeout=2)
    seen: list[DomainEvent] = []

    async def handler(received: DomainEvent) -> None:
        seen.append(received)

    async with consumer(nats_url, name, handler) as good:
        assert await good.consume(1, idle_timeout=5) == 1  # nak'ed, delivered again
    assert seen == [event]


async def test_a_repeated_message_id_is_stored_once(
    nats_url: str, name: str, backend: Backend, js: nats.js.JetStreamContext
) -> None:
    await backend.outbox.add_event(BrOrderPlaced(aggregate_id=uuid.uuid4(), sku="A", quantity=1))
    [entry] = await backend.outbox.get_pending_events(1)
    async with publisher(nats_url, name) as first, publisher(nats_url, name) as second:
        await first(entry)
        await second(entry)
    info = await js.stream_info(name.upper())
    assert info.state.messages == 1
    assert second.stats.duplicates == 1


async def test_a_server_that_is_down_fails_the_entry_after_the_retry_budget(
    name: str, backend: Backend
) -> None:
    await backend.outbox.add_event(BrOrderPlaced(aggregate_id=uuid.uuid4(), sku="A", quantity=1))
    down = publisher(f"nats://127.0.0.1:{closed_port()}", name, connect_timeout=2.0)
    relay = OutboxRelay(backend.outbox, down, max_attempts=3, backoff=Backoff(initial=0, jitter=0))
    for _ in range(3):
        assert (await relay.run_once()).published == 0
    stats = await backend.outbox.get_stats()
    assert (stats.published_count, stats.failed_count) == (0, 1)
    await down.close()


async def test_no_stream_for_the_subject_is_a_refusal(
    nats_url: str, name: str, backend: Backend, js: nats.js.JetStreamContext
) -> None:
    entry_id = await backend.outbox.add_event(
        BrOrderPlaced(aggregate_id=uuid.uuid4(), sku="A", quantity=1)
    )
    async with publisher(nats_url, name, ensure_stream=False, confirm_timeout=3.0) as pub:
        [entry] = await backend.outbox.get_pending_events(1)
        with pytest.raises(PublishRejectedError, match="nats"):
            await pub(entry)
        await backend.outbox.release(entry.id)
        relay = OutboxRelay(backend.outbox, pub, max_attempts=2, backoff=Backoff(0, jitter=0))
        await relay.run_once()
        await relay.run_once()
    failed = await backend.outbox.get_entry(entry_id)
    assert failed.status is OutboxStatus.FAILED
    assert "PublishRejectedError" in (failed.last_error or "")


async def _cut_run(
    nats_url: str, name: str, backend: Backend, js: nats.js.JetStreamContext, total: int, cuts: int
) -> None:
    ids = await fill(backend, total)
    target = urlsplit(nats_url)
    async with CuttableProxy(target.hostname or "127.0.0.1", target.port or 4222) as proxy:
        via = f"nats://127.0.0.1:{proxy.port}"
        publishers = [publisher(via, name, duplicate_window=600.0) for _ in range(4)]
        try:
            run = await relay_all(
                backend, publishers, total, cut=proxy.cut, cut_every=total // (cuts + 1), cuts=cuts
            )
        finally:
            for pub in publishers:
                await pub.close()
        reconnects = sum(pub.stats.connects for pub in publishers)
    received: Counter[str] = Counter()

    async def handler(event: DomainEvent) -> None:
        received[str(event.event_id)] += 1

    async with consumer(nats_url, name, handler) as reader:
        await reader.consume(idle_timeout=3)
    assert run.cuts == cuts
    assert reconnects > len(publishers)
    assert run.marked_unconfirmed == []
    assert (run.stats.published_count, run.stats.failed_count) == (total, 0)
    assert set(received) == {str(i) for i in ids}
    assert set(received.values()) == {1}  # exactly once: JetStream dropped the retries
    assert (await js.stream_info(name.upper())).state.messages == total


async def test_cut_connections_lose_nothing_and_store_nothing_twice(
    nats_url: str, name: str, backend: Backend, js: nats.js.JetStreamContext
) -> None:
    await _cut_run(nats_url, name, backend, js, total=600, cuts=2)


@pytest.mark.stress
async def test_stress_10000_entries_4_workers_exactly_once_with_cuts(
    nats_url: str, name: str, backend: Backend, js: nats.js.JetStreamContext
) -> None:
    await _cut_run(nats_url, name, backend, js, total=10_000, cuts=3)
