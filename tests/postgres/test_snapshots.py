"""PostgreSQL snapshots are a cache: a deleted, corrupted (by SQL) or unwritable snapshot row
changes no result of ``load`` and fails no save; schema 3 gets the table on upgrade."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from eventsource import (
    AggregateRepository,
    SnapshotDeserializationError,
    StorageError,
    open_backend,
)
from eventsource.testing._snapshots import KitTally
from eventsource_postgres import SCHEMA_VERSION, PostgreSQLEventStore, PostgreSQLSnapshotStore

KIT_TYPE = KitTally.aggregate_type

CORRUPTIONS = {
    "deleted": "DELETE FROM {s}.aggregate_snapshots",
    "state changed": """UPDATE {s}.aggregate_snapshots
        SET state = jsonb_set(state::jsonb, '{{notes}}', '["forged"]')::json""",
    "state another type": "UPDATE {s}.aggregate_snapshots SET state = '[1, 2]'::json",
    "version lowered": "UPDATE {s}.aggregate_snapshots SET version = version - 2",
    "version raised": "UPDATE {s}.aggregate_snapshots SET version = 999",
    "schema version": "UPDATE {s}.aggregate_snapshots SET schema_version = 7",
    "event id": "UPDATE {s}.aggregate_snapshots SET event_id = NULL",
    "checksum": "UPDATE {s}.aggregate_snapshots SET checksum = 'x'",
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
async def test_corrupted_or_deleted_snapshot_changes_no_load(
    pg_url: str, pg_schema: str, admin: Any, corruption: str
) -> None:
    async with open_backend(pg_url) as backend:
        repo = AggregateRepository(backend.events, KitTally, KIT_TYPE, snapshot_every=5)
        plain = AggregateRepository(backend.events, KitTally, KIT_TYPE)
        tally = repo.create_new(uuid4())
        for i in range(12):
            tally.note(f"n{i}")
            await repo.save(tally)
        aid = tally.aggregate_id
        snapshot = await backend.snapshots.get_snapshot(aid, KIT_TYPE)
        assert snapshot is not None and snapshot.version == 10
        expected = await plain.load(aid)
        assert (await repo.load(aid)).state == expected.state == tally.state
        await admin.execute(CORRUPTIONS[corruption].format(s=f'"{pg_schema}"'))
        if corruption != "deleted":
            with pytest.raises(SnapshotDeserializationError):
                await backend.snapshots.get_snapshot(aid, KIT_TYPE)
        loaded = await repo.load(aid)
        assert loaded.version == 12 and loaded.state == expected.state
        for i in range(12, 16):
            loaded.note(f"n{i}")
            await repo.save(loaded)
        assert (await repo.load(aid)).state == (await plain.load(aid)).state


async def test_failed_snapshot_writes_never_fail_a_save(
    pg_url: str, pg_schema: str, admin: Any
) -> None:
    s = f'"{pg_schema}"'
    async with open_backend(pg_url) as backend:
        await admin.execute(
            f"""CREATE FUNCTION {s}.refuse() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN RAISE EXCEPTION 'snapshots refused'; END $$;
            CREATE TRIGGER refuse BEFORE INSERT ON {s}.aggregate_snapshots
            FOR EACH ROW EXECUTE FUNCTION {s}.refuse()"""
        )
        repo = AggregateRepository(backend.events, KitTally, KIT_TYPE, snapshot_every=1)
        tally = repo.create_new(uuid4())
        tally.note("a")
        assert (await repo.save(tally)) is not None
        with pytest.raises(StorageError):
            await repo.create_snapshot(tally)  # the explicit call does report it
        await admin.execute(f"DROP TABLE {s}.aggregate_snapshots")
        tally.note("b")
        await repo.save(tally)
        loaded = await repo.load(tally.aggregate_id)
        assert loaded.version == 2 and loaded.state.notes == ["a", "b"]


async def test_snapshot_store_over_a_connection_joins_the_callers_transaction(
    pg_url: str, pg_schema: str, admin: Any
) -> None:
    async with PostgreSQLEventStore(pg_url) as store:
        await store.initialize()
        repo = AggregateRepository(store, KitTally, KIT_TYPE)
        tally = repo.create_new(uuid4())
        tally.note("a")
        await repo.save(tally)
        snapshots = PostgreSQLSnapshotStore(admin, schema=pg_schema)
        with_conn = AggregateRepository(store, KitTally, KIT_TYPE, snapshot_store=snapshots)
        transaction = admin.transaction()
        await transaction.start()
        await with_conn.create_snapshot(tally)
        await transaction.rollback()
        assert await snapshots.get_snapshot(tally.aggregate_id, KIT_TYPE) is None
        await with_conn.create_snapshot(tally)
        assert (await with_conn.load(tally.aggregate_id)).state == tally.state


async def test_a_version_3_schema_gets_the_snapshot_table(
    pg_url: str, pg_schema: str, admin: Any
) -> None:
    s = f'"{pg_schema}"'
    async with PostgreSQLEventStore(pg_url) as store:
        await store.initialize()
    await admin.execute(f"DROP TABLE {s}.aggregate_snapshots")
    await admin.execute(f"UPDATE {s}.eventsource_schema SET version = 3")
    assert SCHEMA_VERSION == 4
    async with open_backend(pg_url, create=False) as backend:
        aid = uuid4()
        repo = AggregateRepository(backend.events, KitTally, KIT_TYPE, snapshot_every=1)
        tally = repo.create_new(aid)
        tally.note("a")
        await repo.save(tally)
        assert await backend.snapshots.snapshot_exists(aid, KIT_TYPE)
    assert await admin.fetchval(f"SELECT version FROM {s}.eventsource_schema") == 4
