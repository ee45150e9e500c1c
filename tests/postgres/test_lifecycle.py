"""Stream lifecycle on PostgreSQL beyond the kit: a version-4 schema (the previous release) is
upgraded in place, and then deletes work and its append functions refuse deleted streams."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

import pytest

from eventsource import StreamDeleted, StreamDeletedError
from eventsource_postgres import PostgreSQLEventStore
from eventsource_postgres import _schema as schema
from eventsource_postgres._options import PostgresOptions

from .helpers import added
from .test_group_commit import append, one_batch, outcomes

pytestmark = pytest.mark.postgres

_LIFECYCLE_CHECK = re.compile(
    r"\n\s*IF EXISTS \(SELECT 1 FROM \{s\}\.stream_lifecycle.*?END IF;", re.S
)


async def _create_v4_schema(admin: Any, options: PostgresOptions) -> None:
    """Version 4 as it was: today's tables less the lifecycle ones, the append functions
    without the lifecycle check, version 4 recorded."""
    s = options.quoted_schema
    await schema.create_schema(admin, options)
    await admin.execute(f"DROP TABLE {s}.stream_lifecycle, {s}.events_deleted")
    for function in (schema._APPEND_FUNCTION, schema._APPEND_BATCH_FUNCTION):
        old = _LIFECYCLE_CHECK.sub("", function)
        assert old != function and "stream_lifecycle" not in old
        await admin.execute(schema.render_function(old, options))
    await admin.execute(f"UPDATE {s}.eventsource_schema SET version = 4")


async def test_v4_schema_is_upgraded_and_refuses_appends_to_deleted_streams(
    pg_url: str, pg_schema: str, admin: Any
) -> None:
    await _create_v4_schema(admin, PostgresOptions(schema=pg_schema))
    aid = uuid4()
    async with PostgreSQLEventStore(pg_url, auto_initialize=False) as old:
        old._initialized = True  # a process of the previous release: it never re-initializes
        await old.append_events(aid, "Cart", added(aid, 2), 0)
    async with PostgreSQLEventStore(pg_url) as store:
        await store.initialize()
        version = await admin.fetchval(f'SELECT version FROM "{pg_schema}".eventsource_schema')
        assert version == schema.SCHEMA_VERSION == 6
        assert len((await store.get_events(aid, "Cart")).events) == 2
        assert await store.delete_stream(aid, "Cart", hard=True) == 2
        with pytest.raises(StreamDeletedError) as caught:
            await store.append_events(aid, "Cart", added(aid), 0)
        assert caught.value.hard
        log = [s async for s in store.read_all()]
        assert [s.global_position for s in log] == [3]
        assert isinstance(log[0].event, StreamDeleted)
        recreated = await store.append_events(aid, "Cart", added(aid), 0, recreate=True)
        assert (recreated.new_version, recreated.global_position) == (1, 4)


async def test_a_deleted_stream_in_a_group_commit_batch_fails_only_its_append(
    pg_url: str, admin: Any
) -> None:
    """The batch function refuses a marked stream for the whole batch; each append then runs
    alone, so only the append to the deleted stream fails, with StreamDeletedError."""
    async with PostgreSQLEventStore(pg_url) as store:
        await store.initialize()
        gone = uuid4()
        await store.append_events(gone, "Cart", added(gone), 0)
        await store.delete_stream(gone, "Cart")
        others = [uuid4() for _ in range(2)]
        async with one_batch(store, admin, 3):
            tasks = [
                append(store, others[0], added(others[0]), 0),
                append(store, gone, added(gone), 0),
                append(store, others[1], added(others[1]), 0),
            ]
        results = await outcomes(tasks)
        assert isinstance(results[1], StreamDeletedError) and not results[1].hard
        assert [r.new_version for r in (results[0], results[2])] == [1, 1]
        assert (await store.get_events(gone, "Cart")).events == []
