"""Filtered reads use an index: a projection's catch-up costs the events it handles, not the
size of the log. Checked with the query plan of the read's own SQL, on a log where the wanted
types are rare."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from eventsource import EventRegistry, open_backend
from eventsource.migration import LenientEventRegistry
from eventsource.stores import ReadOptions
from eventsource_postgres._reads import page_query

TYPES = [f"idx.Type{n}" for n in range(20)]


async def _fill(admin: asyncpg.Connection, schema: str, count: int) -> None:
    """``count`` events of 20 types, round robin, written straight into the log (the plan,
    not the append path, is under test)."""
    await admin.execute(
        f"""
        INSERT INTO "{schema}".events (global_position, event_id, aggregate_id, aggregate_type,
            aggregate_version, event_type, event_version, occurred_at, payload)
        SELECT n, id, aid, 'Idx', 1, 'idx.Type' || (n % 20), 1, now(),
               json_build_object('event_id', id, 'aggregate_id', aid,
                                 'event_type', 'idx.Type' || (n % 20), 'aggregate_type', 'Idx')
        FROM (SELECT n, gen_random_uuid() AS id, gen_random_uuid() AS aid
              FROM generate_series(1, $1) AS n) AS rows
        """,
        count,
    )
    await admin.execute(f'ANALYZE "{schema}".events')


def _plan_text(rows: list[Any]) -> str:
    return json.dumps([json.loads(r[0]) if isinstance(r[0], str) else r[0] for r in rows])


async def test_a_read_of_two_of_twenty_types_scans_only_their_index_ranges(
    pg_url: str, pg_schema: str, admin: asyncpg.Connection
) -> None:
    """On the store's own connections (with their planner settings), each wanted type is an
    index range scan that stops after a page."""
    async with open_backend(pg_url) as backend:
        await _fill(admin, pg_schema, 40_000)
        options = ReadOptions(event_types=(TYPES[3], TYPES[7]))
        plans = []
        for cursor in (None, 20_000):
            sql, args = page_query(f'"{pg_schema}"', options, cursor, key="global_position")
            async with backend.events.pool.acquire() as conn:  # type: ignore[attr-defined]
                rows = await conn.fetch(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", *args, 500)
            plans.append(_plan_text(rows))
    for plan in plans:
        assert "events_event_type_idx" in plan, plan
        scanned = _rows_scanned(json.loads(plan)[0][0]["Plan"])
        # at most a page per wanted type, never the 40,000-event log
        assert scanned <= 2 * 500 + 10, (scanned, plan)


def _rows_scanned(node: dict[str, Any]) -> int:
    """Rows the plan's scans of the events table produced (index or sequential)."""
    own = 0
    if node.get("Relation Name") == "events":
        own = int(node.get("Actual Rows", 0)) * int(node.get("Actual Loops", 1)) + int(
            node.get("Rows Removed by Filter", 0)
        )
    return own + sum(_rows_scanned(child) for child in node.get("Plans", []))


async def test_the_index_is_added_to_an_existing_schema_that_lacks_it(
    pg_url: str, pg_schema: str, admin: asyncpg.Connection
) -> None:
    """A schema created before the index existed gets it when a store opens it."""
    async with open_backend(pg_url):
        pass
    await admin.execute(f'DROP INDEX "{pg_schema}".events_event_type_idx')
    async with open_backend(pg_url) as backend:
        assert await backend.events.get_global_position() == 0
    found = await admin.fetchval("SELECT to_regclass($1)", f'"{pg_schema}".events_event_type_idx')
    assert found is not None


async def test_filtered_reads_return_the_same_events_in_both_directions(
    pg_url: str, pg_schema: str, admin: asyncpg.Connection
) -> None:
    """The merged per-type scans return what a scan of the whole log would, in order, with
    duplicates in the wanted list counted once."""
    async with open_backend(pg_url) as backend:
        await _fill(admin, pg_schema, 2_000)
        store = backend.events
        store.event_registry = LenientEventRegistry(EventRegistry())
        store.page_size = 37
        wanted = (TYPES[1], TYPES[19], TYPES[1])
        from eventsource.stores import ReadDirection

        got = [s.global_position async for s in store.read_all(ReadOptions(event_types=wanted))]
        expected = [n for n in range(1, 2_001) if n % 20 in (1, 19)]
        assert got == expected
        back = ReadOptions(
            event_types=wanted, direction=ReadDirection.BACKWARD, from_position=1_500
        )
        got_back = [s.global_position async for s in store.read_all(back)]
        assert got_back == [n for n in reversed(expected) if n < 1_500]
