"""Converting SQLite files written by eventsource-py 0.5.0 (tests/legacy_050.py builds them).

Refused with a LegacySchemaError (file unchanged) until converted; ``eventsource upgrade``
converts in place, resumes after an interruption (an exception, a SIGKILL) without copying a
row twice, and refuses to finish when the copy does not match.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from uuid import UUID

import pytest

from eventsource import (
    LegacySchemaError,
    SchemaVersionError,
    StorageError,
    UpgradeVerificationError,
    open_backend,
)
from eventsource.legacy import UpgradeProgress, upgrade
from eventsource.spi import legacy_outbox_id
from eventsource_sqlite import SQLiteCheckpointRepository, SQLiteEventStore, SQLiteOutboxRepository
from legacy_050 import LegacyData, assert_converted, build_sqlite, make_data

CONSOLE_SCRIPT = Path(sys.executable).with_name("eventsource")


def _dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def _outbox_ids(data: LegacyData) -> list[UUID]:
    return [UUID(legacy_outbox_id(o["id"])) for o in data.outbox]


@pytest.fixture(scope="module")
def data() -> LegacyData:
    return make_data(10_000)


@pytest.fixture(scope="module")
def small() -> LegacyData:
    return make_data(2_000, seed=7)


def _legacy_file(tmp_path: Path, data: LegacyData) -> Path:
    path = tmp_path / "legacy.db"
    build_sqlite(str(path), data)
    return path


async def test_every_way_of_opening_a_050_file_refuses_it_and_changes_nothing(
    tmp_path: Path, small: LegacyData
) -> None:
    path = _legacy_file(tmp_path, small)
    before = _dump(path)
    command = f"eventsource upgrade sqlite:///{path}"

    async with SQLiteEventStore(path) as store:
        with pytest.raises(LegacySchemaError) as caught:
            await store.initialize()
        for repository in (SQLiteCheckpointRepository(store), SQLiteOutboxRepository(store)):
            with pytest.raises(LegacySchemaError):
                await repository.get_stats() if isinstance(
                    repository, SQLiteOutboxRepository
                ) else await repository.get_all_checkpoints()
    with pytest.raises(LegacySchemaError):
        await SQLiteEventStore(path).open(create=False)
    for create in (True, False):
        with pytest.raises(LegacySchemaError):
            async with open_backend(f"sqlite:///{path}", create=create):
                pass

    error = caught.value
    assert isinstance(error, SchemaVersionError) and isinstance(error, StorageError)
    assert "eventsource-py 0.5.0" in str(error) and command in str(error)
    assert error.command == command and str(path) in error.location
    assert _dump(path) == before


async def test_a_10000_event_file_is_converted_verified_and_reads_back(
    tmp_path: Path, data: LegacyData
) -> None:
    path = _legacy_file(tmp_path, data)
    steps: list[UpgradeProgress] = []
    report = await upgrade(f"sqlite:///{path}", progress=steps.append)

    assert report.state == "legacy" and not report.resumed
    assert report.copied == {"events": 10_000, "checkpoints": 4, "outbox": 6, "dlq": 5}
    assert report.counts == report.copied and len(report.checksum) == 64
    events_steps = [s for s in steps if s.table == "events"]
    assert [s.copied for s in events_steps] == list(range(1000, 10_001, 1000))
    assert all(s.total == 10_000 for s in events_steps)
    # 0.5.0's tables are gone; ours are all there is
    conn = sqlite3.connect(path)
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    conn.close()
    assert not any(t.startswith("legacy050_") for t in tables)
    assert "eventsource_legacy_upgrade" not in tables

    async with SQLiteEventStore(path) as store:  # reopened as the guide opens a store
        await store.initialize()
        assert await store.get_global_position() == 10_000
    await assert_converted(f"sqlite:///{path}", data, _outbox_ids(data))
    again = await upgrade(f"sqlite:///{path}")
    assert again.state == "current" and again.copied == {}


class _Stop(Exception):
    pass


async def test_an_interrupted_conversion_is_refused_then_resumes_without_duplicates(
    tmp_path: Path, data: LegacyData
) -> None:
    path = _legacy_file(tmp_path, data)
    batches = 0

    def stop_after_three(step: UpgradeProgress) -> None:
        nonlocal batches
        batches += 1
        if batches == 3:
            raise _Stop

    with pytest.raises(_Stop):
        await upgrade(f"sqlite:///{path}", progress=stop_after_three)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 3000
    conn.close()
    with pytest.raises(LegacySchemaError, match=r"has not finished .*to resume it"):
        async with SQLiteEventStore(path) as store:
            await store.initialize()

    report = await upgrade(f"sqlite:///{path}")
    assert report.resumed and report.copied["events"] == 7000
    assert report.counts["events"] == 10_000
    conn = sqlite3.connect(path)
    positions = [r[0] for r in conn.execute("SELECT global_position FROM events ORDER BY 1")]
    ids = conn.execute("SELECT count(DISTINCT event_id) FROM events").fetchone()[0]
    conn.close()
    assert positions == list(range(1, 10_001)) and ids == 10_000
    await assert_converted(f"sqlite:///{path}", data, _outbox_ids(data))


def test_a_conversion_killed_with_sigkill_resumes(tmp_path: Path, data: LegacyData) -> None:
    path = _legacy_file(tmp_path, data)
    url = f"sqlite:///{path}"
    with subprocess.Popen(
        [str(CONSOLE_SCRIPT), "upgrade", url, "--batch-size", "100"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        assert child.stderr is not None
        for line in child.stderr:
            if "events: 3000/10000 copied" in line:
                child.send_signal(signal.SIGKILL)
                break
        child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL

    resumed = subprocess.run(
        [str(CONSOLE_SCRIPT), "--json", "upgrade", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["resumed"] is True
    assert 0 < report["copied"]["events"] <= 7000
    assert report["counts"]["events"] == 10_000
    conn = sqlite3.connect(path)
    assert conn.execute(
        "SELECT count(*), count(DISTINCT event_id), max(global_position) FROM events"
    ).fetchone() == (10_000, 10_000, 10_000)
    conn.close()


async def test_a_copy_that_does_not_match_is_not_finished(
    tmp_path: Path, small: LegacyData
) -> None:
    path = _legacy_file(tmp_path, small)
    url = f"sqlite:///{path}"

    def stop(step: UpgradeProgress) -> None:
        if step.table == "events" and step.copied >= 1000:
            raise _Stop

    with pytest.raises(_Stop):
        await upgrade(url, batch_size=500, progress=stop)
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM events WHERE global_position = 10")  # lost behind the resume point
    conn.commit()
    conn.close()

    with pytest.raises(UpgradeVerificationError) as caught:
        await upgrade(url)
    assert caught.value.mismatches[0] == (
        "events: 2000 rows in eventsource-py 0.5.0's table, 1999 converted"
    )
    assert "checksum" in caught.value.mismatches[1]
    with pytest.raises(LegacySchemaError):  # still not openable
        async with open_backend(url):
            pass

    failed = await asyncio.to_thread(
        subprocess.run,
        [str(CONSOLE_SCRIPT), "upgrade", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert failed.returncode == 1 and failed.stdout == ""
    assert "does not match the original" in failed.stderr and "--restart" in failed.stderr

    report = await upgrade(url, restart=True)
    assert report.resumed and report.copied["events"] == 2000
    await assert_converted(url, small, _outbox_ids(small))


def test_the_cli_converts_with_progress_and_a_summary(tmp_path: Path, small: LegacyData) -> None:
    path = _legacy_file(tmp_path, small)
    url = f"sqlite:///{path}"
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "upgrade", url, "--batch-size", "500", "--keep-legacy"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        f"Converted SQLite database {path} from eventsource-py 0.5.0: 2000 events, "
        "4 checkpoints, 6 outbox, 5 dlq; verified (events checksum "
    )
    progress = [line for line in done.stderr.splitlines() if line.startswith("eventsource: events")]
    assert progress == [f"eventsource: events: {n}/2000 copied" for n in (500, 1000, 1500, 2000)]
    conn = sqlite3.connect(path)
    kept = conn.execute("SELECT count(*) FROM legacy050_events").fetchone()[0]
    conn.close()
    assert kept == 2000  # --keep-legacy

    again = subprocess.run(
        [str(CONSOLE_SCRIPT), "upgrade", url], capture_output=True, text=True, timeout=120
    )
    assert again.returncode == 0
    assert again.stdout.strip() == (
        f"SQLite database {path} already has this release's schema: nothing to convert."
    )
    missing = subprocess.run(
        [str(CONSOLE_SCRIPT), "upgrade", f"sqlite:///{tmp_path}/none.db"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 5 and "does not exist" in missing.stderr
    assert not (tmp_path / "none.db").exists()


def test_the_migration_guide_runs_as_written(tmp_path: Path) -> None:
    """docs/migrating-from-eventsource-py.md: its Python blocks, run on a 0.5.0 app.db of 200
    events, print what its text block shows."""
    page = Path(__file__).resolve().parents[2] / "docs" / "migrating-from-eventsource-py.md"
    text = page.read_text()
    code = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    expected = "".join(re.findall(r"```text\n(.*?)```", text, flags=re.S))
    assert code and expected
    build_sqlite(str(tmp_path / "app.db"), make_data(200))
    script = tmp_path / "guide.py"
    script.write_text("\n".join(code))
    done = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected


async def test_a_malformed_row_stops_the_conversion_naming_it(
    tmp_path: Path, small: LegacyData
) -> None:
    path = _legacy_file(tmp_path, small)
    conn = sqlite3.connect(path)
    good = conn.execute("SELECT payload FROM events WHERE global_position = 1500").fetchone()[0]
    conn.execute("UPDATE events SET payload = '{not json' WHERE global_position = 1500")
    conn.commit()
    with pytest.raises(LegacySchemaError, match="event at global position 1500 cannot be"):
        await upgrade(f"sqlite:///{path}", batch_size=1000)
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 1000  # batch 1 only
    conn.execute("UPDATE legacy050_events SET payload = ? WHERE global_position = 1500", (good,))
    conn.commit()
    conn.close()
    report = await upgrade(f"sqlite:///{path}")
    assert report.resumed and report.copied["events"] == 1000
    await assert_converted(f"sqlite:///{path}", small, _outbox_ids(small))
