"""PostgreSQL test fixtures: one server from ``EVENTSOURCE_TEST_POSTGRES_URL``, a fresh schema
per test (dropped at the end) so runs never see each other's data.

Outside CI an unreachable server skips these tests with a hint; with ``CI=true`` it fails them.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

ENV_VAR = "EVENTSOURCE_TEST_POSTGRES_URL"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
_HERE = Path(__file__).parent


def server_url() -> str:
    """The test server's URL (no query string)."""
    return os.environ.get(ENV_VAR) or DEFAULT_URL


def with_options(url: str, **options: object) -> str:
    """``url`` with query options appended."""
    query = "&".join(f"{k}={v}" for k, v in options.items())
    return url + ("&" if "?" in url else "?") + query if query else url


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.postgres)


async def _probe(url: str) -> None:
    conn = await asyncio.wait_for(asyncpg.connect(url), 5)
    await conn.close()


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The reachable server's URL; skips (or fails under CI=true) when it is unreachable."""
    url = server_url()
    try:
        asyncio.run(_probe(url))
    except Exception as exc:
        message = (
            f"PostgreSQL is not reachable at {url} ({type(exc).__name__}: {exc}); "
            f"set {ENV_VAR} to a server URL such as {DEFAULT_URL}"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture
async def pg_schema(pg_server: str) -> AsyncIterator[str]:
    """A unique schema name for this test; the schema is dropped afterwards."""
    async for name in _schema_name(pg_server, "es_test_"):
        yield name


async def _schema_name(pg_server: str, prefix: str) -> AsyncIterator[str]:
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    yield name
    conn = await asyncpg.connect(pg_server)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture
async def unused_schema(pg_server: str) -> AsyncIterator[str]:
    """A second unique schema name that nobody creates (for opening a missing store); dropped
    afterwards should a test create it."""
    async for name in _schema_name(pg_server, "es_missing_"):
        yield name


@pytest.fixture
def pg_url_with_fresh_schema(pg_server: str, pg_schema: str) -> str:
    """A ``postgresql://`` URL whose tables live in this test's fresh schema."""
    return with_options(pg_server, schema=pg_schema, pool_min=1, pool_max=4)


@pytest.fixture
def pg_url(pg_url_with_fresh_schema: str) -> str:
    """Short alias of :func:`pg_url_with_fresh_schema`."""
    return pg_url_with_fresh_schema


@pytest.fixture
async def admin(pg_server: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain connection for the test's own inspection and sabotage."""
    conn = await asyncpg.connect(pg_server)
    yield conn
    await conn.close()
