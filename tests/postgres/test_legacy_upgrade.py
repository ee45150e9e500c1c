"""Converting PostgreSQL schemas written by eventsource-py 0.5.0 (tests/legacy_050.py).

Refused with a LegacySchemaError (schema unchanged) until converted; ``eventsource upgrade``
converts in place, resumes after an interruption without copying a row twice.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
from pathlib import Path
from uuid import UUID, uuid4

import asyncpg
import pytest

from eventsource import LegacySchemaError, open_backend
from eventsource.legacy import UpgradeProgress, upgrade
from eventsource_postgres import (
    PostgreSQLCheckpointRepository,
    PostgreSQLDLQRepository,
    PostgreSQLEventStore,
    PostgreSQLOutboxRepository,
)
from legacy_050 import L5CustomerRegistered, LegacyData, assert_converted, build_postgres, make_data

from .conftest import with_options

CONSOLE_SCRIPT = Path(sys.executable).with_name("eventsource")


@pytest.fixture(scope="module")
def data() -> LegacyData:
    return make_data(10_000)


def _outbox_ids(data: LegacyData) -> list[UUID]:
    return [UUID(o["uuid"]) for o in data.outbox]


async def _catalog(url: str, schema: str) -> list[tuple[object, ...]]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT c.relname, c.relkind, (SELECT count(*) FROM pg_attribute a"
            " WHERE a.attrelid = c.oid AND a.attnum > 0) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 ORDER BY 1",
            schema,
        )
        counts = await conn.fetchval(
            f'SELECT (SELECT count(*) FROM "{schema}".events)'
            f' + (SELECT count(*) FROM "{schema}".event_outbox)'
        )
        return [tuple(r) for r in rows] + [("rows", counts)]
    finally:
        await conn.close()


async def test_opening_a_050_schema_refuses_it_and_changes_nothing(
    pg_server: str, pg_schema: str
) -> None:
    small = make_data(500)
    await build_postgres(pg_server, pg_schema, small)
    url = with_options(pg_server, schema=pg_schema)
    before = await _catalog(pg_server, pg_schema)

    store = PostgreSQLEventStore(url)
    async with store:
        with pytest.raises(LegacySchemaError) as caught:
            await store.initialize()
    with pytest.raises(LegacySchemaError):
        await PostgreSQLEventStore(url).open(create=False)
    for create in (True, False):
        with pytest.raises(LegacySchemaError):
            async with open_backend(url, create=create):
                pass
    store = PostgreSQLEventStore(url)
    async with store:  # an append initialises a store on first use: refused the same way
        with pytest.raises(LegacySchemaError):
            aid = uuid4()
            await store.append_events(
                aid, "L5Customer", [L5CustomerRegistered(aggregate_id=aid, name="x")], 0
            )
        # repositories and reads find no table or column of ours: told the same
        for use in (
            PostgreSQLCheckpointRepository(store).get_all_checkpoints(),
            PostgreSQLOutboxRepository(store).get_stats(),
            PostgreSQLDLQRepository(store).get_failure_stats(),
            store.get_events(uuid4()),
        ):
            with pytest.raises(LegacySchemaError):
                await use

    assert f"eventsource upgrade {url}" in str(caught.value)
    assert caught.value.command == f"eventsource upgrade {url}"
    assert await _catalog(pg_server, pg_schema) == before


async def test_a_10000_event_schema_is_converted_verified_and_reads_back(
    pg_server: str, pg_schema: str, data: LegacyData
) -> None:
    await build_postgres(pg_server, pg_schema, data)
    url = with_options(pg_server, schema=pg_schema)
    report = await upgrade(url)
    assert report.copied == {"events": 10_000, "checkpoints": 4, "outbox": 6, "dlq": 5}
    assert report.counts == report.copied
    store = PostgreSQLEventStore(url)
    async with store:
        await store.initialize()
        assert await store.get_global_position() == 10_000
    await assert_converted(url, data, _outbox_ids(data))
    conn = await asyncpg.connect(pg_server)
    try:
        left = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename LIKE 'legacy050%'",
            pg_schema,
        )
    finally:
        await conn.close()
    assert left == []


class _Stop(Exception):
    pass


async def test_an_interrupted_conversion_resumes_without_duplicates(
    pg_server: str, pg_schema: str, data: LegacyData
) -> None:
    await build_postgres(pg_server, pg_schema, data)
    url = with_options(pg_server, schema=pg_schema)

    def stop(step: UpgradeProgress) -> None:
        if step.batches == 4:
            raise _Stop

    with pytest.raises(_Stop):
        await upgrade(url, progress=stop)
    with pytest.raises(LegacySchemaError, match="to resume it"):
        async with open_backend(url):
            pass
    report = await upgrade(url)
    assert report.resumed and report.copied["events"] == 6000
    conn = await asyncpg.connect(pg_server)
    try:
        row = await conn.fetchrow(
            "SELECT count(*), count(DISTINCT event_id), max(global_position)"
            f' FROM "{pg_schema}".events'
        )
    finally:
        await conn.close()
    assert tuple(row) == (10_000, 10_000, 10_000)
    await assert_converted(url, data, _outbox_ids(data))


async def test_the_cli_converts_a_schema(pg_server: str, pg_schema: str) -> None:
    small = make_data(1_000, seed=3)
    await build_postgres(pg_server, pg_schema, small)
    url = with_options(pg_server, schema=pg_schema)
    done = await asyncio.to_thread(
        subprocess.run,
        [str(CONSOLE_SCRIPT), "upgrade", url, "--batch-size", "250"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        f"Converted PostgreSQL schema {pg_schema!r} at {url} from eventsource-py 0.5.0: "
        "1000 events, 4 checkpoints, 6 outbox, 5 dlq; verified"
    )
    assert "eventsource: events: 1000/1000 copied" in done.stderr.splitlines()
    await assert_converted(url, small, _outbox_ids(small))


async def test_a_conversion_killed_with_sigkill_resumes(
    pg_server: str, pg_schema: str, data: LegacyData
) -> None:
    await build_postgres(pg_server, pg_schema, data)
    url = with_options(pg_server, schema=pg_schema)
    child = await asyncio.create_subprocess_exec(
        str(CONSOLE_SCRIPT),
        "upgrade",
        url,
        "--batch-size",
        "100",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert child.stderr is not None
    while line := await child.stderr.readline():
        if b"events: 3000/10000 copied" in line:
            child.send_signal(signal.SIGKILL)
            break
    await child.wait()
    assert child.returncode == -signal.SIGKILL

    resumed = await asyncio.to_thread(
        subprocess.run,
        [str(CONSOLE_SCRIPT), "--json", "upgrade", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["resumed"] is True and 0 < report["copied"]["events"] <= 7000
    await assert_converted(url, data, _outbox_ids(data))
