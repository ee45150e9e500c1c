"""Migration across real backends: SQLite file -> PostgreSQL -> SQLite file, by URL.

The events are of a type this process never registered, as when an operator runs
``eventsource migrate``: they must arrive field for field, with ids, versions and order kept.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from eventsource import DomainEvent, EventRegistry, open_backend
from eventsource.events import serialize_event
from eventsource.migration import LenientEventRegistry, migrate_backend
from eventsource.plugins import get_registry
from eventsource.testing._events import KitMeasured
from eventsource.testing._values import (
    PORTABLE_NUMBERS,
    PORTABLE_STRINGS,
    first_difference,
    nested,
)
from eventsource.values import MAX_IDENTIFIER_LENGTH, MAX_NESTING_DEPTH

PG_URL = (
    os.environ.get("EVENTSOURCE_TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/test"
)

pytestmark = pytest.mark.skipif(
    not {"sqlite", "postgresql"} <= set(get_registry().backend_names()),
    reason="needs the sqlite and postgresql backends installed",
)


class Unregistered(DomainEvent):
    """An application event class that the migrating process does not know."""

    __register__ = False
    event_type: str = "coretest.Unregistered"
    payload: dict[str, object] = {}
    note: str = ""


@pytest.fixture
async def pg_schema_url() -> AsyncIterator[str]:
    try:
        conn = await asyncio.wait_for(asyncpg.connect(PG_URL), 5)
    except Exception as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL unreachable at {PG_URL}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {exc}")
    await conn.close()
    schema = f"es_test_mig_{uuid.uuid4().hex[:10]}"
    yield f"{PG_URL}?schema={schema}&pool_max=2"
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


async def dump(url: str) -> list[tuple[object, ...]]:
    async with open_backend(url) as backend:
        backend.events.event_registry = LenientEventRegistry(EventRegistry())
        return [
            (
                s.event_id,
                s.stream_id,
                s.stream_position,
                json.loads(serialize_event(s.event)),
            )
            async for s in backend.events.read_all()
        ]


@pytest.mark.postgres
async def test_sqlite_to_postgres_to_sqlite(tmp_path: Path, pg_schema_url: str) -> None:
    first, last = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    streams = [uuid.uuid4() for _ in range(5)]
    async with open_backend(first) as backend:
        backend.events.event_registry = EventRegistry([Unregistered])
        for round_ in range(6):
            for n, aggregate_id in enumerate(streams):
                events = [
                    Unregistered(
                        aggregate_id=aggregate_id,
                        payload={"round": round_, "n": n, "text": "ünïcode ✓"},
                        note="x" * (n + 1),
                        metadata={"trace": [round_, n]},
                    )
                    for _ in range(1 + n % 2)
                ]
                await backend.events.append_events(aggregate_id, "Ledger", events, -1)
        seen = [s async for s in backend.events.read_all()]
        await backend.checkpoints.update_checkpoint(
            "ledger", seen[10].event_id, seen[10].event_type
        )

    original = await dump(first)
    assert len(original) == 6 * 7

    to_pg = await migrate_backend(first, pg_schema_url, batch_size=4)
    assert to_pg.events_copied == len(original) and to_pg.checkpoints_copied == 1
    assert await dump(pg_schema_url) == original

    back = await migrate_backend(pg_schema_url, last, batch_size=1000)
    assert back.events_copied == len(original)
    assert await dump(last) == original
    async with open_backend(last) as backend:
        assert await backend.checkpoints.get_checkpoint("ledger") == seen[10].event_id
        assert await backend.checkpoints.get_position("ledger") == 11

    again = await migrate_backend(first, pg_schema_url)
    assert (again.events_copied, again.events_skipped) == (0, len(original))


@pytest.mark.postgres
async def test_portable_hostile_values_migrate_exactly(tmp_path: Path, pg_schema_url: str) -> None:
    """Everything the source acknowledged migrates and reads back the same, to the sign of
    -0.0 and the last NUL: what one backend accepts, every backend accepts."""
    first, last = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    longest_type = "\U0001f600" * MAX_IDENTIFIER_LENGTH
    async with open_backend(first) as backend:
        for n, text in enumerate(PORTABLE_STRINGS):
            aid = uuid.uuid4()
            aggregate_type = longest_type if n % 2 else "Ledger\x7f\u2028"
            event = KitMeasured(
                aggregate_id=aid,
                aggregate_type=aggregate_type,
                label=text,
                values={"numbers": list(PORTABLE_NUMBERS), "deep": nested(MAX_NESTING_DEPTH - 3)},
                metadata={text[:40]: PORTABLE_NUMBERS[n % len(PORTABLE_NUMBERS)]},
            )
            await backend.events.append_events(aid, aggregate_type, [event], 0)
        original = [s async for s in backend.events.read_all()]

    await migrate_backend(first, pg_schema_url, batch_size=3)
    await migrate_backend(pg_schema_url, last)
    for url in (pg_schema_url, last):
        async with open_backend(url) as backend:
            copied = [s async for s in backend.events.read_all()]
        assert [s.event_id for s in copied] == [s.event_id for s in original]
        for before, after in zip(original, copied, strict=True):
            assert after.stream_id == before.stream_id
            difference = first_difference(before.event.model_dump(), after.event.model_dump())
            assert difference is None, f"{url}: {difference}"
            assert after.event.model_dump_json() == before.event.model_dump_json()
