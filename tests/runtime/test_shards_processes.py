"""Sharded projections across real processes, on a SQLite file and on PostgreSQL.

Four worker processes (``_shard_child.py``) split the four shards of one projection and
record every delivery with its shard, stream and version. One worker is SIGKILLed and one
added while events arrive: every event is handled, each stream by its one shard and in
version order, and the new worker gets a share.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from uuid import UUID

import pytest

from eventsource import Backend, open_backend
from eventsource.runtime import shard_of
from eventsource.spi import ProjectionLeases

from ._events import RtItemAdded
from .conftest import _pg_execute, pg_server, require_postgres

pytestmark = pytest.mark.slow

CHILD = Path(__file__).with_name("_shard_child.py")
NAME = "rttest.shards"
SHARDS = 4
STREAMS = 24


@pytest.fixture(params=["sqlite", "postgresql"])
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        pytest.importorskip("eventsource_sqlite")
        yield f"sqlite:///{tmp_path / 'shards.db'}"
        return
    pytest.importorskip("eventsource_postgres")
    await require_postgres()
    schema = f"es_shd_{uuid.uuid4().hex[:12]}"
    try:
        yield f"{pg_server()}?schema={schema}&pool_min=1&pool_max=4"
    finally:
        await _pg_execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


class Workers:
    """Shard worker processes and what they delivered."""

    def __init__(self, url: str, directory: Path) -> None:
        self.url, self.directory = url, directory
        self.procs: dict[int, subprocess.Popen[str]] = {}

    def spawn(self) -> int:
        proc = subprocess.Popen(
            [sys.executable, str(CHILD), self.url, str(self.directory)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "error"},
        )
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line == "ready", f"a worker process did not start: {line!r}"
        self.procs[proc.pid] = proc
        return proc.pid

    def kill(self, pid: int) -> None:
        os.kill(pid, signal.SIGKILL)
        self.procs[pid].wait(timeout=30)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            proc.wait(timeout=60)

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
            if proc.stdout is not None:
                proc.stdout.close()

    def deliveries(self) -> list[tuple[int, UUID, int, int, float]]:
        """Every delivery as (shard, stream, n, pid, time), in time order."""
        found = []
        for path in self.directory.glob("deliveries-*.txt"):
            pid = int(path.stem.split("-")[1])
            for line in path.read_text().splitlines():
                parts = line.split()
                if len(parts) == 4:
                    shard, stream, n, at = parts
                    found.append((int(shard), UUID(stream), int(n), pid, float(at)))
        return sorted(found, key=lambda d: d[4])


async def _until(predicate: Callable[[], bool], timeout: float = 120.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - other processes' files have no event
            await asyncio.sleep(0.05)


async def _owners(backend: Backend) -> dict[int, int]:
    """Shard index -> pid of its live owner (as stored)."""
    repo = backend.checkpoints
    assert isinstance(repo, ProjectionLeases)
    found: dict[int, int] = {}
    for lease in await repo.get_leases():
        prefix = f"{NAME}#"
        name = lease.projection_name
        if not name.startswith(prefix) or "workers" in name or lease.released_at is not None:
            continue
        found[int(name.removeprefix(prefix).split("/")[0])] = int(
            lease.owner_id.removeprefix("child-")
        )
    return found


async def _settled(backend: Backend, workers: Workers, alive: set[int]) -> None:
    """Wait until every shard is owned by a live worker and every live worker owns one."""
    while True:
        owners = await _owners(backend)
        held = set(owners.values())
        if len(owners) == SHARDS and held <= alive and (held == alive or len(alive) > SHARDS):
            return
        await asyncio.sleep(0.1)


async def test_four_workers_one_killed_one_added_every_event_in_order(
    url: str, tmp_path: Path
) -> None:
    workers = Workers(url, tmp_path)
    streams = [uuid.uuid4() for _ in range(STREAMS)]
    versions = 0

    async def append_round(backend: Backend) -> None:
        nonlocal versions
        for agg in streams:
            event = RtItemAdded(aggregate_id=agg, n=versions)
            await backend.events.append_events(agg, "rttest.Cart", [event], versions)
        versions += 1

    async with open_backend(url) as backend:
        try:
            pids = {workers.spawn() for _ in range(4)}
            await asyncio.wait_for(_settled(backend, workers, pids), 120)
            for _ in range(4):
                await append_round(backend)
                await asyncio.sleep(0.2)
            owners = await _owners(backend)
            victim = owners[0]
            workers.kill(victim)  # mid-run: its shard is taken over after its lease expires
            pids.discard(victim)
            for _ in range(3):
                await append_round(backend)
                await asyncio.sleep(0.2)
            await asyncio.wait_for(_settled(backend, workers, pids), 120)
            newcomer = workers.spawn()  # joins: someone over its share lets a shard go
            pids.add(newcomer)
            await asyncio.wait_for(_settled(backend, workers, pids), 120)
            for _ in range(3):
                await append_round(backend)
                await asyncio.sleep(0.2)
            expected = {(agg, n) for agg in streams for n in range(versions)}
            await _until(lambda: {(s, n) for _, s, n, _, _ in workers.deliveries()} >= expected)
            workers.stop_all()
        finally:
            workers.close()
    deliveries = workers.deliveries()
    assert {(s, n) for _, s, n, _, _ in deliveries} == expected, "lost or unknown events"
    for agg in streams:
        mine = [d for d in deliveries if d[1] == agg]
        assert {k for k, *_ in mine} == {shard_of(agg, SHARDS)}, "a stream left its shard"
        firsts: list[int] = []
        for _, _, n, _, _ in mine:
            if n not in firsts:
                firsts.append(n)
        assert firsts == list(range(versions)), f"stream {agg} out of order: {firsts}"
        for pid in {d[3] for d in mine}:
            ns = [n for _, _, n, p, _ in mine if p == pid]
            assert ns == sorted(set(ns)), f"worker {pid} repeated or reordered {agg}: {ns}"
    assert any(d[3] == newcomer for d in deliveries), "the added worker got no share"
    assert any(d[3] == victim for d in deliveries)
