"""Opening a PostgreSQL store without creating it: a mistyped or empty schema is refused and
left as it was."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import asyncpg
import pytest

from eventsource import StoreNotFoundError, open_backend
from eventsource.cli import main
from eventsource_postgres import PostgreSQLEventStore

from .conftest import with_options
from .helpers import added


async def _schema_exists(admin: asyncpg.Connection, name: str) -> bool:
    found: bool = await admin.fetchval(
        "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", name
    )
    return found


async def _tables(admin: asyncpg.Connection, name: str) -> list[str]:
    rows = await admin.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", name)
    return sorted(r[0] for r in rows)


async def test_a_missing_schema_is_not_created(
    pg_server: str, unused_schema: str, admin: asyncpg.Connection
) -> None:
    url = with_options(pg_server, schema=unused_schema)
    backend = open_backend(url, create=False)
    with pytest.raises(StoreNotFoundError, match="does not exist") as caught:
        await backend.open()
    assert unused_schema in caught.value.location and "127.0.0.1" in caught.value.location
    assert not backend.is_open
    store = PostgreSQLEventStore(url)
    with pytest.raises(StoreNotFoundError, match=unused_schema):
        await store.open(create=False)
    assert store.pool is None  # the pool opened for the check was closed again
    assert not await _schema_exists(admin, unused_schema)


async def test_an_empty_schema_is_left_empty(
    pg_server: str, unused_schema: str, admin: asyncpg.Connection
) -> None:
    await admin.execute(f'CREATE SCHEMA "{unused_schema}"')
    await admin.execute(f'CREATE TABLE "{unused_schema}".eventsource_schema (version integer)')
    for tables in (["eventsource_schema"], []):  # an uninitialised version table, then none
        if not tables:
            await admin.execute(f'DROP TABLE "{unused_schema}".eventsource_schema')
        with pytest.raises(StoreNotFoundError, match="holds no eventsource store"):
            async with open_backend(with_options(pg_server, schema=unused_schema), create=False):
                pass
        assert await _tables(admin, unused_schema) == tables


async def test_an_existing_store_opens_and_never_creates_later(pg_url: str) -> None:
    async with open_backend(pg_url) as created:
        aid = uuid4()
        await created.events.append_events(aid, "Cart", added(aid, 2), 0)
    async with open_backend(pg_url, create=False) as existing:
        assert await existing.events.get_global_position() == 2
        store = existing.events
        assert isinstance(store, PostgreSQLEventStore) and not store.auto_initialize


def test_cli_info_with_a_mistyped_schema_creates_nothing(
    capsys: pytest.CaptureFixture[str], pg_server: str, unused_schema: str
) -> None:
    url = with_options(pg_server, schema=unused_schema)
    for argv in (["info"], ["checkpoints", "list"], ["events", "tail"], ["dlq", "list"]):
        code = main(["--url", url, *argv])
        _, err = capsys.readouterr()
        assert code == 5 and "Traceback" not in err
        assert f"schema {unused_schema!r} does not exist" in err and "init" in err

    async def exists() -> bool:
        conn = await asyncpg.connect(pg_server)
        try:
            return await _schema_exists(conn, unused_schema)
        finally:
            await conn.close()

    assert not asyncio.run(exists())
