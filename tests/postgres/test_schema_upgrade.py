"""Upgrading a schema of the previous release (version 2, jsonb payloads) in place."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import pytest

from eventsource import ConfigurationError, ExpectedVersion
from eventsource_postgres import PostgreSQLEventStore
from eventsource_postgres._options import PostgresOptions
from eventsource_postgres._schema import SCHEMA_VERSION

from .events import PgItemAdded
from .helpers import added
from .schema_v2 import create_v2_schema
from .test_group_commit import append, committer, one_batch, outcomes

pytestmark = pytest.mark.postgres

_OLD_APPEND = (
    "SELECT current_version, last_position FROM {s}.eventsource_append("
    "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
)


async def _old_release_append(admin: Any, schema: str, event: PgItemAdded, expected: int) -> Any:
    """An append as a process of the previous release sends it (13 arguments)."""
    return await admin.fetchrow(
        _OLD_APPEND.format(s=f'"{schema}"'),
        event.aggregate_id,
        "Cart",
        expected,
        event.aggregate_version - 1,
        [event.event_id],
        [event.event_type],
        [event.event_version],
        [None],
        [event.occurred_at],
        [event.model_dump_json()],
        False,
        False,
        1000,
    )


async def _column_types(admin: Any, schema: str) -> set[str]:
    rows = await admin.fetch(
        "SELECT data_type FROM information_schema.columns WHERE table_schema = $1 "
        "AND (table_name, column_name) IN "
        "(('events', 'payload'), ('outbox', 'event_data'), ('dlq', 'event_data'))",
        schema,
    )
    return {r[0] for r in rows}


async def test_v2_schema_is_upgraded_in_place_keeping_every_event(
    pg_url: str, pg_schema: str, admin: Any
) -> None:
    await create_v2_schema(admin, PostgresOptions(schema=pg_schema))
    aid = uuid4()
    old_events = [
        PgItemAdded(aggregate_id=aid, aggregate_type="Cart", aggregate_version=v, name=f"n{v}")
        for v in (1, 2)
    ]
    for number, event in enumerate(old_events):
        await _old_release_append(admin, pg_schema, event, number)
    assert await _column_types(admin, pg_schema) == {"jsonb"}
    async with PostgreSQLEventStore(pg_url) as store:
        await store.initialize()
        assert await _column_types(admin, pg_schema) == {"json"}
        version = await admin.fetchval(f'SELECT version FROM "{pg_schema}".eventsource_schema')
        assert version == SCHEMA_VERSION == 6
        assert (await store.get_events(aid, "Cart")).events == old_events
        aids = [uuid4() for _ in range(3)]
        async with one_batch(store, admin, 3):
            tasks = [append(store, x, added(x), 0) for x in aids]
        assert [r.new_version for r in await outcomes(tasks)] == [1, 1, 1]
        assert committer(store).largest_batch == 3
        assert await store.get_global_position() == 2 + 1 + 3  # + one_batch's own append


async def test_processes_of_the_previous_release_keep_appending(
    pg_url: str, pg_schema: str, admin: Any
) -> None:
    await create_v2_schema(admin, PostgresOptions(schema=pg_schema))
    async with PostgreSQLEventStore(pg_url) as store:
        await store.initialize()
        aid = uuid4()
        await store.append_events(aid, "Cart", added(aid, 2), 0)
        # stamped as version 1 by the old process, appended with ANY: re-stamped to 3
        stale = PgItemAdded(aggregate_id=aid, aggregate_type="Cart", name="old")
        row = await _old_release_append(admin, pg_schema, stale, ExpectedVersion.ANY)
        assert (row[0], row[1]) == (2, 3)
        stream = await store.get_events(aid, "Cart")
        assert [e.aggregate_version for e in stream.events] == [1, 2, 3]
        assert stream.events[2].event_id == stale.event_id
        payload = await admin.fetchval(
            f'SELECT payload FROM "{pg_schema}".events WHERE global_position = 3'
        )
        assert json.loads(payload)["aggregate_version"] == 3


async def test_v2_schema_without_auto_initialize_asks_for_initialize(
    pg_url: str, pg_schema: str, admin: Any
) -> None:
    await create_v2_schema(admin, PostgresOptions(schema=pg_schema))
    async with PostgreSQLEventStore(pg_url, auto_initialize=False) as store:
        aid = uuid4()
        with pytest.raises(ConfigurationError, match="call initialize"):
            await store.append_events(aid, "Cart", added(aid), 0)
        assert await store.get_global_position() == 0
        await store.initialize()
        assert (await store.append_events(aid, "Cart", added(aid), 0)).new_version == 1
