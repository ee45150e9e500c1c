"""Retention policies live in the database: one saved here is applied by a ``scavenge`` in
another process, every truncation it makes is a ``StreamTruncated`` in the log, and a database
of the current schema that lacks the policies' table gets it when a store opens it."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from eventsource import (
    LIFECYCLE_AGGREGATE_TYPE,
    Backend,
    DomainEvent,
    ReadOptions,
    RetentionPolicy,
    StreamTruncated,
    open_backend,
)
from eventsource.runtime import Projection, ProjectionRunner, handles

from .conftest import _pg_execute

SCAVENGE = """
import asyncio, sys
from eventsource import open_backend

async def main():
    async with open_backend(sys.argv[1]) as backend:
        print(await backend.events.scavenge())

asyncio.run(main())
"""


class Reading(DomainEvent):
    event_type: str = "RtReading"
    aggregate_type: str = "RtSensor"
    value: int


def _readings(aid: uuid.UUID, n: int) -> list[DomainEvent]:
    return [Reading(aggregate_id=aid, value=i) for i in range(n)]


async def test_a_saved_policy_is_applied_by_another_process(backend_url: str) -> None:
    if backend_url.startswith("memory://"):
        pytest.skip("a memory:// database lives in one process")
    sensor = uuid.uuid4()
    async with open_backend(backend_url) as backend:
        await backend.events.append_events(sensor, "RtSensor", _readings(sensor, 6), 0)
        policy = RetentionPolicy(max_count=2, max_age=timedelta(days=3650))
        await backend.events.save_retention("RtSensor", policy)
    child = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", SCAVENGE, backend_url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == ["4"]
    async with open_backend(backend_url) as backend:
        assert await backend.events.load_retention() == {"RtSensor": policy}
        stream = await backend.events.get_events(sensor, "RtSensor")
        assert [e.aggregate_version for e in stream.events] == [5, 6]
        system = await backend.events.get_events(sensor, LIFECYCLE_AGGREGATE_TYPE)
        [record] = system.events
        assert isinstance(record, StreamTruncated)
        assert (record.stream_type, record.before, record.last_version, record.removed) == (
            "RtSensor",
            5,
            6,
            4,
        )


async def test_the_policies_table_arrives_on_open(backend_url: str) -> None:
    """A database of the current schema version without ``retention_policies`` (written by
    a release before it) gets the table when a store opens it; nothing else changes."""
    if backend_url.startswith("memory://"):
        pytest.skip("a memory:// database has no schema")
    sensor = uuid.uuid4()
    async with open_backend(backend_url) as backend:
        await backend.events.append_events(sensor, "RtSensor", _readings(sensor, 3), 0)
    if backend_url.startswith("sqlite"):
        path = backend_url.removeprefix("sqlite:///")
        with sqlite3.connect(path) as conn:
            conn.execute("DROP TABLE retention_policies")
        conn.close()
    else:
        schema = backend_url.split("schema=")[1].split("&")[0]
        await _pg_execute(f'DROP TABLE "{schema}".retention_policies')
    async with open_backend(backend_url) as backend:
        assert await backend.events.load_retention() == {}
        await backend.events.save_retention("RtSensor", RetentionPolicy(max_count=1))
        assert await backend.events.scavenge() == 2
        assert (await backend.events.get_stream_version(sensor, "RtSensor")) == 3


async def test_a_read_only_sqlite_file_without_the_table_reads_no_policies(
    tmp_path: Path,
) -> None:
    pytest.importorskip("eventsource_sqlite")
    path = tmp_path / "old.db"
    async with open_backend(f"sqlite:///{path}") as backend:
        sensor = uuid.uuid4()
        await backend.events.append_events(sensor, "RtSensor", _readings(sensor, 1), 0)
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE retention_policies")
    conn.close()
    async with open_backend(f"sqlite:///{path}?read_only=true") as backend:
        assert await backend.events.load_retention() == {}


class SensorCounts(Projection):
    """How many readings of each sensor are still stored: a truncation subtracts."""

    name = "rttest.sensor_counts"

    def __init__(self) -> None:
        self.counts: dict[uuid.UUID, int] = {}

    @handles(Reading)
    async def on_reading(self, event: Reading) -> None:
        self.counts[event.aggregate_id] = self.counts.get(event.aggregate_id, 0) + 1

    @handles(StreamTruncated)
    async def on_truncated(self, event: StreamTruncated) -> None:
        if event.stream_type == "RtSensor":
            self.counts[event.aggregate_id] -= event.removed


async def test_a_running_projection_reacts_to_truncation_and_scavenge(backend: Backend) -> None:
    store = backend.events
    first, second = uuid.uuid4(), uuid.uuid4()
    await store.append_events(first, "RtSensor", _readings(first, 5), 0)
    await store.append_events(second, "RtSensor", _readings(second, 4), 0)
    counts = SensorCounts()
    runner = ProjectionRunner.from_backend(counts, backend)
    await runner.catch_up()
    assert counts.counts == {first: 5, second: 4}
    assert await store.truncate_stream(first, "RtSensor", before=3) == 2
    await store.save_retention("RtSensor", RetentionPolicy(max_count=1))
    assert await store.scavenge() == 2 + 3
    await store.append_events(second, "RtSensor", _readings(second, 1), 4)
    await runner.catch_up()
    assert counts.counts == {first: 1, second: 2}
    for aid in (first, second):
        stored = await store.get_events(aid, "RtSensor")
        assert counts.counts[aid] == len(stored.events)


async def test_an_upgraded_050_database_stores_policies(backend_url: str) -> None:
    """``eventsource upgrade`` (here its engine) converts a 0.5.0 database into this
    release's schema, policies' table included: a policy saves and scavenges right away."""
    if backend_url.startswith("memory://"):
        pytest.skip("no 0.5.0 memory databases to convert")
    from eventsource.legacy import upgrade
    from legacy_050 import build_postgres, build_sqlite, make_data

    data = make_data(500, seed=3)
    if backend_url.startswith("sqlite"):
        path = backend_url.removeprefix("sqlite:///")
        build_sqlite(path, data)
    else:
        schema = backend_url.split("schema=")[1].split("&")[0]
        await build_postgres(backend_url.split("?")[0], schema, data)
    await upgrade(backend_url)
    if backend_url.startswith("sqlite"):
        with sqlite3.connect(path) as conn:
            found = conn.execute(
                "SELECT name FROM sqlite_master WHERE name = 'retention_policies'"
            ).fetchall()
        conn.close()
        assert found == [("retention_policies",)]
    async with open_backend(backend_url) as backend:
        assert await backend.events.load_retention() == {}
        await backend.events.save_retention("Anything", RetentionPolicy(max_count=3))
        assert await backend.events.load_retention() == {"Anything": RetentionPolicy(max_count=3)}


async def test_a_postgres_store_that_creates_nothing_reads_no_policies(backend_url: str) -> None:
    if not backend_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's auto_initialize=False")
    from eventsource_postgres import PostgreSQLEventStore

    async with open_backend(backend_url) as backend:
        await backend.events.save_retention("RtSensor", RetentionPolicy(max_count=1))
    schema = backend_url.split("schema=")[1].split("&")[0]
    await _pg_execute(f'DROP TABLE "{schema}".retention_policies')
    async with PostgreSQLEventStore(backend_url, auto_initialize=False) as store:
        assert await store.load_retention() == {}
        assert await store.scavenge() == 0


async def test_scavenge_and_truncate_racing_appends_keep_what_the_policy_keeps(
    backend: Backend, backend_url: str
) -> None:
    """``scavenge`` and ``truncate_stream`` on one connection while another appends to the
    stream they shorten and to a stream of a type without a policy: every acknowledged event
    the policy keeps is there, the version counts every append, the kept versions run without
    a hole, and a reader tailing ``read_all`` meanwhile skipped no kept event."""
    if backend_url.startswith("memory://"):
        pytest.skip("a memory:// database has no second connection")
    keep, appends = 3, 30
    sensor, other = uuid.uuid4(), uuid.uuid4()
    await backend.events.save_retention("RtSensor", RetentionPolicy(max_count=keep))
    done = asyncio.Event()
    acknowledged: dict[str, list[uuid.UUID]] = {"RtSensor": [], "RtOther": []}
    seen: set[uuid.UUID] = set()

    async def append() -> None:
        try:
            for i in range(appends):
                for aid, kind in ((sensor, "RtSensor"), (other, "RtOther")):
                    event = Reading(aggregate_id=aid, aggregate_type=kind, value=i)
                    await backend.events.append_events(aid, kind, [event], i)
                    acknowledged[kind].append(event.event_id)
        finally:
            done.set()

    async def tail(after: int = 0) -> int:
        async for stored in reader.events.read_all(ReadOptions(from_position=after)):
            seen.add(stored.event_id)
            after = stored.global_position
        return after

    async with open_backend(backend_url) as remover, open_backend(backend_url) as reader:
        removed_all = asyncio.Event()

        async def remove() -> int:
            removed = 0
            try:
                while not done.is_set():
                    removed += await remover.events.scavenge()
                    version = (await remover.events.get_events(sensor, "RtSensor")).version
                    removed += await remover.events.truncate_stream(
                        sensor, "RtSensor", before=max(1, version - keep + 1)
                    )
                    await asyncio.sleep(0)
            finally:
                removed_all.set()
            return removed

        async def follow() -> None:
            after = 0
            while not removed_all.is_set():  # the last removal records a lifecycle event too
                after = await tail(after)
                await asyncio.sleep(0)
            await tail(after)

        _, removed, _ = await asyncio.wait_for(asyncio.gather(append(), remove(), follow()), 120)
        assert removed > 0, "the removals never ran against the appends"
        stream = await reader.events.get_events(sensor, "RtSensor")
        assert stream.version == appends, "the version did not count every append"
        versions = [e.aggregate_version for e in stream.events]
        assert versions == list(range(versions[0], appends + 1)), f"a hole: {versions}"
        kept = {e.event_id for e in stream.events}
        assert set(acknowledged["RtSensor"][-keep:]) <= kept, "an event the policy keeps went"
        assert kept <= set(acknowledged["RtSensor"])
        untouched = await reader.events.get_events(other, "RtOther")
        assert [e.event_id for e in untouched.events] == acknowledged["RtOther"]
        everything = {s.event_id async for s in reader.events.read_all()}
        assert everything <= seen, "the tailing reader skipped an event that is kept"
