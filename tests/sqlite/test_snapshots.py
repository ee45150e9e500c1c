"""SQLite snapshots are a cache: a deleted, corrupted (by SQL) or unwritable snapshot row
changes no result of ``load`` and fails no save; the table arrives with schema version 2."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from uuid import uuid4

import pytest

from eventsource import (
    AggregateRepository,
    SnapshotDeserializationError,
    StorageError,
    open_backend,
)
from eventsource.testing._snapshots import KitTally
from eventsource_sqlite import SCHEMA_VERSION, SQLiteEventStore, SQLiteSnapshotStore
from eventsource_sqlite._schema import MIGRATIONS

KIT_TYPE = KitTally.aggregate_type

CORRUPTIONS = {
    "deleted": "DELETE FROM aggregate_snapshots",
    "state not json": "UPDATE aggregate_snapshots SET state = '{not json'",
    "state changed": """UPDATE aggregate_snapshots
        SET state = json_set(state, '$.notes', json('["forged"]'))""",
    "state another type": "UPDATE aggregate_snapshots SET state = '[1, 2]'",
    "version lowered": "UPDATE aggregate_snapshots SET version = version - 2",
    "version raised": "UPDATE aggregate_snapshots SET version = 999",
    "schema version": "UPDATE aggregate_snapshots SET schema_version = 7",
    "event id": "UPDATE aggregate_snapshots SET event_id = NULL",
    "checksum": "UPDATE aggregate_snapshots SET checksum = 'x'",
    "created_at text": "UPDATE aggregate_snapshots SET created_at = 'yesterday'",
    "aggregate id": "UPDATE aggregate_snapshots SET aggregate_id = 'not-a-uuid'",
}


def sql(path: Path, statement: str) -> None:
    """Run ``statement`` on the file with a plain sqlite3 connection (around the library)."""
    with sqlite3.connect(path) as db:
        db.execute(statement)


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
async def test_corrupted_or_deleted_snapshot_changes_no_load(
    tmp_path: Path, corruption: str
) -> None:
    path = tmp_path / "snap.db"
    async with open_backend(f"sqlite:///{path}") as backend:
        repo = AggregateRepository(backend.events, KitTally, KIT_TYPE, snapshot_every=5)
        plain = AggregateRepository(backend.events, KitTally, KIT_TYPE)
        tally = repo.create_new(uuid4())
        for i in range(12):
            tally.note(f"n{i}")
            await repo.save(tally)
        aid = tally.aggregate_id
        snapshot = await backend.snapshots.get_snapshot(aid, KIT_TYPE)
        assert snapshot is not None and snapshot.version == 10  # 9 -> 10 crossed 10
        expected = await plain.load(aid)
        assert (await repo.load(aid)).state == expected.state == tally.state
        sql(path, CORRUPTIONS[corruption])
        if corruption != "deleted" and corruption != "aggregate id":
            with pytest.raises(SnapshotDeserializationError):
                await backend.snapshots.get_snapshot(aid, KIT_TYPE)
        loaded = await repo.load(aid)
        assert loaded.version == 12 and loaded.state == expected.state
        tally = loaded
        for i in range(12, 16):  # saves go on, and a new snapshot replaces the bad row
            tally.note(f"n{i}")
            await repo.save(tally)
        assert (await repo.load(aid)).state == (await plain.load(aid)).state


async def test_failed_snapshot_writes_never_fail_a_save(tmp_path: Path) -> None:
    path = tmp_path / "snap.db"
    async with open_backend(f"sqlite:///{path}") as backend:
        sql(
            path,
            "CREATE TRIGGER refuse_snapshots BEFORE INSERT ON aggregate_snapshots "
            "BEGIN SELECT RAISE(ABORT, 'snapshots refused'); END",
        )
        repo = AggregateRepository(backend.events, KitTally, KIT_TYPE, snapshot_every=1)
        tally = repo.create_new(uuid4())
        tally.note("a")
        assert (await repo.save(tally)) is not None
        with pytest.raises(StorageError, match="snapshots refused"):
            await repo.create_snapshot(tally)  # the explicit call does report it
        sql(path, "DROP TABLE aggregate_snapshots")
        tally.note("b")
        await repo.save(tally)
        loaded = await repo.load(tally.aggregate_id)
        assert loaded.version == 2 and loaded.state.notes == ["a", "b"]


async def test_snapshot_store_over_a_connection_joins_the_callers_transaction(
    tmp_path: Path,
) -> None:
    async with SQLiteEventStore(tmp_path / "snap.db") as store:
        await store.initialize()
        snapshots = SQLiteSnapshotStore(store.connection)
        repo = AggregateRepository(store, KitTally, KIT_TYPE, snapshot_store=snapshots)
        tally = repo.create_new(uuid4())
        tally.note("a")
        await repo.save(tally)
        await store.connection.execute("BEGIN")
        await repo.create_snapshot(tally)
        await store.connection.rollback()
        assert await snapshots.get_snapshot(tally.aggregate_id, KIT_TYPE) is None
        await repo.create_snapshot(tally)
        assert await snapshots.get_snapshot(tally.aggregate_id, KIT_TYPE) is not None


async def test_a_version_1_file_gets_the_snapshot_table(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE eventsource_schema (id INTEGER PRIMARY KEY, version INTEGER)")
        for statement in MIGRATIONS[1]:
            db.execute(statement)
        db.execute("INSERT INTO eventsource_schema VALUES (1, 1)")
    assert SCHEMA_VERSION == 2
    async with open_backend(f"sqlite:///{path}", create=False) as backend:
        aid = uuid4()
        repo = AggregateRepository(backend.events, KitTally, KIT_TYPE, snapshot_every=1)
        tally = repo.create_new(aid)
        tally.note("a")
        await repo.save(tally)
        assert await backend.snapshots.snapshot_exists(aid, KIT_TYPE)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM eventsource_schema").fetchone() == (2,)
