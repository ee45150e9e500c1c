"""The guide's "2. Data Migration Script" (SQLite to PostgreSQL) runs as written.

The script is run in a subprocess exactly as the guide prints it, with only its placeholders
filled in: the SQLAlchemy URL (``postgresql+asyncpg://...``) and the application's event
imports. SQLAlchemy is a test-only dependency; eventsource-postgres only reads the engine's URL.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from uuid import uuid4

import pytest

from eventsource import ExpectedVersion
from eventsource_postgres import PostgreSQLEventStore

from .conftest import with_options
from .events import PgItemRemoved
from .helpers import added

pytest.importorskip("sqlalchemy")
eventsource_sqlite = pytest.importorskip("eventsource_sqlite")

REPO = Path(__file__).resolve().parents[2]

GUIDE_SCRIPT = '''
import asyncio
from eventsource import SQLiteEventStore, PostgreSQLEventStore
async def migrate_events():
    """Migrate events from SQLite to PostgreSQL."""
    async with SQLiteEventStore("./events.db") as sqlite_store:
        await sqlite_store.initialize()
        # Setup PostgreSQL store
        from sqlalchemy.ext.asyncio import create_async_engine, async_sessionmaker
        engine = create_async_engine("postgresql+asyncpg://...")
        session_factory = async_sessionmaker(engine, expire_on_commit=False)
        pg_store = PostgreSQLEventStore(session_factory)
        # Migrate events in batches
        async for stored_event in sqlite_store.read_all():
            await pg_store.append_events(
                aggregate_id=stored_event.event.aggregate_id,
                aggregate_type=stored_event.event.aggregate_type,
                events=[stored_event.event],
                expected_version=-1, # ExpectedVersion.ANY
            )
asyncio.run(migrate_events())
'''


async def test_guide_migration_script_preserves_ids_versions_and_order(
    tmp_path: Path, pg_url: str
) -> None:
    source = eventsource_sqlite.SQLiteEventStore(str(tmp_path / "events.db"))
    async with source:
        await source.initialize()
        carts = [uuid4() for _ in range(4)]
        for round_ in range(3):  # interleaved streams: global order differs from stream order
            for aid in carts:
                await source.append_events(
                    aid, "Cart", added(aid, 2, start=2 * round_ + 1), ExpectedVersion.ANY
                )
        await source.append_events(
            carts[0],
            "Cart",
            [PgItemRemoved(aggregate_id=carts[0], aggregate_type="Cart", aggregate_version=7)],
            6,
        )
        expected = [
            (s.event_id, s.stream_id, s.stream_position, s.event.model_dump())
            async for s in source.read_all()
        ]
    assert len(expected) == 25

    sa_url = with_options(pg_url.split("?")[0], schema=pg_url.split("schema=")[1].split("&")[0])
    script = GUIDE_SCRIPT.replace(
        "postgresql+asyncpg://...", sa_url.replace("postgresql://", "postgresql+asyncpg://")
    )
    script = "import tests.postgres.events  # the application's event classes\n" + script
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, stderr.decode()

    async with PostgreSQLEventStore(pg_url) as target:
        migrated = [
            (s.event_id, s.stream_id, s.stream_position, s.event.model_dump())
            async for s in target.read_all()
        ]
        assert migrated == expected  # same ids, stream versions, payloads, in the same order
        assert [s.global_position async for s in target.read_all()] == list(range(1, 26))
        assert await target.get_stream_version(carts[0], "Cart") == 7
