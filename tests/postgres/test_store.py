"""PostgreSQL store: construction, schema, isolation, and appends raced over separate pools."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from eventsource import (
    ConfigurationError,
    ExpectedVersion,
    InvalidBackendURLError,
    InvalidEventError,
    OptimisticLockError,
    ReadDirection,
    ReadOptions,
    SchemaVersionError,
    StorageUnavailableError,
    open_backend,
)
from eventsource_postgres import PostgreSQLEventStore, PostgreSQLOutboxRepository
from eventsource_postgres._schema import SCHEMA_VERSION

from .conftest import with_options
from .events import PgItemAdded
from .helpers import added, open_stores


async def test_open_backend_shares_one_pool_across_roles(pg_url: str) -> None:
    async with open_backend(pg_url.replace("postgresql://", "postgres://")) as backend:
        assert backend.name == "postgresql"
        store = backend.events
        assert isinstance(store, PostgreSQLEventStore)
        pool = store.pool
        for repo in (backend.checkpoints, backend.outbox, backend.dlq):
            assert repo._source.pool is pool  # type: ignore[attr-defined]
        assert pool.get_max_size() == 4
        aid = uuid4()
        await store.append_events(aid, "Cart", added(aid), 0)
        assert await store.get_stream_version(aid, "Cart") == 1


async def test_url_options_are_checked(pg_url: str) -> None:
    with pytest.raises(InvalidBackendURLError, match="unknown option"):
        PostgreSQLEventStore(with_options(pg_url, pool_size=3))
    with pytest.raises(InvalidBackendURLError, match="pool_max"):
        PostgreSQLEventStore(with_options(pg_url, pool_max="many"))
    with pytest.raises(ConfigurationError, match="identifier"):
        PostgreSQLEventStore(pg_url.replace("schema=", "schema=bad;drop"))
    with pytest.raises(ConfigurationError):
        PostgreSQLEventStore(object())


async def test_unreachable_server_is_storage_unavailable() -> None:
    store = PostgreSQLEventStore("postgresql://postgres@127.0.0.1:1/test?pool_min=1")
    with pytest.raises(StorageUnavailableError, match=r"127\.0\.0\.1:1"):
        await store.get_global_position()
    await store.close()


async def test_existing_pool_is_used_and_not_closed(pg_server: str, pg_schema: str) -> None:
    pool = await asyncpg.create_pool(pg_server, min_size=1, max_size=2)
    try:
        async with PostgreSQLEventStore(pool, schema=pg_schema) as store:
            await store.initialize()
            aid = uuid4()
            await store.append_events(aid, "Cart", added(aid, 2), ExpectedVersion.NO_STREAM)
            assert store.pool is pool
        assert await pool.fetchval(f'SELECT count(*) FROM "{pg_schema}".events') == 2
    finally:
        await pool.close()


class _FakeURL:
    def __init__(self, text: str) -> None:
        self.text = text

    def render_as_string(self, hide_password: bool = True) -> str:
        return self.text


class _FakeSessionmaker:
    """What PostgreSQLEventStore reads from a SQLAlchemy async_sessionmaker: kw['bind'].url."""

    def __init__(self, url: str) -> None:
        self.kw: dict[str, Any] = {"bind": type("Engine", (), {"url": _FakeURL(url)})()}


async def test_session_factory_is_duck_typed(pg_url: str) -> None:
    url = pg_url.replace("postgresql://", "postgresql+asyncpg://")
    store = PostgreSQLEventStore(_FakeSessionmaker(url))
    try:
        aid = uuid4()  # no connect(), no initialize(): the guide's migration script does neither
        result = await store.append_events(aid, "Cart", added(aid, 3), ExpectedVersion.ANY)
        assert (result.new_version, result.global_position) == (3, 3)
    finally:
        await store.close()


async def test_initialize_is_idempotent_under_concurrency_and_versioned(pg_url: str) -> None:
    stores = [PostgreSQLEventStore(pg_url, pool_max=1) for _ in range(6)]
    try:
        await asyncio.gather(*(s.initialize() for s in stores))
        await asyncio.gather(*(s.initialize() for s in stores))
        schema = stores[0].schema
        pool = stores[0].pool
        assert (
            await pool.fetchval(f'SELECT version FROM "{schema}".eventsource_schema')
            == SCHEMA_VERSION
        )
        await pool.execute(f'UPDATE "{schema}".eventsource_schema SET version = 99')
        with pytest.raises(SchemaVersionError, match="99"):
            await stores[1].initialize()
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_schemas_isolate_applications(pg_server: str, pg_url: str, admin: Any) -> None:
    other = f"es_other_{uuid4().hex[:10]}"
    try:
        async with (
            PostgreSQLEventStore(pg_url) as one,
            PostgreSQLEventStore(with_options(pg_server, schema=other)) as two,
        ):
            await one.initialize()
            await two.initialize()
            aid = uuid4()
            await one.append_events(aid, "Cart", added(aid, 2), 0)
            assert await one.get_global_position() == 2
            assert await two.get_global_position() == 0
            assert [e async for e in two.read_all()] == []
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{other}" CASCADE')


@pytest.mark.parametrize("group_commit", ["true", "false"])
async def test_payload_is_stored_as_written_and_versions_are_restamped(
    pg_url: str, group_commit: str
) -> None:
    """Payloads are json (the text as the client wrote it: jsonb would turn 1.5e300 into an
    integer and -0.0 into 0.0); an append whose stamps are stale rewrites only the version."""
    async with open_stores(with_options(pg_url, group_commit=group_commit), 1) as (store,):
        aid = uuid4()
        odd = {"big": 1.5e300, "neg": -0.0, "tiny": 5e-324, "nul": "a\x00b", "int": 10**40}
        first = added(aid, 2)
        await store.append_events(aid, "Cart", first, 0)
        # ANY with events stamped 1..2 again: the function re-stamps them as 3..4.
        again = [
            e.model_copy(update={"metadata": {"m": {"aggregate_version": 1}, **odd}})
            for e in added(aid, 2)
        ]
        await store.append_events(aid, "Cart", again, ExpectedVersion.ANY)
        stream = await store.get_events(aid, "Cart")
        assert [e.aggregate_version for e in stream.events] == [1, 2, 3, 4]
        assert stream.events[2].metadata == {"m": {"aggregate_version": 1}, **odd}
        assert str(stream.events[2].metadata["neg"]) == "-0.0"
        rows = await store.pool.fetch(
            f"SELECT aggregate_version, payload, pg_typeof(payload)::text AS t "
            f'FROM "{store.schema}".events ORDER BY global_position'
        )
        assert {r["t"] for r in rows} == {"json"}
        assert [json.loads(r["payload"])["aggregate_version"] for r in rows] == [1, 2, 3, 4]
        assert [r["aggregate_version"] for r in rows] == [1, 2, 3, 4]
        assert rows[0]["payload"] == first[0].model_dump_json()
        assert rows[2]["payload"] == again[0].with_position(3).model_dump_json()


async def test_one_winner_per_expected_version_across_pools(pg_url: str) -> None:
    async with open_stores(pg_url, 8, pool_max=1) as stores:
        aid = uuid4()
        await stores[0].append_events(aid, "Cart", added(aid, 1), 0)

        for round_ in range(5):
            version = 1 + 2 * round_
            results = await asyncio.gather(
                *(
                    s.append_events(aid, "Cart", added(aid, 2, start=version + 1), version)
                    for s in stores
                ),
                return_exceptions=True,
            )
            winners = [r for r in results if not isinstance(r, BaseException)]
            losers = [r for r in results if isinstance(r, OptimisticLockError)]
            assert len(winners) == 1, results
            assert len(losers) == 7
            assert {e.actual_version for e in losers} == {version + 2}
        assert await stores[0].get_stream_version(aid, "Cart") == 11
        positions = [e.global_position async for e in stores[0].read_all()]
        assert positions == list(range(1, 12))


async def test_any_never_conflicts_across_pools(pg_url: str) -> None:
    async with open_stores(pg_url, 8, pool_max=1) as stores:
        aid = uuid4()

        async def writer(store: PostgreSQLEventStore) -> None:
            for _ in range(15):
                await store.append_events(aid, "Cart", added(aid, 2), ExpectedVersion.ANY)

        await asyncio.gather(*(writer(s) for s in stores))
        stream = await stores[0].get_events(aid, "Cart")
        assert [e.aggregate_version for e in stream.events] == list(range(1, 241))
        assert stream.version == 240


async def test_read_all_filters_and_backward_paging(pg_url: str) -> None:
    async with open_stores(pg_url, 1) as (store,):
        store.page_size = 7
        tenant = uuid4()
        for i in range(5):
            aid = uuid4()
            await store.append_events(
                aid, "Cart", added(aid, 5, tenant_id=tenant if i % 2 else None), 0
            )
        everything = [e.global_position async for e in store.read_all()]
        assert everything == list(range(1, 26))
        back = [
            e.global_position
            async for e in store.read_all(
                ReadOptions(direction=ReadDirection.BACKWARD, from_position=20, limit=9)
            )
        ]
        assert back == list(range(19, 10, -1))
        mine = [e async for e in store.read_all(ReadOptions(tenant_id=tenant, from_position=3))]
        assert [e.global_position for e in mine] == list(range(6, 11)) + list(range(16, 21))
        assert all(e.event.tenant_id == tenant for e in mine)


@pytest.mark.parametrize("group_commit", ["true", "false"])
async def test_nul_in_payloads_is_stored_and_in_identifiers_refused(
    pg_url: str, group_commit: str
) -> None:
    """NUL in a payload string is in the portable domain (json stores its escape); NUL in an
    identifier is refused by core on every backend, as InvalidEventError; nothing written."""
    async with open_stores(with_options(pg_url, group_commit=group_commit), 1) as (store,):
        aid = uuid4()

        def event(name: str = "", aggregate_type: str = "Cart") -> PgItemAdded:
            return PgItemAdded(aggregate_id=aid, aggregate_type=aggregate_type, name=name)

        with pytest.raises(InvalidEventError):
            await store.append_events(aid, "Ca\x00rt", [event(aggregate_type="Ca\x00rt")], 0)
        assert await store.get_global_position() == 0
        await store.append_events(aid, "Cart", [event(), event("a\x00b")], 0, outbox=True)
        names = [e.name for e in (await store.get_events(aid, "Cart")).events]  # type: ignore[attr-defined]
        assert names == ["", "a\x00b"]
        outbox = PostgreSQLOutboxRepository(store)
        await outbox.add_event(event("\x00"))
        entries = await outbox.get_pending_events(limit=10)
        assert sorted(e.event_data["name"] for e in entries) == ["", "\x00", "a\x00b"]
