"""Idempotent appends: a retried append is recognised by its event ids and answered with the
result the original append returned, writing nothing.

The rule (KurrentDB's), for a batch of ``n`` events appended with an expectation:

- **A retry.** Every event of the batch is stored, in this stream, at consecutive versions
  ``p + 1 .. p + n`` in batch order, and the expectation is one the original append met at
  ``p``: an exact version (or ``NO_STREAM``) equal to ``p``, ``STREAM_EXISTS`` with ``p >= 1``,
  ``ANY`` always. The answer is ``AppendResult(True, p + n, <global position of the batch's last
  event>, n)``: for a retry of the whole original batch, the original result, field by field.
  Events are matched by id alone (their content is not compared). Batch boundaries are not
  stored, so a retry of part of the original batch (its first ``k`` events with its
  expectation, or its last ``k`` with the version before them) is recognised too and answered
  with what that part's own append would have returned.
- **Any other batch holding a stored id is a** :class:`DuplicateEventError`: an id stored in
  another stream, or in this stream but not where this append would have put it (another
  expected version, another order), or a partial overlap (some of the batch stored, some new).
- **A batch holding no stored id** is no retry: the conflict stands (an
  :class:`OptimisticLockError` for a version conflict).

A backend applies it only when an append conflicts (its version check fails, or the event-id
unique key is violated), so a first append costs no extra statement: look up where the
batch's ids are stored (:class:`StoredPlace`) and call :func:`original_result`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple
from uuid import UUID

from .._exceptions import DuplicateEventError
from ._types import AppendResult, ExpectedVersion, stream_id_for

__all__ = ["StoredPlace", "original_result"]

_RETRY_RULE = "a retry repeats the original append: the same events, in the same order"


class StoredPlace(NamedTuple):
    """Where a stored event sits: its id, stream, stream position and global position.

    A backend builds one per row of ``SELECT event_id, aggregate_id, aggregate_type,
    aggregate_version, global_position FROM events WHERE event_id IN (<the batch's ids>)``.
    """

    event_id: UUID
    aggregate_id: UUID
    aggregate_type: str
    stream_position: int
    global_position: int


def original_result(
    aggregate_id: UUID,
    aggregate_type: str,
    expected_version: int,
    event_ids: Sequence[UUID],
    stored: Iterable[StoredPlace],
) -> AppendResult | None:
    """The result the original append returned when this append is its retry (see the module
    docstring); None when none of ``event_ids`` is stored (no retry: the conflict stands).

    ``stored`` holds the places of the batch's ids that are stored (others are ignored).
    Raises :class:`DuplicateEventError` naming the first stored id of the batch when the batch
    holds a stored id but is no retry: stored in another stream, at other versions, or a
    partial overlap.
    """
    wanted = set(event_ids)
    places = {place.event_id: place for place in stored if place.event_id in wanted}
    if not places:
        return None
    first_stored = next(event_id for event_id in event_ids if event_id in places)
    missing = next((event_id for event_id in event_ids if event_id not in places), None)
    if missing is not None:
        raise DuplicateEventError(
            first_stored,
            f"but event {missing} of the same batch is not, so the batch is no retry "
            f"({_RETRY_RULE})",
        )
    for event_id in event_ids:
        place = places[event_id]
        if (place.aggregate_id, place.aggregate_type) != (aggregate_id, aggregate_type):
            raise DuplicateEventError(
                event_id,
                f"in stream {stream_id_for(place.aggregate_id, place.aggregate_type)!r} at "
                f"version {place.stream_position}",
            )
    before = places[event_ids[0]].stream_position - 1
    for offset, event_id in enumerate(event_ids, start=1):
        place = places[event_id]
        if place.stream_position != before + offset:
            raise DuplicateEventError(
                event_id,
                f"at version {place.stream_position} of this stream, not {before + offset} as "
                f"in this batch ({_RETRY_RULE})",
            )
    if not _met(expected_version, before):
        raise DuplicateEventError(
            first_stored,
            f"at version {before + 1} of this stream, where an append expecting version "
            f"{expected_version} would not have put it ({_RETRY_RULE}, with the expected "
            "version the original append met)",
        )
    last = places[event_ids[-1]]
    return AppendResult(True, before + len(event_ids), last.global_position, len(event_ids))


def _met(expected_version: int, before: int) -> bool:
    """Whether an append expecting ``expected_version`` passes its check at version ``before``."""
    if expected_version == ExpectedVersion.ANY:
        return True
    if expected_version == ExpectedVersion.STREAM_EXISTS:
        return before > 0
    return before == expected_version
