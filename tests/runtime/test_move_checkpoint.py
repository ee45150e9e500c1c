"""``CheckpointRepository.move_checkpoint`` (``eventsource checkpoints reset --to``): one
write that sets a checkpoint backwards too; a refused move leaves the checkpoint as it was."""

from __future__ import annotations

from uuid import uuid4

import pytest

from eventsource import Backend, DomainEvent
from eventsource.exceptions import EntryNotFoundError, InvalidArgumentError


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


async def test_a_move_without_a_position_takes_the_stored_one_or_changes_nothing(
    backend: Backend,
) -> None:
    """``global_position=None``: the stored event's position on every backend; an unknown id
    is refused and the checkpoint stays where it was."""
    aggregate_id = uuid4()
    events = [MvPlaced(aggregate_id=aggregate_id, aggregate_version=v) for v in (1, 2)]
    await backend.events.append_events(aggregate_id, "MvOrder", events, 0)
    stored = [s async for s in backend.events.read_all()]
    repo = backend.checkpoints
    last = stored[-1]
    await repo.update_checkpoint("q", last.event_id, last.event_type, last.global_position)
    await repo.move_checkpoint("q", stored[0].event_id, "MvPlaced", None)  # type: ignore[arg-type]
    assert await repo.get_position("q") == stored[0].global_position
    with pytest.raises(EntryNotFoundError):
        await repo.move_checkpoint("q", uuid4(), "MvPlaced", None)  # type: ignore[arg-type]
    assert await repo.get_position("q") == stored[0].global_position
