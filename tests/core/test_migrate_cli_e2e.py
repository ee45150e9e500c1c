"""``eventsource migrate`` end to end: the installed command in a subprocess, SQLite file ->
PostgreSQL schema and SQLite -> SQLite, asserting on output, exit codes and both databases.

The source holds what a lived-in store holds: a truncated stream (first version above 1), a
soft-deleted stream (rows kept aside), a hard-deleted one (its tombstone), and a checkpoint.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from eventsource import DomainEvent, open_backend
from eventsource.snapshots import Snapshot
from eventsource.spi import RawEvent, get_registry

CONSOLE_SCRIPT = Path(sys.executable).with_name("eventsource")
PG_URL = (
    os.environ.get("EVENTSOURCE_TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/test"
)

pytestmark = pytest.mark.skipif(
    not {"sqlite", "postgresql"} <= set(get_registry().backend_names()),
    reason="needs the sqlite and postgresql backends installed",
)


class Shipped(DomainEvent):
    """An event of the application (the migrating process never imports it)."""

    __register__ = False
    event_type: str = "e2e.Shipped"
    parcel: str


class Lived:
    """Ids of the source's streams."""

    def __init__(self) -> None:
        self.plain, self.cut, self.soft, self.hard = (uuid.uuid4() for _ in range(4))


async def lived_in_source(url: str, extra: int = 0) -> Lived:
    """A store with a truncated, a soft- and a hard-deleted stream, ``extra`` more events
    (written as rows, fast), and a checkpoint that processed one event."""
    ids = Lived()
    async with open_backend(url) as backend:
        store = backend.events
        store.event_registry.register(Shipped)
        for aid in (ids.plain, ids.cut, ids.soft, ids.hard):
            batch = [Shipped(aggregate_id=aid, parcel=f"p{n}") for n in range(4)]
            await store.append_events(aid, "Parcel", batch, 0)
        await store.truncate_stream(ids.cut, "Parcel", before=3)
        await store.delete_stream(ids.soft, "Parcel")
        await store.delete_stream(ids.hard, "Parcel", hard=True)
        if extra:
            await store.import_rows(  # type: ignore[attr-defined]
                rows_after(await store.transfer_position(), extra)  # type: ignore[attr-defined]
            )
        last = [s async for s in store.read_all()][-1]
        await backend.checkpoints.update_checkpoint("shipping", last.event_id, last.event_type)
    return ids


def rows_after(position: int, count: int, streams: int = 200) -> list[RawEvent]:
    """``count`` events over ``streams`` new streams, as rows after ``position``."""
    aggregates = [uuid.uuid4() for _ in range(streams)]
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for n in range(count):
        aid = aggregates[n % streams]
        version = n // streams + 1
        event = Shipped(
            aggregate_id=aid,
            aggregate_type="Parcel",
            aggregate_version=version,
            parcel=f"bulk{n}",
            occurred_at=moment + timedelta(microseconds=n),
        )
        rows.append(
            RawEvent(
                position + n + 1,
                event.event_id,
                aid,
                "Parcel",
                version,
                event.event_type,
                1,
                None,
                event.occurred_at,
                event.occurred_at,
                event.model_dump_json(),
            )
        )
    return rows


def migrate(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the installed ``eventsource migrate``."""
    env = {k: v for k, v in os.environ.items() if k != "EVENTSOURCE_URL"}
    return subprocess.run(
        [str(CONSOLE_SCRIPT), "migrate", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


async def state_of(url: str) -> dict[str, object]:
    """What a copy must keep: every row, the marks, the checkpoint."""
    async with open_backend(url) as backend:
        store = backend.events
        rows = await store.export_rows(0, 10**6)  # type: ignore[attr-defined]
        marks = await store.export_marks()  # type: ignore[attr-defined]
        checkpoint = await backend.checkpoints.get_checkpoint_data("shipping")
    return {
        "rows": [(r.global_position, r.event_id, r.aggregate_version, r.deleted) for r in rows],
        "documents": [json.loads(r.payload) for r in rows],
        "times": [(r.occurred_at, r.stored_at) for r in rows],
        "marks": [(m.aggregate_id, m.hard, m.last_version) for m in marks],
        "checkpoint": None
        if checkpoint is None
        else (
            checkpoint.last_event_id,
            checkpoint.global_position,
            checkpoint.events_processed,
            checkpoint.updated_at,
        ),
    }


@pytest.fixture
async def pg_target() -> AsyncIterator[str]:
    try:
        conn = await asyncio.wait_for(asyncpg.connect(PG_URL), 5)
    except Exception as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL unreachable at {PG_URL}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {exc}")
    await conn.close()
    schema = f"es_test_mige2e_{uuid.uuid4().hex[:10]}"
    yield f"{PG_URL}?schema={schema}"
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture
def sqlite_urls(tmp_path: Path) -> Iterator[tuple[str, str, Path]]:
    yield f"sqlite:///{tmp_path / 'source.db'}", f"sqlite:///{tmp_path / 'copy.db'}", tmp_path


async def check_copy(source: str, target: str, ids: Lived) -> None:
    """The target holds the source, field for field, and behaves as the source would."""
    assert await state_of(target) == await state_of(source)
    async with open_backend(target) as backend:
        store = backend.events
        assert await store.get_stream_version(ids.cut, "Parcel") == 4
        stream = await store.get_events(ids.cut, "Parcel")
        assert [e.aggregate_version for e in stream.events] == [3, 4]
        assert await store.restore_stream(ids.soft, "Parcel") == 4


@pytest.mark.postgres
async def test_sqlite_file_to_postgres_then_rerun_changes_nothing(
    sqlite_urls: tuple[str, str, Path], pg_target: str
) -> None:
    """The copy keeps every row (positions, versions, times, documents), the truncated and
    deleted streams and the checkpoint; it is verified; a rerun copies nothing and leaves the
    checkpoint's processed count and update time as they are."""
    source, _, _ = sqlite_urls
    ids = await lived_in_source(source, extra=500)
    async with open_backend(source) as backend:
        entry = await backend.outbox.add_event(Shipped(aggregate_id=ids.plain, parcel="o"))
        await backend.outbox.mark_failed(entry, "broker down")
        await backend.dlq.add_failed_event(uuid.uuid4(), "shipping", "e2e.Shipped", {}, "boom")
        await backend.snapshots.save_snapshot(Snapshot(ids.plain, "Parcel", 4, {"parcels": 4}))
    everything = ["--with", "checkpoints,outbox,dlq,snapshots"]
    done = await asyncio.to_thread(migrate, source, pg_target, "--batch-size", "100", *everything)
    assert done.returncode == 0, done.stderr
    assert "(bulk copy): 513 events copied, 0 already there" in done.stdout
    assert (
        "2 deleted-stream marks, 1 checkpoint, 1 outbox entry, 1 DLQ entry, 1 snapshot"
        in done.stdout
    )
    assert "Verified: 513 events on both sides" in done.stdout
    assert "Traceback" not in done.stderr
    before = await state_of(pg_target)
    for _ in range(2):
        again = await asyncio.to_thread(migrate, source, pg_target, "--json", *everything)
        assert again.returncode == 0, again.stderr
        report = json.loads(again.stdout)
        assert (report["events_copied"], report["events_skipped"]) == (0, 513)
        assert (report["outbox_copied"], report["dlq_copied"]) == (0, 0)
        assert report["verification"]["ok"] is True
    after = await state_of(pg_target)
    assert after == before
    async with open_backend(pg_target) as backend:
        assert (await backend.outbox.get_stats()).failed_count == 1
        assert [e.error_message for e in await backend.dlq.get_failed_events()] == ["boom"]
        snapshot = await backend.snapshots.get_snapshot(ids.plain, "Parcel")
        assert snapshot is not None and snapshot.state == {"parcels": 4}
    assert after["checkpoint"] is not None and after["checkpoint"][2] == 1  # type: ignore[index]
    await check_copy(source, pg_target, ids)


async def test_sqlite_to_sqlite_dry_run_progress_and_refusals(
    sqlite_urls: tuple[str, str, Path],
) -> None:
    """A dry run counts and writes nothing (not even the target file); the copy shows a few
    progress lines with rate and ETA (not one per batch); the source as target is refused;
    --with takes only what it can copy."""
    source, target, folder = sqlite_urls
    ids = await lived_in_source(source, extra=1000)
    dry = await asyncio.to_thread(migrate, source, target, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "1013 events to copy, 0 already there, 2 deleted-stream marks" in dry.stdout
    assert not (folder / "copy.db").exists()

    done = await asyncio.to_thread(migrate, source, target, "--batch-size", "10")
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert 3 <= len(lines) <= 15, lines  # 102 batches, a few lines
    assert lines[-1].startswith("eventsource: 1013/1013 events (100%), ")
    assert "events/s, ETA" in lines[-1]
    again_dry = await asyncio.to_thread(migrate, source, target, "--dry-run", "--json")
    assert again_dry.returncode == 0, again_dry.stderr
    assert json.loads(again_dry.stdout)["events_copied"] == 0
    await check_copy(source, target, ids)

    for spelling in (source, f"sqlite:///{folder}/./source.db"):
        same = await asyncio.to_thread(migrate, source, spelling)
        assert same.returncode == 1 and "same database" in same.stderr
    odd = await asyncio.to_thread(migrate, source, target, "--with", "checkpoints,bogus")
    assert odd.returncode == 2 and "bogus" in odd.stderr


async def test_tampered_target_fails_verification(sqlite_urls: tuple[str, str, Path]) -> None:
    """A target changed behind the copy's back (one payload edited) fails verification on
    the next run: exit 1, both checksums shown; so does a target missing a row."""
    source, target, folder = sqlite_urls
    await lived_in_source(source, extra=50)
    assert (await asyncio.to_thread(migrate, source, target)).returncode == 0
    db = sqlite3.connect(folder / "copy.db")
    with db:
        db.execute(
            "UPDATE events SET payload = replace(payload, 'bulk7', 'forged')"
            " WHERE payload LIKE '%bulk7\"%'"
        )
    db.close()
    tampered = await asyncio.to_thread(migrate, source, target)
    assert tampered.returncode == 1, tampered.stdout
    assert "0 events copied" in tampered.stdout
    assert "VERIFICATION FAILED: source 63 events" in tampered.stdout
    as_json = await asyncio.to_thread(migrate, source, target, "--json")
    assert as_json.returncode == 1
    verification = json.loads(as_json.stdout)["verification"]
    assert verification["ok"] is False
    assert verification["source_checksum"] != verification["target_checksum"]


@pytest.mark.postgres
@pytest.mark.slow
async def test_sigkill_half_way_then_resume(
    sqlite_urls: tuple[str, str, Path], pg_target: str
) -> None:
    """SIGKILLed half way through a SQLite -> PostgreSQL copy, the target holds whole batches;
    the rerun copies the rest, nothing twice, and verification passes."""
    from eventsource_postgres import PostgresOptions
    from eventsource_postgres._diagnostics import fetch_in_flight_appends
    from eventsource_postgres._schema import APPEND_LOCK_CLASS

    source, _, folder = sqlite_urls
    ids = await lived_in_source(source, extra=60_000)
    total = 60_013
    schema = pg_target.rsplit("schema=", 1)[1]
    key = PostgresOptions(schema=schema).lock_key
    env = {k: v for k, v in os.environ.items() if k != "EVENTSOURCE_URL"}
    # Every batch the child copies is a transaction that first takes the target's append
    # lock. The test holds that lock and lets the batches through one at a time, so the
    # child is killed at a known point: blocked in its next batch, with whole batches
    # committed before it, however fast or slow either process runs.
    conn = await asyncpg.connect(PG_URL)
    await conn.execute("SELECT pg_advisory_lock($1, $2)", APPEND_LOCK_CLASS, key)
    with (folder / "child.err").open("w") as errors:
        child = await asyncio.create_subprocess_exec(
            str(CONSOLE_SCRIPT),
            "migrate",
            source,
            pg_target,
            "--batch-size",
            "500",
            stdout=subprocess.DEVNULL,
            stderr=errors,
            env=env,
        )

    async def copied() -> int:
        table = await conn.fetchval("SELECT to_regclass($1)", f'"{schema}".events')
        return 0 if table is None else int(await conn.fetchval(f"SELECT count(*) FROM {table}"))

    async def waiters() -> list[int]:
        return [a.pid for a in await fetch_in_flight_appends(conn, key) if not a.holding]

    async def child_waits() -> None:
        """Until the child waits for the lock (a bound against a hang, not a speed check)."""
        async with asyncio.timeout(120):
            while not await waiters():
                died = child.returncode is not None
                assert not died, (folder / "child.err").read_text()
                await asyncio.sleep(0.02)

    try:
        await child_waits()
        while await copied() < 8 * 500 - 4:  # 8 batches (4 rows of the first kept aside)
            # Let one transaction through: it takes the lock as it is released, and this
            # session gets it back once that transaction has ended.
            await conn.execute("SELECT pg_advisory_unlock($1, $2)", APPEND_LOCK_CLASS, key)
            await conn.execute("SELECT pg_advisory_lock($1, $2)", APPEND_LOCK_CLASS, key)
            await child_waits()
        child.send_signal(signal.SIGKILL)  # blocked in a batch it cannot commit
        await asyncio.wait_for(child.wait(), 60)
        for pid in await waiters():  # the killed child's session: its batch is rolled back
            await conn.execute("SELECT pg_terminate_backend($1)", pid)
        async with asyncio.timeout(60):
            while await waiters():  # noqa: ASYNC110 - the lock's queue has no event
                await asyncio.sleep(0.02)
        partial = await copied()
        await conn.execute("SELECT pg_advisory_unlock($1, $2)", APPEND_LOCK_CLASS, key)
    finally:
        await conn.close()
        if child.returncode is None:
            child.kill()
            await child.wait()
    assert child.returncode == -signal.SIGKILL
    assert partial == 8 * 500 - 4, partial  # whole batches, none after the lock was kept

    resumed = await asyncio.to_thread(migrate, source, pg_target, "--json")
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["events_skipped"] == partial + 4  # rows: the 4 kept aside count too
    assert report["events_copied"] + partial + 4 == total
    assert report["verification"]["ok"] is True
    conn = await asyncpg.connect(PG_URL)
    try:
        counts = await conn.fetchrow(
            f'SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM "{schema}".events'
        )
    finally:
        await conn.close()
    assert counts["n"] == counts["ids"] == total - 4  # 4 soft-deleted rows are kept aside
    await check_copy(source, pg_target, ids)


async def test_append_path_progress_and_its_limit(sqlite_urls: tuple[str, str, Path]) -> None:
    """--method append: positions numbered anew, verified; its total is not known upfront,
    so progress is a line every few seconds and the last, not one a batch. A truncated
    stream cannot be appended (it does not start at version 1): exit 1, the error named."""
    source, target, folder = sqlite_urls
    async with open_backend(source) as backend:
        await backend.events.import_rows(rows_after(0, 400))  # type: ignore[attr-defined]
    done = await asyncio.to_thread(
        migrate, source, target, "--method", "append", "--batch-size", "10"
    )
    assert done.returncode == 0, done.stderr
    assert "(append copy): 400 events copied" in done.stdout
    assert "Verified: 400 events on both sides" in done.stdout
    lines = done.stderr.splitlines()
    assert 1 <= len(lines) <= 4, lines  # 40 batches
    assert lines[-1].startswith("eventsource: 400/? events, ")

    lived = f"sqlite:///{folder / 'lived.db'}"
    await lived_in_source(lived)
    refused = await asyncio.to_thread(
        migrate, lived, f"sqlite:///{folder / 'lived-copy.db'}", "--method", "append"
    )
    assert refused.returncode == 1
    assert "OptimisticLockError" in refused.stderr or "version" in refused.stderr


def _on_a_terminal(argv: list[str]) -> tuple[int, str]:
    """Run ``eventsource migrate`` with a pseudo-terminal as stdin, stdout and stderr; its
    exit code and everything it showed."""
    import pty
    import select

    env = {k: v for k, v in os.environ.items() if k != "EVENTSOURCE_URL"}
    env["COLUMNS"] = "120"
    main_fd, child_fd = pty.openpty()
    child = subprocess.Popen(
        [str(CONSOLE_SCRIPT), "migrate", *argv],
        stdin=child_fd,
        stdout=child_fd,
        stderr=child_fd,
        env=env,
        close_fds=True,
    )
    os.close(child_fd)
    shown = b""
    try:
        while True:
            ready, _, _ = select.select([main_fd], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(main_fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(main_fd)
    return child.wait(timeout=60), shown.decode(errors="replace")


async def test_progress_bar_on_a_terminal(sqlite_urls: tuple[str, str, Path]) -> None:
    """On a terminal the progress is a Rich bar: done/total, rate and ETA, ending full."""
    source, target, _ = sqlite_urls
    async with open_backend(source) as backend:
        await backend.events.import_rows(rows_after(0, 2000))  # type: ignore[attr-defined]
    code, shown = await asyncio.to_thread(_on_a_terminal, [source, target, "--batch-size", "100"])
    assert code == 0, shown
    assert "2000/2000" in shown and "events/s" in shown and "ETA" in shown
    assert "Verified: 2000 events on both sides" in shown
    assert "eventsource: 1000/2000 events" not in shown  # the bar, not the plain lines
