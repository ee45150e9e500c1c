"""The bulk migration path on real SQLite files (and PostgreSQL): what verification checks, an
append racing an import, a refused row inside a large batch, and resuming after a skip."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from eventsource import ImportConflictError, open_backend
from eventsource._migration_bulk import bulk_copy
from eventsource._migration_progress import MigrationProgress, Tracker
from eventsource.migration import migrate_backend, migrate_events, verify_copy
from eventsource.spi import EventTransfer, RawEvent, get_registry
from eventsource.testing import RawEventRow
from eventsource.testing._events import KitMeasured
from raw_events import write_raw_event

PG_URL = (
    os.environ.get("EVENTSOURCE_TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/test"
)

pytestmark = pytest.mark.skipif(
    "sqlite" not in set(get_registry().backend_names()), reason="needs the sqlite backend"
)


async def _probe() -> None:
    conn = await asyncio.wait_for(asyncpg.connect(PG_URL), 5)
    await conn.close()


async def _drop(schema: str) -> None:
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def target_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A target store's URL: a SQLite file, or a fresh PostgreSQL schema (its name with
    ``target`` in it, so a test can make more)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'target.db'}"
        return
    try:
        asyncio.run(_probe())
    except Exception as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL unreachable at {PG_URL}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {exc}")
    schema = f"es_test_migi_{uuid.uuid4().hex[:8]}_target"
    yield f"{PG_URL}?schema={schema}&pool_max=2"
    for n in ("", "0", "1"):
        asyncio.run(_drop(schema + n))


def measured(aid: uuid.UUID, version: int, **fields: object) -> KitMeasured:
    return KitMeasured(aggregate_id=aid, aggregate_type="Ledger", **fields).with_position(version)


async def fill(url: str, streams: int, per_stream: int, *, bad_after: int | None = None) -> None:
    """``streams`` streams of ``per_stream`` events each, appended round by round; with
    ``bad_after``, a row that is not JSON (a stream of its own) after that many rounds."""
    ids = [uuid.uuid4() for _ in range(streams)]
    tenant = uuid.uuid4()
    async with open_backend(url) as backend:
        for round_ in range(per_stream):
            if round_ == bad_after:
                await write_raw_event(
                    backend,
                    RawEventRow(uuid.uuid4(), "Ledger", 1, "KitMeasured", 1, "{no", uuid.uuid4()),
                )
            for aid in ids:
                event = measured(aid, round_ + 1, count=round_, tenant_id=tenant)
                await backend.events.append_events(aid, "Ledger", [event], round_)


async def all_rows(store: object) -> list[RawEvent]:
    assert isinstance(store, EventTransfer)
    return await store.export_rows(0, 100_000)


async def test_verification_fails_on_a_lost_tenant_or_event_version(
    tmp_path: Path, target_url: str
) -> None:
    """A copy whose one row has another tenant id, or another event (schema) version, fails
    verification; the exact copy passes."""
    source_url = f"sqlite:///{tmp_path / 'source.db'}"
    await fill(source_url, streams=2, per_stream=2)
    async with open_backend(source_url) as source, open_backend(target_url) as target:
        rows = await all_rows(source.events)
        assert isinstance(target.events, EventTransfer)
        await target.events.import_rows(rows)
        assert (await verify_copy(source.events, target.events)).ok
    changes: list[dict[str, object]] = [{"tenant_id": None}, {"event_version": 2}]
    for n, change in enumerate(changes):
        url = f"target{n}".join(target_url.rsplit("target", 1))
        async with open_backend(source_url) as source, open_backend(url) as target:
            assert isinstance(target.events, EventTransfer)
            wrong = [*rows[:2], dataclasses.replace(rows[2], **change), *rows[3:]]  # type: ignore[arg-type]
            await target.events.import_rows(wrong)
            assert not (await verify_copy(source.events, target.events)).ok, change


def append_elsewhere(url: str) -> None:
    """Append one event to the store at ``url`` from another thread, through its own
    connection (another writer), and wait for it."""

    async def append() -> None:
        async with open_backend(url) as backend:
            aid = uuid.uuid4()
            await backend.events.append_events(aid, "Ledger", [measured(aid, 1)], 0)

    thread = threading.Thread(target=asyncio.run, args=(append(),))
    thread.start()
    thread.join()


async def test_an_append_during_an_import_is_a_conflict_not_refused_rows(
    tmp_path: Path, target_url: str
) -> None:
    """Another writer appends to the target between two batches: the next import is an
    :class:`ImportConflictError` ("target changed during import"), even with
    ``on_refused="skip"``, and nothing of that batch is written; the rows are not listed as
    refused."""
    source_url = f"sqlite:///{tmp_path / 'source.db'}"
    await fill(source_url, streams=3, per_stream=3)
    async with open_backend(source_url) as source, open_backend(target_url) as target:
        rows = await all_rows(source.events)
        appended: list[int] = []

        def progress(p: MigrationProgress) -> None:
            if p.copied and not appended:
                append_elsewhere(target_url)
                appended.append(p.copied)

        with pytest.raises(ImportConflictError, match="target changed during import"):
            await migrate_events(
                source.events, target.events, batch_size=4, on_refused="skip", progress=progress
            )
        held = await all_rows(target.events)
        assert appended == [4]
        assert [r.event_id for r in held[:4]] == [r.event_id for r in rows[:4]]
        assert len(held) == 5 and held[4].event_id not in {r.event_id for r in rows}

        # the same directly: a batch whose first position the append took writes nothing
        with pytest.raises(ImportConflictError):
            await target.events.import_rows(rows[4:8])  # type: ignore[attr-defined]
        assert await all_rows(target.events) == held


async def test_a_bad_row_early_in_a_large_batch_is_isolated_in_few_imports(
    tmp_path: Path,
) -> None:
    """One row that is not JSON, second in a batch of 121: the batch is split until that row
    is alone, so every other row is written in a few imports (not one each), and the report
    names the refused row."""
    source_url = f"sqlite:///{tmp_path / 'source.db'}"
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    await fill(source_url, streams=10, per_stream=12, bad_after=0)
    async with open_backend(source_url) as source, open_backend(target_url) as target:
        rows = await all_rows(source.events)
        assert len(rows) == 121 and rows[0].payload == "{no"
        assert isinstance(source.events, EventTransfer)
        assert isinstance(target.events, EventTransfer)
        done = await bulk_copy(
            source.events, target.events, batch_size=1000, tracker=Tracker(None), skip_refused=True
        )
        assert [(r.global_position, r.event_id) for r, _ in done.refused] == [
            (rows[0].global_position, rows[0].event_id)
        ]
        assert "InvalidEventError" in done.refused[0][1]
        assert done.copied == 120
        assert done.imports <= 16  # 1 + two per halving (log2 121 < 7); row by row: 121
        assert [r.event_id for r in await all_rows(target.events)] == [r.event_id for r in rows[1:]]


async def test_a_resume_after_a_skip_counts_only_what_the_target_holds(tmp_path: Path) -> None:
    """A run that skipped a refused row, run again: ``events_skipped`` (and a dry run's) is
    what the target holds, not every source row up to its highest position."""
    source_url = f"sqlite:///{tmp_path / 'source.db'}"
    target_url = f"sqlite:///{tmp_path / 'target.db'}"
    await fill(source_url, streams=2, per_stream=3, bad_after=1)  # 7 rows, the 3rd refused
    first = await migrate_backend(source_url, target_url, batch_size=3, on_refused="skip")
    assert (first.events_copied, len(first.refused)) == (6, 1)
    again = await migrate_backend(source_url, target_url, batch_size=3, on_refused="skip")
    assert (again.events_copied, again.events_skipped) == (0, 6)
    plan = await migrate_backend(source_url, target_url, dry_run=True)
    assert (plan.events_copied, plan.events_skipped) == (0, 6)
