"""Idempotent appends on SQLite: what each append runs. A first append runs the statements it
always did; only a conflict (a retry, a stale version) adds the id lookup, in the same hop."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID, uuid4

import pytest

from eventsource import ExpectedVersion, OptimisticLockError
from eventsource_sqlite import SQLiteEventStore

from ._events import SqlNoted, noted

LOOKUP = "FROM events WHERE event_id IN"


def batch(aid: UUID, n: int) -> list[SqlNoted]:
    return [noted(aid, i) for i in range(n)]


async def test_a_first_append_runs_no_lookup_and_a_retry_one(tmp_path: Path) -> None:
    seen: list[str] = []
    async with SQLiteEventStore(tmp_path / "retries.db") as store:
        await store.initialize()
        await store.connection.set_trace_callback(seen.append)
        aid = uuid4()
        events = batch(aid, 3)
        first = await store.append_events(aid, "Cart", events, 0)
        plain = list(seen)
        assert plain and not any(LOOKUP in s for s in plain), plain
        seen.clear()
        await store.append_events(aid, "Cart", batch(aid, 3), ExpectedVersion.ANY)
        assert len(seen) == len(plain) and not any(LOOKUP in s for s in seen), seen
        for expected in (0, ExpectedVersion.ANY):
            seen.clear()
            assert await store.append_events(aid, "Cart", events, expected) == first
            assert sum(LOOKUP in s for s in seen) == 1, seen
        seen.clear()
        with pytest.raises(OptimisticLockError):
            await store.append_events(aid, "Cart", batch(aid, 1), 3)
        assert sum(LOOKUP in s for s in seen) == 1, seen
        await store.connection.set_trace_callback(None)
        assert await store.get_global_position() == 6
