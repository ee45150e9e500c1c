"""An undecodable row in a sharded projection is parked by its stream's shard only."""

from __future__ import annotations

from eventsource import Backend
from eventsource.runtime import ProjectionRunner, RetryPolicy, Shard, shard_of

from .test_undecodable import (  # noqa: F401 - the fixtures are used by name
    Poison,
    Scores,
    poison,
    poisoned_log,
    real_backend,
)


async def test_an_undecodable_row_is_parked_by_its_streams_shard_only(
    real_backend: Backend,  # noqa: F811
    poison: Poison,  # noqa: F811
) -> None:
    log = await poisoned_log(real_backend, poison)
    home = shard_of(log.row.aggregate_id, 4)
    scores = Scores()
    for k in range(4):
        runner = ProjectionRunner.from_backend(
            scores, real_backend, shard=Shard(k, 4), ownership=False, retry=RetryPolicy()
        )
        await runner.catch_up()
        name = f"{Scores.name}#{k}/4"
        assert await real_backend.checkpoints.get_position(name) == log.total
        parked = await real_backend.dlq.get_failed_events(name)
        assert [e.event_id for e in parked] == ([log.row.event_id] if k == home else [])
    assert sorted(s for s, _ in scores.seen) == [1.0, 2.0, 3.0, 5.0, 6.0, 7.0]
