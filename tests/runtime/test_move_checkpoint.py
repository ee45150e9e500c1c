"""``CheckpointRepository.move_checkpoint`` (``eventsource checkpoints reset --to``): one
write that sets a checkpoint backwards too; a refused move leaves the checkpoint as it was."""

from __future__ import annotations

from uuid import uuid4

import pytest

from eventsource import Backend, DomainEvent
from eventsource.exceptions import InvalidArgumentError


class MvPlaced(DomainEvent):
    event_type: str = "MvPlaced"
    aggregate_type: str = "MvOrder"


async def test_a_checkpoint_moves_back_in_one_write(backend: Backend) -> None:
    aggregate_id = uuid4()
    events = [MvPlaced(aggregate_id=aggregate_id, aggregate_version=v) for v in (1, 2, 3)]
    await backend.events.append_events(aggregate_id, "MvOrder", events, 0)
    stored = [s async for s in backend.events.read_all()]
    repo = backend.checkpoints
    for s in stored:
        await repo.update_checkpoint("p", s.event_id, s.event_type, s.global_position)
    await repo.update_checkpoint("p", stored[0].event_id, "MvPlaced", stored[0].global_position)
    assert await repo.get_position("p") == stored[2].global_position  # never backwards

    await repo.move_checkpoint("p", stored[0].event_id, "MvPlaced", stored[0].global_position)
    data = await repo.get_checkpoint_data("p")
    assert data is not None
    assert (data.global_position, data.last_event_id) == (
        stored[0].global_position,
        stored[0].event_id,
    )
    assert data.events_processed == 1  # a fresh record, as after a reset

    # refused (the event is stored at another position): the checkpoint is kept, not reset
    with pytest.raises(InvalidArgumentError):
        await repo.move_checkpoint("p", stored[1].event_id, "MvPlaced", stored[2].global_position)
    assert await repo.get_position("p") == stored[0].global_position
    # a projection without a checkpoint gets one
    await repo.move_checkpoint("q", stored[1].event_id, "MvPlaced", stored[1].global_position)
    assert await repo.get_position("q") == stored[1].global_position
