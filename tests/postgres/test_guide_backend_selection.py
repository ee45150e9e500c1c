"""The guide's "1. Environment-Based Backend Selection" snippet runs as written, for both
values of ``EVENT_STORE_BACKEND``, and the store it returns works."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from eventsource import ExpectedVersion

from .conftest import with_options
from .events import PgItemAdded

pytest.importorskip("sqlalchemy")
pytest.importorskip("eventsource_sqlite")

GUIDE_SNIPPET = """
import os
from eventsource import SQLiteEventStore, PostgreSQLEventStore
def create_event_store():
    backend = os.environ.get("EVENT_STORE_BACKEND", "sqlite")
    if backend == "sqlite":
        path = os.environ.get("SQLITE_PATH", "./events.db")
        return SQLiteEventStore(path)
    elif backend == "postgresql":
        from sqlalchemy.ext.asyncio import create_async_engine, async_sessionmaker
        engine = create_async_engine(os.environ["DATABASE_URL"])
        session_factory = async_sessionmaker(engine, expire_on_commit=False)
        return PostgreSQLEventStore(session_factory)
    raise ValueError(f"Unknown backend: {backend}")
"""


@pytest.fixture
def create_event_store() -> Iterator[Any]:
    namespace: dict[str, Any] = {}
    exec(compile(GUIDE_SNIPPET, "sqlite-backend-guide", "exec"), namespace)
    yield namespace["create_event_store"]


async def _round_trip(store: Any) -> None:
    aggregate_id = uuid4()
    async with store:
        await store.initialize()
        event = PgItemAdded(aggregate_id=aggregate_id, aggregate_type="Cart", name="pen")
        result = await store.append_events(aggregate_id, "Cart", [event], ExpectedVersion.NO_STREAM)
        assert result.new_version == 1
        stream = await store.get_events(aggregate_id, "Cart")
        assert [e.event_id for e in stream.events] == [event.event_id]


async def test_selects_sqlite_by_default(
    create_event_store: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eventsource_sqlite import SQLiteEventStore

    monkeypatch.delenv("EVENT_STORE_BACKEND", raising=False)
    monkeypatch.setenv("SQLITE_PATH", str(tmp_path / "selected.db"))
    store = create_event_store()
    assert isinstance(store, SQLiteEventStore)
    await _round_trip(store)
    assert (tmp_path / "selected.db").exists()


async def test_selects_postgresql_from_a_sqlalchemy_url(
    create_event_store: Any, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eventsource_postgres import PostgreSQLEventStore

    schema = pg_url.split("schema=")[1].split("&")[0]
    database_url = with_options(pg_url.split("?")[0], schema=schema)
    monkeypatch.setenv("EVENT_STORE_BACKEND", "postgresql")
    monkeypatch.setenv(
        "DATABASE_URL", database_url.replace("postgresql://", "postgresql+asyncpg://")
    )
    store = create_event_store()
    assert isinstance(store, PostgreSQLEventStore)
    await _round_trip(store)
    assert store.schema == schema


def test_unknown_backend_is_refused(
    create_event_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVENT_STORE_BACKEND", "oracle")
    with pytest.raises(ValueError, match="Unknown backend: oracle"):
        create_event_store()
