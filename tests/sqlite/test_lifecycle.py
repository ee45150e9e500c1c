"""Stream lifecycle on SQLite beyond the kit: a version-2 file is migrated and deletes work."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from uuid import uuid4

from eventsource import StreamDeleted, StreamDeletedError, open_backend
from eventsource.testing._events import AGGREGATE_TYPE, noted
from eventsource_sqlite import SCHEMA_VERSION
from eventsource_sqlite._schema import MIGRATIONS


async def test_a_version_2_file_gets_the_lifecycle_tables(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    aid = uuid4()
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE eventsource_schema (id INTEGER PRIMARY KEY, version INTEGER)")
        for version in (1, 2):
            for statement in MIGRATIONS[version]:
                db.execute(statement)
        db.execute("INSERT INTO eventsource_schema VALUES (1, 2)")
    assert SCHEMA_VERSION == 3
    async with open_backend(f"sqlite:///{path}", create=False) as backend:
        store = backend.events
        await store.append_events(aid, AGGREGATE_TYPE, noted(aid, 2), 0)
        assert await store.delete_stream(aid, AGGREGATE_TYPE) == 2
        try:
            await store.append_events(aid, AGGREGATE_TYPE, noted(aid, 1), 0)
        except StreamDeletedError as error:
            assert not error.hard
        else:
            raise AssertionError("an append to a deleted stream was accepted")
        assert await store.restore_stream(aid, AGGREGATE_TYPE) == 2
        log = [s async for s in store.read_all()]
    assert [s.global_position for s in log] == [1, 2, 3, 4]
    assert isinstance(log[2].event, StreamDeleted)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM eventsource_schema").fetchone() == (3,)
