"""The import door (``check_import_rows``): a batch that contradicts itself is refused as bad
rows (``InvalidEventError``), before any write, not taken for a target that changed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from eventsource.exceptions import ImportConflictError, InvalidEventError
from eventsource.spi import RawEvent, check_import_rows


def _row(position: int, aggregate_id: object, version: int) -> RawEvent:
    event_id = uuid4()
    now = datetime.now(UTC)
    payload = json.dumps({"event_id": str(event_id), "aggregate_version": version})
    return RawEvent(
        position, event_id, aggregate_id, "Door", version, "door.E", 1, None, now, now, payload
    )  # type: ignore[arg-type]


def test_a_stream_version_twice_in_one_batch_is_a_bad_batch_not_a_conflict() -> None:
    aid = uuid4()
    with pytest.raises(InvalidEventError, match="version 1 twice") as caught:
        check_import_rows([_row(1, aid, 1), _row(2, aid, 1)], 0, 1 << 20)
    assert not isinstance(caught.value, ImportConflictError)
    # the same version in two streams is fine
    other = _row(2, uuid4(), 1)
    assert len(check_import_rows([_row(1, aid, 1), other], 0, 1 << 20)) == 2
