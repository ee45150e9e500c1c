"""Conformance of the checkpoint repository."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from .._exceptions import EntryNotFoundError, InvalidArgumentError
from ..repositories._checkpoint_positions import MAX_POSITION
from ..repositories._entries import CheckpointData
from ..stores._types import StoredEvent
from ._base import ConformanceBase, read_all_list
from ._events import AGGREGATE_TYPE, KitItemCreated, noted
from ._roles import RoleBackend

__all__ = ["CheckpointConformance"]


class CheckpointConformance(ConformanceBase):
    """Where each projection is: update, read, reset, lag, and never backwards."""

    async def test_checkpoint_update_and_read(self, backend: RoleBackend) -> None:
        """update_checkpoint records the event; get_checkpoint, get_checkpoint_data and
        get_position read it back; events_processed counts updates; unknown projections
        read as None.

        Fix: upsert one row per projection holding the event id, type and global position.
        """
        repo = backend.checkpoints
        assert await repo.get_checkpoint("kit-p") is None
        assert await repo.get_checkpoint_data("kit-p") is None
        assert await repo.get_position("kit-p") is None
        aid = uuid4()
        await backend.events.append_events(aid, AGGREGATE_TYPE, noted(aid, 3), 0)
        stored = await read_all_list(backend)
        for item in stored[:2]:
            await repo.update_checkpoint(
                "kit-p", item.event_id, item.event_type, item.global_position
            )
        assert await repo.get_checkpoint("kit-p") == stored[1].event_id
        data = await repo.get_checkpoint_data("kit-p")
        assert data is not None
        assert data.projection_name == "kit-p"
        assert data.last_event_id == stored[1].event_id
        assert data.last_event_type == "KitItemNoted"
        assert data.global_position == stored[1].global_position
        assert data.events_processed == 2
        assert data.updated_at.tzinfo is not None
        assert data["last_event_id"] == stored[1].event_id
        assert await repo.get_position("kit-p") == stored[1].global_position
        assert await repo.get_checkpoint("kit-other") is None

    async def test_checkpoint_position_looked_up_from_event(self, backend: RoleBackend) -> None:
        """Without ``global_position``, update_checkpoint finds the event's position in the
        store.

        Fix: look the event id up in the events table (in the same statement or transaction).
        """
        aid = uuid4()
        await backend.events.append_events(aid, AGGREGATE_TYPE, noted(aid, 4), 0)
        stored = await read_all_list(backend)
        await backend.checkpoints.update_checkpoint("kit-p", stored[2].event_id, "KitItemNoted")
        assert await backend.checkpoints.get_position("kit-p") == stored[2].global_position
        assert await backend.checkpoints.get_checkpoint("kit-p") == stored[2].event_id

    async def test_checkpoint_never_moves_backwards(self, backend: RoleBackend) -> None:
        """An update to a lower global position than the stored one is ignored, whether the
        position is given or looked up.

        Fix: make the upsert conditional on the new position being >= the stored one.
        """
        repo = backend.checkpoints
        aid = uuid4()
        await backend.events.append_events(aid, AGGREGATE_TYPE, noted(aid, 5), 0)
        stored = await read_all_list(backend)
        high, low = stored[3], stored[1]
        await repo.update_checkpoint("kit-p", high.event_id, high.event_type, high.global_position)
        await repo.update_checkpoint("kit-p", low.event_id, low.event_type, low.global_position)
        assert await repo.get_position("kit-p") == high.global_position
        assert await repo.get_checkpoint("kit-p") == high.event_id
        await repo.update_checkpoint("kit-p", stored[0].event_id, stored[0].event_type)
        assert await repo.get_position("kit-p") == high.global_position
        top = stored[4]
        await repo.update_checkpoint("kit-p", top.event_id, top.event_type)
        assert await repo.get_position("kit-p") == top.global_position

    async def test_checkpoint_reset(self, backend: RoleBackend) -> None:
        """reset_checkpoint forgets the projection (others keep theirs); a later update starts
        afresh, even at a lower position; resetting an unknown projection is not an error.

        Fix: delete the projection's row.
        """
        repo = backend.checkpoints
        aid = uuid4()
        await backend.events.append_events(aid, AGGREGATE_TYPE, noted(aid, 3), 0)
        stored = await read_all_list(backend)
        for name in ("kit-a", "kit-b"):
            await repo.update_checkpoint(
                name, stored[2].event_id, stored[2].event_type, stored[2].global_position
            )
        await repo.reset_checkpoint("kit-a")
        await repo.reset_checkpoint("kit-never-seen")
        assert await repo.get_checkpoint("kit-a") is None
        assert await repo.get_checkpoint_data("kit-a") is None
        assert await repo.get_checkpoint("kit-b") == stored[2].event_id
        await repo.update_checkpoint(
            "kit-a", stored[0].event_id, stored[0].event_type, stored[0].global_position
        )
        assert await repo.get_position("kit-a") == stored[0].global_position

    async def test_checkpoint_lag_metrics(self, backend: RoleBackend) -> None:
        """get_lag_metrics counts the relevant events after the checkpoint, names the newest
        one, honours ``event_types``, and is None for a projection without checkpoint.

        Fix: count events with global position > the checkpoint's, of the given types.
        """
        repo = backend.checkpoints
        aid = uuid4()
        assert await repo.get_lag_metrics("kit-p") is None
        created = KitItemCreated(aggregate_id=aid, name="x")
        events = [created, *noted(aid, 4)]
        await backend.events.append_events(aid, AGGREGATE_TYPE, events, 0)
        stored = await read_all_list(backend)
        await repo.update_checkpoint(
            "kit-p", stored[1].event_id, stored[1].event_type, stored[1].global_position
        )
        lag = await repo.get_lag_metrics("kit-p")
        assert lag is not None
        assert lag.projection_name == "kit-p"
        assert lag.lag_events == 3
        assert lag.last_event_id == stored[1].event_id
        assert lag.latest_event_id == stored[4].event_id
        assert lag.events_processed == 1
        assert lag.lag_seconds >= 0
        only_created = await repo.get_lag_metrics("kit-p", ["KitItemCreated"])
        assert only_created is not None
        assert only_created.lag_events == 0
        assert only_created.latest_event_id == created.event_id
        top = stored[4]
        await repo.update_checkpoint("kit-p", top.event_id, top.event_type, top.global_position)
        caught_up = await repo.get_lag_metrics("kit-p")
        assert caught_up is not None and caught_up.lag_events == 0

    async def test_get_all_checkpoints(self, backend: RoleBackend) -> None:
        """get_all_checkpoints returns every projection's checkpoint, ordered by name.

        Fix: select every row ordered by projection name.
        """
        repo = backend.checkpoints
        assert await repo.get_all_checkpoints() == []
        aid = uuid4()
        await backend.events.append_events(aid, AGGREGATE_TYPE, noted(aid, 2), 0)
        stored = await read_all_list(backend)
        for name, item in (("kit-z", stored[0]), ("kit-a", stored[1]), ("kit-m", stored[0])):
            await repo.update_checkpoint(name, item.event_id, item.event_type, item.global_position)
        everything = await repo.get_all_checkpoints()
        assert [c.projection_name for c in everything] == ["kit-a", "kit-m", "kit-z"]
        assert [c.last_event_id for c in everything] == [
            stored[1].event_id,
            stored[0].event_id,
            stored[0].event_id,
        ]

    async def _checkpointed_at(
        self, backend: RoleBackend, *, events: int, index: int
    ) -> tuple[StoredEvent, CheckpointData | None]:
        """Append ``events`` events, checkpoint "kit-p" at the ``index``-th; that event and the
        checkpoint record."""
        aid = uuid4()
        await backend.events.append_events(aid, AGGREGATE_TYPE, noted(aid, events), 0)
        at = (await read_all_list(backend))[index]
        repo = backend.checkpoints
        await repo.update_checkpoint("kit-p", at.event_id, at.event_type, at.global_position)
        return at, await repo.get_checkpoint_data("kit-p")

    async def test_checkpoint_unknown_event_is_refused(self, backend: RoleBackend) -> None:
        """update_checkpoint with an event id the store does not hold and no
        ``global_position`` raises EntryNotFoundError naming the event and the projection, and
        changes nothing: a checkpoint is never reset to no position (the runner would replay
        the whole log).

        Fix: look the position up first and raise (``resolve_checkpoint_position``) when the
        event is not found, before writing.
        """
        repo = backend.checkpoints
        at, before = await self._checkpointed_at(backend, events=4, index=2)
        missing = uuid4()
        for name in ("kit-p", "kit-new"):
            with pytest.raises(EntryNotFoundError) as caught:
                await repo.update_checkpoint(name, missing, "KitItemNoted")
            assert str(missing) in str(caught.value) and name in str(caught.value)
        assert await repo.get_checkpoint_data("kit-p") == before
        assert await repo.get_checkpoint_data("kit-new") is None
        assert await repo.get_position("kit-p") == at.global_position

    async def test_checkpoint_bad_arguments_are_refused(self, backend: RoleBackend) -> None:
        """A ``global_position`` that is not an int in 1..2**63-1 (a bool, a float, a string,
        0, a negative number, 2**63) or an event id that is not a UUID raises
        InvalidArgumentError (a ValueError) and changes nothing.

        Fix: call ``check_checkpoint_update(event_id, global_position)`` before any I/O.
        """
        repo = backend.checkpoints
        top, before = await self._checkpointed_at(backend, events=2, index=1)
        bad_positions: list[Any] = [True, False, 1.0, "2", 0, -1, MAX_POSITION + 1]
        for position in bad_positions:
            with pytest.raises(InvalidArgumentError) as caught:
                await repo.update_checkpoint("kit-p", top.event_id, top.event_type, position)
            assert isinstance(caught.value, ValueError), position
        bad_id: Any = str(top.event_id)
        with pytest.raises(InvalidArgumentError):
            await repo.update_checkpoint("kit-p", bad_id, top.event_type)
        assert await repo.get_checkpoint_data("kit-p") == before

    async def test_checkpoint_given_position_must_be_the_events(self, backend: RoleBackend) -> None:
        """A ``global_position`` given with an event the store holds at another position raises
        InvalidArgumentError and changes nothing; the event's own position is accepted; a
        position given for an event the store does not hold is recorded as given.

        Fix: compare the given position with the stored event's before writing
        (``resolve_checkpoint_position``).
        """
        repo = backend.checkpoints
        aid = uuid4()
        await backend.events.append_events(aid, AGGREGATE_TYPE, noted(aid, 3), 0)
        stored = await read_all_list(backend)
        first, last = stored[0], stored[2]
        await repo.update_checkpoint("kit-p", first.event_id, first.event_type)
        before = await repo.get_checkpoint_data("kit-p")
        with pytest.raises(InvalidArgumentError) as caught:
            await repo.update_checkpoint(
                "kit-p", first.event_id, first.event_type, last.global_position
            )
        assert str(first.event_id) in str(caught.value)
        assert await repo.get_checkpoint_data("kit-p") == before
        await repo.update_checkpoint("kit-p", last.event_id, last.event_type, last.global_position)
        assert await repo.get_position("kit-p") == last.global_position
        elsewhere = uuid4()  # an event of another store: its position is trusted
        ahead = last.global_position + 10
        await repo.update_checkpoint("kit-p", elsewhere, "KitItemNoted", ahead)
        assert await repo.get_checkpoint("kit-p") == elsewhere
        assert await repo.get_position("kit-p") == ahead
