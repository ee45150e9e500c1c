"""Fixtures for the runtime tests: an open backend per backend name that is installed."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from eventsource import Backend, open_backend
from eventsource.plugins import get_registry


def _installed(name: str) -> bool:
    try:
        get_registry().get_backend(name)
    except Exception:
        return False
    return True


def backend_names() -> list[str]:
    """Backends to run the runtime tests on: memory always, sqlite once it is installed."""
    names = ["memory"]
    if importlib.util.find_spec("eventsource_sqlite") is not None and _installed("sqlite"):
        names.append("sqlite")
    return names


def url_for(name: str, tmp_path: Path) -> str:
    """A fresh database URL for backend ``name``."""
    if name == "memory":
        return f"memory://rt-{uuid.uuid4().hex}"
    if name == "sqlite":
        return f"sqlite:///{tmp_path / 'runtime.db'}"
    raise ValueError(name)


@pytest.fixture(params=backend_names())
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of a fresh database, once per installed backend."""
    return url_for(request.param, tmp_path)


@pytest.fixture
async def backend(backend_url: str) -> AsyncIterator[Backend]:
    """An open backend (fresh database)."""
    async with open_backend(backend_url) as opened:
        yield opened
