"""``OutboxRelay(ordering="aggregate")``: each aggregate's entries published one at a time in
add order by workers on separate connections; a failing entry holds back only its aggregate."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import defaultdict
from uuid import UUID, uuid4

import pytest

from eventsource import Backend, ConfigurationError, open_backend
from eventsource.clock import ManualClock
from eventsource.repositories import OutboxEntry, OutboxStatus
from eventsource.runtime import Backoff, OutboxRelay
from eventsource.spi import Capabilities

from ._events import RtItemAdded
from .test_relay import open_many


async def _add(backend: Backend, aggregates: list[UUID], rounds: int) -> dict[UUID, list[UUID]]:
    added: dict[UUID, list[UUID]] = defaultdict(list)
    for r in range(rounds):
        for aid in aggregates:
            entry_id = await backend.outbox.add_event(RtItemAdded(aggregate_id=aid, n=r))
            added[aid].append(entry_id)
    return added


async def test_ordered_relays_publish_each_aggregate_in_add_order(backend_url: str) -> None:
    async with open_many(backend_url, 4) as backends:
        added = await _add(backends[0], [uuid4() for _ in range(10)], 8)
        published: dict[UUID, list[UUID]] = defaultdict(list)
        in_flight: set[UUID] = set()
        overlaps: list[UUID] = []

        async def publish(entry: OutboxEntry) -> None:
            if entry.aggregate_id in in_flight:
                overlaps.append(entry.id)
            in_flight.add(entry.aggregate_id)
            await asyncio.sleep(0)  # the other workers run meanwhile
            in_flight.discard(entry.aggregate_id)
            published[entry.aggregate_id].append(entry.id)

        relays = [
            OutboxRelay.from_backend(
                b, publish, worker_id=f"ordered-{i}", batch_size=4, ordering="aggregate"
            )
            for i, b in enumerate(backends)
        ]

        async def work(relay: OutboxRelay) -> None:
            while (await relay.outbox.get_stats()).pending_count:
                if (await relay.run_once()).claimed == 0:
                    await asyncio.sleep(0)

        await asyncio.gather(*(work(relay) for relay in relays))
        assert not overlaps, "two entries of one aggregate were published at once"
        assert dict(published) == dict(added)
        assert sum(relay.stats().published for relay in relays) == 80


async def test_a_failing_entry_holds_back_its_aggregate_only(backend_url: str) -> None:
    clock = ManualClock()
    async with open_backend(backend_url, clock=clock) as backend:
        a, b = uuid4(), uuid4()
        a1 = await backend.outbox.add_event(RtItemAdded(aggregate_id=a, n=1))
        a2 = await backend.outbox.add_event(RtItemAdded(aggregate_id=a, n=2))
        b1 = await backend.outbox.add_event(RtItemAdded(aggregate_id=b, n=1))
        b2 = await backend.outbox.add_event(RtItemAdded(aggregate_id=b, n=2))
        sent: list[UUID] = []

        async def publish(entry: OutboxEntry) -> None:
            if entry.id == a1:
                raise ConnectionError("broker refused a1")
            sent.append(entry.id)

        relay = OutboxRelay.from_backend(
            backend,
            publish,
            ordering="aggregate",
            max_attempts=2,
            backoff=Backoff(initial=10, maximum=10, jitter=0),
            clock=clock,
        )
        first = await relay.run_once()
        assert (first.claimed, first.published, first.retried) == (2, 1, 1)
        assert (await relay.run_once()).published == 1  # b2; a2 waits behind a1's retry
        assert sent == [b1, b2]
        assert (await relay.run_once()).claimed == 0
        clock.advance(10.1)
        third = await relay.run_once()
        assert (third.claimed, third.failed) == (1, 1)  # a1 used its attempts: failed
        assert (await relay.run_once()).published == 1
        assert sent == [b1, b2, a2]
        assert (await backend.outbox.get_entry(a1)).status == OutboxStatus.FAILED


async def test_ordering_needs_the_capability(backend: Backend) -> None:
    with pytest.raises(ConfigurationError, match="ordering"):
        OutboxRelay.from_backend(backend, "null", ordering="stream")  # type: ignore[arg-type]
    spec = backend.spec
    plain = dataclasses.replace(
        spec, event_store=dataclasses.replace(spec.event_store, capabilities=Capabilities())
    )
    without = Backend(plain, backend.url)
    with pytest.raises(ConfigurationError, match="outbox_aggregate_order"):
        OutboxRelay.from_backend(without, "null", ordering="aggregate")
    assert OutboxRelay.from_backend(backend, "null", ordering="aggregate").ordering == "aggregate"
