"""Fixtures for the runtime tests: a fresh database per installed backend (memory always;
sqlite and postgresql once installed; postgresql skips when its server is unreachable)."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from eventsource import Backend, open_backend
from eventsource.spi import get_registry

PG_ENV_VAR = "EVENTSOURCE_TEST_POSTGRES_URL"
PG_DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _installed(name: str, module: str) -> bool:
    if importlib.util.find_spec(module) is None:
        return False
    try:
        get_registry().get_backend(name)
    except Exception:
        return False
    return True


def backend_names() -> list[str]:
    """Backends to run the runtime tests on."""
    names = ["memory"]
    if _installed("sqlite", "eventsource_sqlite"):
        names.append("sqlite")
    if _installed("postgresql", "eventsource_postgres"):
        names.append("postgresql")
    return names


def pg_server() -> str:
    """The PostgreSQL test server's URL."""
    return os.environ.get(PG_ENV_VAR) or PG_DEFAULT_URL


async def _pg_execute(sql: str) -> None:
    import asyncpg

    conn = await asyncio.wait_for(asyncpg.connect(pg_server()), 5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


_pg_reachable: bool | None = None


async def require_postgres() -> None:
    """Skip (fail under CI=true) when the PostgreSQL server cannot be reached."""
    global _pg_reachable
    if _pg_reachable is None:
        try:
            await _pg_execute("SELECT 1")
            _pg_reachable = True
        except Exception:
            _pg_reachable = False
    if not _pg_reachable:
        message = f"PostgreSQL is not reachable at {pg_server()} (set {PG_ENV_VAR})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(params=backend_names())
async def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A URL of a fresh database, once per installed backend."""
    name = request.param
    if name == "memory":
        yield f"memory://rt-{uuid.uuid4().hex}"
    elif name == "sqlite":
        yield f"sqlite:///{tmp_path / 'runtime.db'}"
    else:
        await require_postgres()
        schema = f"es_rt_{uuid.uuid4().hex[:12]}"
        try:
            yield f"{pg_server()}?schema={schema}&pool_min=1&pool_max=4"
        finally:
            await _pg_execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
async def backend(backend_url: str) -> AsyncIterator[Backend]:
    """An open backend (fresh database)."""
    async with open_backend(backend_url) as opened:
        yield opened
