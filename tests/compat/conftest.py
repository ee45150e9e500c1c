"""Fixtures for the eventsource-py 0.5.0 compatibility suite: a fresh backend per installed
backend (memory, sqlite, postgresql; postgresql skips when its server is unreachable)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from eventsource import Backend, open_backend
from runtime.conftest import _pg_execute, backend_names, pg_server, require_postgres


@pytest.fixture(params=backend_names())
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """An open backend over a fresh database, once per installed backend."""
    name = request.param
    if name == "memory":
        url = f"memory://compat-{uuid.uuid4().hex}"
    elif name == "sqlite":
        url = f"sqlite:///{tmp_path / 'compat.db'}"
    else:
        await require_postgres()
        schema = f"es_compat_{uuid.uuid4().hex[:12]}"
        url = f"{pg_server()}?schema={schema}&pool_min=1&pool_max=4"
    try:
        async with open_backend(url) as opened:
            yield opened
    finally:
        if name == "postgresql":
            await _pg_execute(
                f'DROP SCHEMA IF EXISTS "{url.rsplit("schema=")[1].split("&")[0]}" CASCADE'
            )
