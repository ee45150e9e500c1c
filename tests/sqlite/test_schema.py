"""The schema: idempotent, versioned, refuses a newer file, and indexed for every query."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from eventsource import ReadDirection, ReadOptions, SchemaVersionError, stream_id_for
from eventsource_sqlite import (
    SCHEMA_VERSION,
    SQLiteCheckpointRepository,
    SQLiteDLQRepository,
    SQLiteEventStore,
    SQLiteOutboxRepository,
)

from ._events import noted


async def test_initialize_is_idempotent_and_records_the_version(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with SQLiteEventStore(path) as store:
        await store.initialize()
        aid = uuid4()
        await store.append_events(aid, "Note", [noted(aid)], 0)
        await store.initialize()
        await store.initialize()
        assert await store.get_global_position() == 1
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM eventsource_schema").fetchall() == [
            (SCHEMA_VERSION,)
        ]
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"events", "projection_checkpoints", "event_outbox", "dead_letter_queue"} <= tables


async def test_concurrent_initializers_apply_the_schema_once(tmp_path: Path) -> None:
    stores = [SQLiteEventStore(tmp_path / "s.db") for _ in range(6)]
    for store in stores:
        await store.connect()
    try:
        await asyncio.gather(*(store.initialize() for store in stores))
    finally:
        for store in stores:
            await store.close()
    with sqlite3.connect(tmp_path / "s.db") as db:
        assert db.execute("SELECT COUNT(*) FROM eventsource_schema").fetchone() == (1,)


async def test_a_newer_schema_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with SQLiteEventStore(path) as store:
        await store.initialize()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE eventsource_schema SET version = ?", (SCHEMA_VERSION + 1,))
    async with SQLiteEventStore(path) as store:
        with pytest.raises(SchemaVersionError, match=r"s\.db.*newer") as info:
            await store.initialize()
        assert str(SCHEMA_VERSION + 1) in str(info.value)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM eventsource_schema").fetchone() == (
            SCHEMA_VERSION + 1,
        )


async def test_the_application_user_version_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 42")
    async with SQLiteEventStore(path) as store:
        await store.initialize()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (42,)


# -- every query the contract makes uses an index ------------------------------------------------


@pytest.fixture
def traced() -> Iterator[list[str]]:
    """SQL statements run by stores and repositories (expanded with their parameters)."""
    seen: list[str] = []
    yield seen


def _plan(db: sqlite3.Connection, sql: str) -> str:
    return " | ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}"))


async def _record(store: SQLiteEventStore, seen: list[str]) -> None:
    await store.connection.set_trace_callback(seen.append)


async def test_queries_use_indexes(tmp_path: Path, traced: list[str]) -> None:
    path = tmp_path / "plan.db"
    tenant = uuid4()
    async with SQLiteEventStore(path) as store:
        await store.initialize()
        for i in range(40):  # enough rows that the planner prefers indexes over scans
            aid = uuid4()
            events = [noted(aid, n=i, tenant_id=tenant if i % 4 == 0 else None) for _ in range(3)]
            await store.append_events(aid, "Note" if i % 2 else "Memo", events, 0, outbox=True)
        with sqlite3.connect(path) as raw:
            raw.execute("ANALYZE")
        outbox = SQLiteOutboxRepository(store)
        dlq = SQLiteDLQRepository(store)
        checkpoints = SQLiteCheckpointRepository(store)
        await dlq.add_failed_event(uuid4(), "P", "SqlNoted", {}, "boom")
        await checkpoints.update_checkpoint("P", uuid4(), "SqlNoted", 5)
        await _record(store, traced)

        since = datetime.now(UTC) - timedelta(hours=1)
        await store.get_events(aid, "Note")
        await store.get_stream_version(aid, "Note")
        _ = [e async for e in store.read_stream(stream_id_for(aid, "Note"))]
        _ = [e async for e in store.read_all(ReadOptions(from_position=10, limit=5))]
        back = ReadOptions(direction=ReadDirection.BACKWARD, limit=5)
        _ = [e async for e in store.read_all(back)]
        _ = [e async for e in store.read_all(ReadOptions(tenant_id=tenant, limit=5))]
        _ = [e async for e in store.read_all(ReadOptions(event_types=("SqlNoted",), limit=5))]
        await store.get_events_by_type("Note")
        await store.get_events_by_type("Note", tenant_id=tenant, from_timestamp=since)
        await store.event_exists(uuid4())
        await store.get_global_position()
        await outbox.get_pending_events(limit=5)
        await dlq.get_failed_events()
        await dlq.get_failed_events(projection_name="P", status="failed")
        await checkpoints.get_lag_metrics("P", event_types=["SqlNoted"])
        await store.connection.set_trace_callback(None)

        selects = [s for s in traced if s.lstrip().upper().startswith(("SELECT", "UPDATE"))]
        assert len(selects) >= 15
        with sqlite3.connect(path) as db:
            plans = {sql: _plan(db, sql) for sql in selects}

    for sql, plan in plans.items():
        for step in plan.split(" | "):
            # a SCAN is fine only through an index (a partial one holds only the wanted rows)
            assert not step.startswith("SCAN") or "USING" in step, (sql, plan)

    def plan_of(fragment: str) -> str:
        found = [p for s, p in plans.items() if fragment in s]
        assert found, f"no traced statement contains {fragment!r}"
        return found[0]

    assert "events_stream" in plan_of("aggregate_id =")
    assert "INTEGER PRIMARY KEY" in plan_of("global_position > 10")
    assert "events_tenant" in plan_of(f"tenant_id = '{tenant}'")
    assert "events_aggregate_type" in plan_of("aggregate_type = 'Note' ORDER BY global_position")
    assert "events_event_id" in plan_of("WHERE event_id =")
    assert "outbox_pending" in plan_of("UPDATE event_outbox")
    assert "dlq_status" in plan_of("WHERE status = 'failed'")
    assert "dlq_projection_status" in plan_of("projection_name = 'P' AND status")
    assert "events_event_type" in plan_of("COUNT(*) FROM events WHERE global_position >")
