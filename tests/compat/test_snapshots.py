"""eventsource-py 0.5.0's snapshot API, called as its reference shows (section 3.4 and the
snapshot errors of section 5): ``Snapshot``, ``InMemorySnapshotStore(tracer=...,
enable_tracing=...)``, ``SQLiteSnapshotStore(database_path)``,
``PostgreSQLSnapshotStore(session_factory)`` and ``AggregateRepository(...,
snapshot_store=..., snapshot_threshold=...)``, on a real SQLite file and a real PostgreSQL
schema."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from eventsource import (
    AggregateRepository,
    InMemoryEventStore,
    InMemorySnapshotStore,
    Snapshot,
    SnapshotDeserializationError,
    SnapshotError,
    SnapshotNotFoundError,
    SnapshotSchemaVersionError,
    SnapshotStore,
)
from runtime.conftest import _pg_execute, pg_server, require_postgres

from ._model import CpOrder

STORE_KINDS = ["memory", "sqlite", "postgresql"]


def _snapshot(aggregate_id: uuid.UUID, version: int, schema_version: int = 1) -> Snapshot:
    return Snapshot(
        aggregate_id=aggregate_id,
        aggregate_type="CpOrder",
        version=version,
        state={"order_id": str(aggregate_id), "customer": f"c{version}", "shipped": False},
        schema_version=schema_version,
        created_at=datetime.now(UTC),
    )


@pytest.fixture(params=STORE_KINDS)
async def make_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Callable[[], SnapshotStore]]:
    """Builds a snapshot store as a 0.5.0 application builds it, once per backend."""
    if request.param == "memory":
        shared = InMemorySnapshotStore(tracer=None, enable_tracing=True)
        yield lambda: shared
    elif request.param == "sqlite":
        from eventsource.snapshots import SQLiteSnapshotStore

        path = str(tmp_path / "snapshots.db")
        yield lambda: SQLiteSnapshotStore(path, tracer=None, enable_tracing=True)
    else:
        pytest.importorskip("sqlalchemy")
        from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

        from eventsource.snapshots import PostgreSQLSnapshotStore
        from eventsource_postgres import PostgreSQLEventStore

        await require_postgres()
        schema = f"es_compat_snap_{uuid.uuid4().hex[:10]}"
        url = f"{pg_server()}?schema={schema}"
        async with PostgreSQLEventStore(url) as events:  # the tables, as 0.5.0's all.sql made
            await events.initialize()
        engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
        session_factory = async_sessionmaker(engine, expire_on_commit=False)
        try:
            yield lambda: PostgreSQLSnapshotStore(session_factory, tracer=None, enable_tracing=True)
        finally:
            await engine.dispose()
            await _pg_execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def test_the_snapshot_store_methods_as_050_calls_them(
    make_store: Callable[[], SnapshotStore],
) -> None:
    store = make_store()
    assert isinstance(store, SnapshotStore)
    first, second = uuid.uuid4(), uuid.uuid4()
    assert await store.get_snapshot(first, "CpOrder") is None
    assert await store.snapshot_exists(first, "CpOrder") is False

    await store.save_snapshot(_snapshot(first, 5))
    await store.save_snapshot(_snapshot(first, 8))  # upsert: the newer one replaces it
    await store.save_snapshot(_snapshot(second, 3, schema_version=2))

    # a second object over the same database sees what the first wrote
    again = make_store()
    got = await again.get_snapshot(first, "CpOrder")
    assert got is not None
    assert (got.aggregate_id, got.aggregate_type, got.version, got.schema_version) == (
        first,
        "CpOrder",
        8,
        1,
    )
    assert got.state["customer"] == "c8" and got.created_at.tzinfo is not None
    assert await again.snapshot_exists(second, "CpOrder") is True

    assert await again.delete_snapshots_by_type("CpOrder", schema_version_below=2) == 1
    assert await again.get_snapshot(first, "CpOrder") is None
    assert await again.delete_snapshot(second, "CpOrder") is True
    assert await again.delete_snapshot(second, "CpOrder") is False
    await again.save_snapshot(_snapshot(first, 1))
    assert await again.delete_snapshots_by_type("CpOrder") == 1


async def test_a_repository_loads_from_the_050_snapshot_store(
    make_store: Callable[[], SnapshotStore],
) -> None:
    events = InMemoryEventStore()
    snapshots = make_store()
    repo = AggregateRepository(
        event_store=events,
        aggregate_factory=CpOrder,
        aggregate_type="CpOrder",
        snapshot_store=snapshots,
        snapshot_threshold=2,
        snapshot_mode="sync",
    )
    assert repo.has_snapshot_support and repo.snapshot_threshold == 2
    order = repo.create_new(uuid.uuid4())
    order.place("ada")
    order.ship()
    await repo.save(order)
    snap = await snapshots.get_snapshot(order.aggregate_id, "CpOrder")
    assert snap is not None and snap.version == 2 and snap.state["shipped"] is True

    loaded = await repo.load(order.aggregate_id)
    assert loaded.version == 2 and loaded.state.customer == "ada" and loaded.state.shipped
    made = await repo.create_snapshot(loaded)
    assert isinstance(made, Snapshot) and made.version == 2


def test_in_memory_store_helpers_as_050_has_them() -> None:
    store = InMemorySnapshotStore()
    assert store.snapshot_count == 0


async def test_in_memory_clear_and_count() -> None:
    store = InMemorySnapshotStore(tracer=None, enable_tracing=False)
    await store.save_snapshot(_snapshot(uuid.uuid4(), 1))
    await store.save_snapshot(_snapshot(uuid.uuid4(), 2))
    assert store.snapshot_count == 2
    await store.clear()
    assert store.snapshot_count == 0


def test_snapshot_errors_take_050_arguments() -> None:
    aid = uuid.uuid4()
    cause = ValueError("bad json")
    errors: list[Any] = [
        SnapshotDeserializationError(aid, "CpOrder", cause, "cannot decode"),
        SnapshotSchemaVersionError(aid, "CpOrder", 1, 2),
        SnapshotNotFoundError(aid, "CpOrder"),
    ]
    for error in errors:
        assert isinstance(error, SnapshotError) and isinstance(error, Exception)
        error = cast(Any, error)
        assert (error.aggregate_id, error.aggregate_type) == (aid, "CpOrder")
        assert error.message
    assert errors[0].original_error is cause and errors[0].message == "cannot decode"
    assert (errors[1].snapshot_schema_version, errors[1].expected_schema_version) == (1, 2)
    with pytest.raises(SnapshotError):
        raise errors[2]


async def test_sqlite_snapshot_store_over_a_path_creates_the_table(tmp_path: Path) -> None:
    """0.5.0 expected the table from ``SQLiteEventStore.initialize()``; over a new file the
    store here creates the schema itself (the fixture's first call), and one over a store's
    file reads what a repository over that store wrote."""
    from eventsource.snapshots import SQLiteSnapshotStore
    from eventsource_sqlite import SQLiteEventStore

    path = tmp_path / "app.db"
    async with SQLiteEventStore(str(path)) as events:
        await events.initialize()
        repo = AggregateRepository(events, CpOrder, "CpOrder", snapshot_every=1)
        order = repo.create_new(uuid.uuid4())
        order.place("grace")
        await repo.save(order)
    snap = await SQLiteSnapshotStore(str(path)).get_snapshot(order.aggregate_id, "CpOrder")
    assert snap is not None and snap.version == 1 and snap.state["customer"] == "grace"


def test_a_store_over_something_else_is_a_typed_error() -> None:
    from eventsource import ConfigurationError, EventSourceError
    from eventsource.snapshots import PostgreSQLSnapshotStore, SQLiteSnapshotStore

    with pytest.raises(EventSourceError):
        SQLiteSnapshotStore(42)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        PostgreSQLSnapshotStore(object())
