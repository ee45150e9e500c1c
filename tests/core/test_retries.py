"""The retry rule (``eventsource.spi.original_result``) on its own: every branch of it."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from eventsource import AppendResult, DuplicateEventError, ExpectedVersion
from eventsource.spi import StoredPlace, original_result

STREAM = uuid4()
TYPE = "Cart"


def places(ids: list[UUID], first_version: int, first_position: int) -> list[StoredPlace]:
    """``ids`` stored in STREAM from ``first_version``, at consecutive global positions."""
    return [
        StoredPlace(event_id, STREAM, TYPE, first_version + n, first_position + n)
        for n, event_id in enumerate(ids)
    ]


IDS = [uuid4(), uuid4(), uuid4()]
STORED = places(IDS, 4, 10)  # versions 4..6 (the append saw version 3), positions 10..12


def test_no_stored_id_is_no_retry() -> None:
    assert original_result(STREAM, TYPE, 3, [uuid4(), uuid4()], STORED) is None
    assert original_result(STREAM, TYPE, 3, IDS, []) is None


@pytest.mark.parametrize("expected", [3, ExpectedVersion.ANY, ExpectedVersion.STREAM_EXISTS])
def test_a_retry_gets_the_original_result(expected: int) -> None:
    assert original_result(STREAM, TYPE, expected, IDS, reversed(STORED)) == AppendResult(
        True, 6, 12, 3
    )


def test_a_retry_of_part_of_a_batch_gets_that_parts_result() -> None:
    assert original_result(STREAM, TYPE, 3, IDS[:2], STORED) == AppendResult(True, 5, 11, 2)
    assert original_result(STREAM, TYPE, 4, IDS[1:], STORED) == AppendResult(True, 6, 12, 2)


def test_no_stream_is_a_retry_only_of_the_first_events() -> None:
    created = places(IDS, 1, 1)
    assert original_result(STREAM, TYPE, 0, IDS, created) == AppendResult(True, 3, 3, 3)
    with pytest.raises(DuplicateEventError, match="expecting version -2"):
        original_result(STREAM, TYPE, ExpectedVersion.STREAM_EXISTS, IDS, created)
    with pytest.raises(DuplicateEventError, match="expecting version 0"):
        original_result(STREAM, TYPE, 0, IDS, STORED)


@pytest.mark.parametrize("expected", [2, 4, 6])
def test_another_exact_version_is_a_duplicate(expected: int) -> None:
    with pytest.raises(DuplicateEventError) as caught:
        original_result(STREAM, TYPE, expected, IDS, STORED)
    assert caught.value.event_id == IDS[0]
    assert f"expecting version {expected}" in str(caught.value)


def test_another_order_is_a_duplicate() -> None:
    with pytest.raises(DuplicateEventError, match="at version 4 of this stream, not 6"):
        original_result(STREAM, TYPE, ExpectedVersion.ANY, [IDS[1], IDS[0]], STORED)


def test_another_stream_is_a_duplicate_naming_it() -> None:
    for aggregate_id, aggregate_type in ((uuid4(), TYPE), (STREAM, "Other")):
        with pytest.raises(DuplicateEventError, match=f"in stream '{STREAM}:{TYPE}'") as caught:
            original_result(aggregate_id, aggregate_type, ExpectedVersion.ANY, IDS, STORED)
        assert caught.value.event_id == IDS[0]


def test_a_partial_overlap_is_a_duplicate_naming_both() -> None:
    new = uuid4()
    for batch in ([*IDS, new], [new, *IDS], [IDS[2], new]):
        with pytest.raises(DuplicateEventError) as caught:
            original_result(STREAM, TYPE, ExpectedVersion.ANY, batch, STORED)
        stored_first = next(i for i in batch if i in IDS)
        assert caught.value.event_id == stored_first
        assert f"but event {new} of the same batch is not" in str(caught.value)
