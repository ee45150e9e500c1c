"""One owner per projection across real processes, on a SQLite file and on PostgreSQL.

Runner processes (``_owner_child.py``, default ownership settings) of one projection record
every delivery with their pid and the time. Two alive runners never both deliver an event; a
graceful handover delivers every event exactly once; after SIGKILL of the owner mid-batch the
standby takes over, no event is lost, duplicates stay within one checkpoint batch, and a
fenced exactly-once read model stays exact. The failover times (SIGKILL to the new owner's
first delivery) are printed: ``pytest -s -m slow tests/runtime/test_ownership_processes.py``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from eventsource import Backend, open_backend
from eventsource.spi import ProjectionLeases

from ._events import append_items
from .conftest import _pg_execute, pg_server, require_postgres

pytestmark = pytest.mark.slow

CHILD = Path(__file__).with_name("_owner_child.py")
NAME = "rttest.owned"
#: The runner's default checkpoint_every: the most a crash may deliver again.
BATCH = 100


@pytest.fixture(params=["sqlite", "postgresql"])
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        pytest.importorskip("eventsource_sqlite")
        yield f"sqlite:///{tmp_path / 'owned.db'}"
        return
    pytest.importorskip("eventsource_postgres")
    await require_postgres()
    schema = f"es_own_{uuid.uuid4().hex[:12]}"
    try:
        yield f"{pg_server()}?schema={schema}&pool_min=1&pool_max=4"
    finally:
        await _pg_execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


class Children:
    """Runner processes of ``rttest.owned``, and what they delivered."""

    def __init__(self, url: str, directory: Path, mode: str) -> None:
        self.url, self.directory, self.mode = url, directory, mode
        self.procs: dict[int, subprocess.Popen[str]] = {}
        self.killed_at: dict[int, float] = {}

    def spawn(self) -> int:
        proc = subprocess.Popen(
            [sys.executable, str(CHILD), self.url, str(self.directory), self.mode],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "error"},
        )
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line == "ready", f"a runner process did not start: {line!r}"
        self.procs[proc.pid] = proc
        return proc.pid

    def kill(self, pid: int) -> float:
        os.kill(pid, signal.SIGKILL)
        at = time.time()
        self.procs[pid].wait(timeout=30)
        self.killed_at[pid] = at
        return at

    def stop(self, pid: int) -> None:
        proc = self.procs[pid]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, f"runner {pid} did not stop cleanly"

    def alive(self) -> list[int]:
        return [pid for pid, proc in self.procs.items() if proc.poll() is None]

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
            if proc.stdout is not None:
                proc.stdout.close()

    def deliveries(self) -> list[tuple[int, int, float]]:
        """Every delivery as (n, pid, time), in time order."""
        found = []
        for path in self.directory.glob("deliveries-*.txt"):
            pid = int(path.stem.split("-")[1])
            for line in path.read_text().splitlines():
                parts = line.split()
                if len(parts) == 2:
                    found.append((int(parts[0]), pid, float(parts[1])))
        return sorted(found, key=lambda d: d[2])

    def delivered(self) -> set[int]:
        return {n for n, _, _ in self.deliveries()}


async def _until(predicate: object, timeout: float = 120.0) -> None:
    async with asyncio.timeout(timeout):
        while True:
            if predicate():  # type: ignore[operator]
                return
            await asyncio.sleep(0.05)


async def _owner(backend: Backend) -> int | None:
    repo = backend.checkpoints
    assert isinstance(repo, ProjectionLeases)
    lease = await repo.get_lease(NAME)
    if lease is None or lease.released_at is not None:
        return None
    return int(lease.owner_id.removeprefix("child-"))


async def _current_owner(backend: Backend, children: Children) -> int:
    while True:
        pid = await _owner(backend)
        if pid in children.alive():
            assert pid is not None
            return pid
        await asyncio.sleep(0.05)


async def test_two_live_runners_never_both_deliver_and_hand_over_exactly_once(
    url: str, tmp_path: Path
) -> None:
    children = Children(url, tmp_path, "log")
    async with open_backend(url) as backend:
        try:
            first, second = children.spawn(), children.spawn()
            await append_items(backend.events, 300, per_batch=30)
            await _until(lambda: len(children.delivered()) == 300)
            owner = await _current_owner(backend, children)
            assert {pid for _, pid, _ in children.deliveries()} == {owner}, (
                "both live runners delivered"
            )
            children.stop(owner)  # graceful: checkpoint, then release
            standby = second if owner == first else first
            await append_items(backend.events, 300, start=300, per_batch=30)
            await _until(lambda: len(children.delivered()) == 600)
            children.stop(standby)
        finally:
            children.close()
    deliveries = children.deliveries()
    assert sorted(n for n, _, _ in deliveries) == list(range(600)), "lost or repeated events"
    assert {pid for n, pid, _ in deliveries if n >= 300} == {standby}


async def _kill_owners(
    backend: Backend, children: Children, kills: int, appended: list[int]
) -> list[float]:
    """SIGKILL the owner mid-batch ``kills`` times (a new standby started each time) while
    events keep arriving; the failover times in seconds."""
    failovers: list[float] = []
    for _ in range(kills):
        owner = await _current_owner(backend, children)
        already = sum(1 for _, pid, _ in children.deliveries() if pid == owner)
        await _until(
            lambda o=owner, a=already: (
                sum(1 for _, p, _ in children.deliveries() if p == o) >= a + 30
            )
        )
        killed_at = children.kill(owner)
        children.spawn()
        await _until(lambda k=killed_at: any(t > k for _, _, t in children.deliveries()))
        first = min(t for _, _, t in children.deliveries() if t > killed_at)
        failovers.append(first - killed_at)
    return failovers


async def _run_with_kills(url: str, tmp_path: Path, mode: str, kills: int) -> list[float]:
    children = Children(url, tmp_path, mode)
    appended: list[int] = []
    async with open_backend(url) as backend:
        stop = asyncio.Event()

        async def keep_appending() -> None:
            while not stop.is_set():
                appended.extend(
                    await append_items(backend.events, 50, start=len(appended), per_batch=50)
                )
                await asyncio.sleep(0.2)

        try:
            children.spawn()
            children.spawn()
            writer = asyncio.create_task(keep_appending())
            failovers = await _kill_owners(backend, children, kills, appended)
            stop.set()
            await writer
            await _until(lambda: children.delivered() >= set(appended))
            for pid in children.alive():
                children.stop(pid)
        finally:
            stop.set()
            children.close()
    deliveries = children.deliveries()
    assert children.delivered() == set(appended), "an event was lost"
    by_event: dict[int, list[tuple[int, float]]] = {}
    for n, pid, at in deliveries:
        by_event.setdefault(n, []).append((pid, at))
    repeated = {n: got for n, got in by_event.items() if len(got) > 1}
    for n, got in repeated.items():
        # Only an event a killed owner had not checkpointed is delivered again, and only
        # after that owner was dead: never by two live runners.
        (first_pid, _), *later = got
        assert first_pid in children.killed_at, f"event {n} delivered twice by live runners"
        assert all(at > children.killed_at[first_pid] for _, at in later), (
            f"event {n} delivered again while its first runner was alive"
        )
    assert len(repeated) <= kills * BATCH, f"{len(repeated)} events repeated after {kills} kills"
    print(
        f"\n{url.split(':')[0]} {mode}: {len(appended)} events, {kills} SIGKILLs, "
        f"{len(repeated)} delivered again; failover after SIGKILL: "
        f"p50 {statistics.median(failovers):.2f}s max {max(failovers):.2f}s "
        f"({', '.join(f'{f:.2f}' for f in failovers)})"
    )
    return failovers


async def test_sigkill_of_the_owner_mid_batch_fails_over_losing_nothing(
    url: str, tmp_path: Path
) -> None:
    failovers = await _run_with_kills(url, tmp_path, "log", kills=10)
    assert len(failovers) == 10


async def test_sigkill_of_the_owner_keeps_an_exactly_once_read_model_exact(
    url: str, tmp_path: Path
) -> None:
    await _run_with_kills(url, tmp_path, "exact", kills=3)
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            rows = conn.execute("SELECT n FROM handled ORDER BY n").fetchall()
        finally:
            conn.close()
        handled = [row[0] for row in rows]
    else:
        import asyncpg

        schema = url.split("schema=")[1].split("&")[0]
        conn = await asyncpg.connect(pg_server())
        try:
            records = await conn.fetch(f'SELECT n FROM "{schema}".handled ORDER BY n')
        finally:
            await conn.close()
        handled = [r["n"] for r in records]
    assert handled == list(range(len(handled))) and handled, "the read model is not exact"
