"""Guarantees across processes: a SIGKILL loses no reported commit and leaves nothing half
written; writers in several processes keep one winner per version and a gapless order."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

import pytest

from eventsource_sqlite import SQLiteEventStore

from ._events import CONTESTED, SHARED

CHILD = str(Path(__file__).with_name("_child.py"))


def _spawn(*args: str, stdin: int | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, CHILD, *args],
        stdout=subprocess.PIPE,
        stdin=stdin,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "error"},
    )


@pytest.mark.slow
async def test_sigkill_loses_no_reported_commit(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    child = _spawn("crash", str(path))
    assert child.stdout is not None
    reported: dict[UUID, int] = {}
    try:
        assert child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 30
        while len(reported) < 300 and time.monotonic() < deadline:
            aid, position = child.stdout.readline().split()
            reported[UUID(aid)] = int(position)
        os.kill(child.pid, signal.SIGKILL)  # mid-append, most likely
        for line in child.stdout:  # everything it printed before dying was committed
            parts = line.split()
            if len(parts) == 2:
                reported[UUID(parts[0])] = int(parts[1])
    finally:
        child.kill()
        child.wait(timeout=10)
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    assert len(reported) >= 300

    with sqlite3.connect(path) as raw:  # opens cleanly, recovering the WAL
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        per_stream = dict(
            raw.execute("SELECT aggregate_id, COUNT(*) FROM events GROUP BY aggregate_id")
        )
        outbox = dict(
            raw.execute("SELECT aggregate_id, COUNT(*) FROM event_outbox GROUP BY aggregate_id")
        )
        positions = [r[0] for r in raw.execute("SELECT global_position FROM events ORDER BY 1")]
    assert set(per_stream.values()) == {3}  # no batch half written
    assert outbox == per_stream  # the outbox entries committed with their events, no others
    assert positions == list(range(1, len(positions) + 1))
    for aid in reported:
        assert per_stream.get(str(aid)) == 3, f"reported commit of {aid} is missing"
    assert len(per_stream) - len(reported) <= 1  # at most the append in flight, whole

    async with SQLiteEventStore(path) as store:  # and the store carries on
        await store.initialize()
        last_aid, last_position = max(reported.items(), key=lambda item: item[1])
        stream = await store.get_events(last_aid, "Crash")
        assert stream.version == 3 and [e.n for e in stream.events] == [0, 1, 2]  # type: ignore[attr-defined]
        assert await store.get_global_position() >= last_position


@pytest.mark.slow
async def test_writers_in_several_processes(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    rounds, processes = 40, 3
    children = [_spawn("race", str(path), str(rounds), stdin=subprocess.PIPE) for _ in range(3)]
    try:
        for child in children:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        results = []
        for child in children:
            out, _ = child.communicate(timeout=120)
            assert child.returncode == 0, out
            wins, losses = map(int, out.split())
            assert wins + losses == rounds
            results.append(wins)
    finally:
        for child in children:
            child.kill()
            child.wait(timeout=10)
            for pipe in (child.stdin, child.stdout):
                if pipe is not None:
                    pipe.close()

    with sqlite3.connect(path) as raw:
        contested = [
            r[0]
            for r in raw.execute(
                "SELECT aggregate_version FROM events WHERE aggregate_id = ? ORDER BY 1",
                (str(CONTESTED),),
            )
        ]
        shared = [
            r[0]
            for r in raw.execute(
                "SELECT aggregate_version FROM events WHERE aggregate_id = ? ORDER BY 1",
                (str(SHARED),),
            )
        ]
        positions = [r[0] for r in raw.execute("SELECT global_position FROM events ORDER BY 1")]
    # one winner per expected version: every win is one version, no version twice
    assert contested == list(range(1, sum(results) + 1))
    # ANY never conflicts: every process's every append is there
    assert shared == list(range(1, rounds * processes + 1))
    assert positions == list(range(1, len(positions) + 1))
