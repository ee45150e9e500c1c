"""What position a checkpoint update records: one rule for every backend.

``update_checkpoint(name, event_id, event_type, global_position=None)`` has three call shapes:

- no position: the event's stored position is used; an event id the store does not hold is an
  :class:`EntryNotFoundError` (never a checkpoint without a position, which would replay the
  log from the start);
- a position for an event the store holds: it must be that event's position, otherwise
  :class:`InvalidArgumentError` (a checkpoint naming one event at another's position);
- a position for an event the store does not hold (a repository on another connection or
  database than the events): the position is recorded as given.

A position that is not an int in ``1 .. MAX_POSITION`` (bools refused) and an event id that
is not a UUID are an :class:`InvalidArgumentError` before any I/O. Every refusal changes
nothing.
"""

from __future__ import annotations

from uuid import UUID

from .._exceptions import EntryNotFoundError, InvalidArgumentError
from ..arguments import check_position, check_uuid
from ..values import MAX_POSITION

__all__ = ["MAX_POSITION", "check_checkpoint_update", "resolve_checkpoint_position"]


def check_checkpoint_update(event_id: object, global_position: object) -> int | None:
    """``global_position`` checked before any I/O (None stays None); the event id must be a
    UUID. Raises :class:`InvalidArgumentError` naming the bad argument."""
    check_uuid(event_id, "event_id")
    if global_position is None:
        return None
    return check_position(global_position, "global_position", minimum=1)


def resolve_checkpoint_position(
    projection_name: str, event_id: UUID, given: int | None, stored: int | None
) -> int:
    """The position to record for ``event_id``: ``given`` (checked against the event's
    ``stored`` position, None when the store does not hold it) or ``stored``.

    Raises :class:`EntryNotFoundError` when neither is known and
    :class:`InvalidArgumentError` when they differ; the caller then changes nothing.
    """
    if given is None:
        if stored is None:
            raise EntryNotFoundError(
                f"cannot checkpoint projection {projection_name!r} at event {event_id}: no "
                "event with that id is stored and no global_position was given (checkpoint "
                "unchanged)"
            )
        return stored
    if stored is not None and stored != given:
        raise InvalidArgumentError(
            f"cannot checkpoint projection {projection_name!r} at global position {given}: "
            f"event {event_id} is stored at position {stored} (checkpoint unchanged)"
        )
    return given
