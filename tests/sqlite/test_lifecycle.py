"""Stream lifecycle on SQLite beyond the kit: a version-2 file is migrated and deletes work."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path
from uuid import uuid4

from eventsource import StreamDeleted, StreamDeletedError, open_backend
from eventsource.testing._events import AGGREGATE_TYPE, noted
from eventsource_sqlite import SCHEMA_VERSION
from eventsource_sqlite._schema import MIGRATIONS

from ._events import noted as sql_noted

CHILD = str(Path(__file__).with_name("_lifecycle_child.py"))


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


async def test_savers_in_other_processes_racing_a_hard_delete(tmp_path: Path) -> None:
    """Two processes append to a stream until it is deleted; the delete (in this process,
    once both have had an append acknowledged) counts every acknowledged event, and each
    saver's next append is refused: no acknowledged event outlives the delete unrecorded."""
    path = str(tmp_path / "race.db")
    aid = uuid4()
    async with open_backend(f"sqlite:///{path}") as backend:
        await backend.events.append_events(aid, "Race", [sql_noted(aid)], 0)
        children = [
            await asyncio.create_subprocess_exec(
                sys.executable, CHILD, path, str(aid), stdout=asyncio.subprocess.PIPE
            )
            for _ in range(2)
        ]
        for child in children:  # each has had one append acknowledged
            assert child.stdout is not None
            assert await asyncio.wait_for(child.stdout.readline(), 60) == b"ok\n"
        removed = await backend.events.delete_stream(aid, "Race", hard=True)
        outputs = [await asyncio.wait_for(child.communicate(), 60) for child in children]
        lines = [out.decode().split() for out, _ in outputs]
        assert all(words[-1] == "refused" for words in lines), lines
        acknowledged = 2 + sum(words.count("ok") for words in lines)
        assert removed == 1 + acknowledged
        [stone] = [
            s.event async for s in backend.events.read_all() if isinstance(s.event, StreamDeleted)
        ]
        assert stone.last_version == removed
        assert await backend.events.get_stream_version(aid, "Race") == 0
