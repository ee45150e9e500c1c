"""A sharded runner over a store without ``shard_reads`` (the JSON-lines store): it reads
everything and passes over the other shards' events itself."""

from __future__ import annotations

import asyncio
from pathlib import Path
from uuid import UUID, uuid4

from eventsource_jsonl import JsonlEventStore

from eventsource import DomainEvent
from eventsource.memory import MemoryCheckpointRepository, MemoryDLQRepository
from eventsource.runtime import Projection, ProjectionRunner, Shard, current_shard, handles
from eventsource.spi import ShardReads


class JsonlSharded(DomainEvent):
    """The test's event."""

    event_type: str = "jsonl.Sharded"
    n: int = 0


class Seen(Projection):
    """Records (shard, stream, n) of every delivery."""

    name = "jsonl.sharded"

    def __init__(self) -> None:
        self.seen: list[tuple[int, UUID, int]] = []

    @handles(JsonlSharded)
    async def on_event(self, event: JsonlSharded) -> None:
        shard = current_shard()
        assert shard is not None
        await asyncio.sleep(0)
        self.seen.append((shard.index, event.aggregate_id, event.n))


async def test_a_shard_runner_filters_a_store_without_shard_reads(tmp_path: Path) -> None:
    store = JsonlEventStore(tmp_path / "events.jsonl")
    assert not isinstance(store, ShardReads)
    await store.connect()
    await store.initialize()
    try:
        streams = [uuid4() for _ in range(12)]
        for n in range(2):
            for agg in streams:
                event = JsonlSharded(aggregate_id=agg, n=n)
                await store.append_events(agg, "JsonlCart", [event], expected_version=n)
        head = await store.get_global_position()
        checkpoints = MemoryCheckpointRepository()
        projection = Seen()
        for k in range(3):
            runner = ProjectionRunner(
                projection,
                store=store,
                checkpoints=checkpoints,
                dlq=MemoryDLQRepository(),
                shard=Shard(k, 3),
                ownership=False,
            )
            assert await runner.catch_up() == sum(Shard(k, 3).holds(a) for a in streams) * 2
            assert await checkpoints.get_position(f"{Seen.name}#{k}/3") == head
    finally:
        await store.close()
    for agg in streams:
        mine = [(k, n) for k, a, n in projection.seen if a == agg]
        assert [n for _, n in mine] == [0, 1]
        assert {k for k, _ in mine} == {next(k for k in range(3) if Shard(k, 3).holds(agg))}
