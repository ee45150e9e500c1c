"""W9: a sharded projection over worker processes on one PostgreSQL schema, and failover.

Throughput: a projection whose handler does ~2 ms of awaited I/O per event
(``asyncio.sleep(0.002)``), 4 shards over 4 worker processes (``ShardedRunner``, this file run
with ``--worker``), against one worker process running the projection unsharded (one
``ProjectionRunner``). The events (8000 over ``STREAMS`` streams) are stored first; the
worker processes import and connect, then all start together, and the clock runs from that
start until every checkpoint reached the head (the sharded workers' joining, ~0.1 s,
included). Medians of ``rounds``; target >= 3x.

Failover: with 4 workers settled and events arriving, the owner of a shard is SIGKILLed
(a new worker started each time); failover is the time from the SIGKILL until another live
worker holds that shard's lease (it then resumes from the checkpoint at once). Default
ownership settings (ttl 3 s, renew 1 s, standby poll 0.5 s); p50 and max over the kills,
bound <= 5 s. Run: ``python benchmarks/bench_shards.py [--quick] [--rounds N]``; the server
comes from ``EVENTSOURCE_BENCH_POSTGRES_URL`` (else ``EVENTSOURCE_TEST_POSTGRES_URL``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).parent))

from _report import Row, format_table
from eventsource import Backend, DomainEvent, open_backend
from eventsource.runtime import Projection, ProjectionRunner, ShardedRunner, handles
from eventsource.spi import ProjectionLeases

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
SHARDS = 4
WORKERS = 4
STREAMS = 800


class W9Item(DomainEvent):
    """The benchmark's event."""

    event_type: str = "bench.W9Item"
    n: int = 0


class SlowProjection(Projection):
    """~2 ms of awaited I/O per event."""

    def __init__(self, name: str) -> None:
        self.name = name

    @handles(W9Item)
    async def on_item(self, event: W9Item) -> None:
        await asyncio.sleep(0.002)


def _url() -> str:
    return (
        os.environ.get("EVENTSOURCE_BENCH_POSTGRES_URL")
        or os.environ.get("EVENTSOURCE_TEST_POSTGRES_URL")
        or DEFAULT_URL
    )


def _with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}schema={schema}&pool_min=1&pool_max=3"


async def _worker(kind: str, url: str, name: str) -> None:
    """One worker process until SIGTERM: sharded (4 shards) or one unsharded runner."""
    async with open_backend(url) as backend:
        projection = SlowProjection(name)
        worker: ShardedRunner | ProjectionRunner
        if kind == "sharded":
            worker = ShardedRunner.from_backend(projection, backend, shards=SHARDS)
        else:
            worker = ProjectionRunner.from_backend(projection, backend)
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, worker.request_stop)
        print("ready", flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)  # "go"
        await worker.start()


class Pool:
    """Worker processes of one projection."""

    def __init__(self, kind: str, url: str, name: str) -> None:
        self.kind, self.url, self.name = kind, url, name
        self.procs: list[subprocess.Popen[str]] = []

    def spawn(self) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", self.kind, self.url, self.name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"a {self.kind} worker failed to start")
        self.procs.append(proc)
        return proc

    def go(self, procs: list[subprocess.Popen[str]]) -> None:
        """Let workers that said ready start their runners, all at once."""
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()

    def alive(self) -> set[int]:
        return {proc.pid for proc in self.procs if proc.poll() is None}


def _shard_names(name: str, kind: str) -> list[str]:
    return [f"{name}#{k}/{SHARDS}" for k in range(SHARDS)] if kind == "sharded" else [name]


async def _owners(backend: Backend, names: list[str]) -> dict[str, int]:
    """Checkpoint name -> pid (from the default owner id ``host-pid-random``) of its owner."""
    leases = backend.checkpoints
    assert isinstance(leases, ProjectionLeases)
    found = {}
    for lease in await leases.get_leases():
        if lease.projection_name in names and lease.released_at is None:
            found[lease.projection_name] = int(lease.owner_id.rsplit("-", 2)[-2])
    return found


async def _settle(backend: Backend, pool: Pool, names: list[str], spread: bool) -> None:
    """Until every name is owned by a live worker (by distinct workers when ``spread``)."""
    async with asyncio.timeout(120):
        while True:
            owners = await _owners(backend, names)
            held = set(owners.values())
            everyone = not spread or len(held) == min(len(names), len(pool.alive()))
            if len(owners) == len(names) and held <= pool.alive() and everyone:
                return
            await asyncio.sleep(0.05)


async def _append(backend: Backend, streams: int, per_stream: int, start: int) -> None:
    """``streams`` new streams of ``per_stream`` events, appended 8 at a time."""

    async def one() -> None:
        agg = uuid.uuid4()
        events = [W9Item(aggregate_id=agg, n=start + i) for i in range(per_stream)]
        await backend.events.append_events(agg, "W9", events, expected_version=0)

    for i in range(0, streams, 8):
        await asyncio.gather(*(one() for _ in range(min(8, streams - i))))


async def _throughput(url: str, kind: str, workers: int, events: int) -> float:
    name = f"bench.w9.{uuid.uuid4().hex[:8]}"
    names = _shard_names(name, kind)
    pool = Pool(kind, url, name)
    async with open_backend(url) as backend:
        try:
            await _append(backend, STREAMS, events // STREAMS, 0)  # before any worker runs
            head = await backend.events.get_global_position()
            procs = [pool.spawn() for _ in range(workers)]
            started = time.perf_counter()
            pool.go(procs)
            async with asyncio.timeout(600):
                while True:
                    positions = [await backend.checkpoints.get_position(n) for n in names]
                    if all((p or 0) >= head for p in positions):
                        break
                    await asyncio.sleep(0.02)
            return head / (time.perf_counter() - started)  # every event stored is handled
        finally:
            pool.close()


async def _failovers(url: str, kills: int) -> list[float]:
    name = f"bench.w9.{uuid.uuid4().hex[:8]}"
    names = _shard_names(name, "sharded")
    pool = Pool("sharded", url, name)
    times: list[float] = []
    async with open_backend(url) as backend:
        stop = asyncio.Event()

        async def keep_appending() -> None:
            while not stop.is_set():
                await _append(backend, 20, 1, 0)
                await asyncio.sleep(0.1)

        appender = asyncio.create_task(keep_appending())
        try:
            pool.go([pool.spawn() for _ in range(WORKERS)])
            for i in range(kills):
                await _settle(backend, pool, names, spread=True)
                shard = names[i % SHARDS]
                victim = (await _owners(backend, [shard]))[shard]
                os.kill(victim, signal.SIGKILL)
                killed = time.perf_counter()
                next(p for p in pool.procs if p.pid == victim).wait()
                pool.go([pool.spawn()])
                async with asyncio.timeout(60):
                    while (  # noqa: ASYNC110 - another process's lease has no event
                        await _owners(backend, [shard])
                    ).get(shard) in (None, victim):
                        await asyncio.sleep(0.02)
                times.append(time.perf_counter() - killed)
        finally:
            stop.set()
            await appender
            pool.close()
    return times


async def _drop(server: str, schema: str) -> None:
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


async def run(rounds: int = 3, quick: bool = False) -> list[Row]:
    """W9: the 4-shard/4-process throughput row beside one worker, and the failover row."""
    server = _url()
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    url = _with_schema(server, schema)
    events = 800 if quick else 8000
    kills = 2 if quick else 10
    if "--kills" in sys.argv:
        kills = int(sys.argv[sys.argv.index("--kills") + 1])
    try:
        async with open_backend(url):
            pass  # creates the schema
        sharded, single = [], []
        for i in range(rounds):  # each round a fresh schema, the runs alternating
            for kind, rates in (("single", single), ("sharded", sharded)):
                fresh = _with_schema(server, f"{schema}_{kind}_{i}")
                try:
                    rates.append(
                        await _throughput(fresh, kind, 1 if kind == "single" else WORKERS, events)
                    )
                finally:
                    await _drop(server, f"{schema}_{kind}_{i}")
        failovers = await _failovers(url, kills)
    finally:
        await _drop(server, schema)
    p50, worst = statistics.median(failovers), max(failovers)
    return [
        Row(
            "postgresql",
            "W9 4 shards x 4 processes, 2 ms I/O/event",
            statistics.median(sharded),
            statistics.median(single),
            "1 worker, unsharded",
            target=3.0,
            note=f"{events} events over {STREAMS} streams, medians of {rounds}",
        ),
        Row(
            "postgresql",
            "W9 shard failover after SIGKILL",
            1 / p50,
            1 / worst,
            "1/max",
            unit="1/p50 (1/s)",
            bound="max <= 5 s",
            within_bound=worst <= 5.0,
            note=f"p50 {p50:.2f} s, max {worst:.2f} s over {len(failovers)} kills, defaults",
        ),
    ]


def main() -> None:
    """Print the W9 rows (or run one worker, with ``--worker``)."""
    if "--worker" in sys.argv:
        at = sys.argv.index("--worker")
        kind, url, name = sys.argv[at + 1 : at + 4]
        asyncio.run(_worker(kind, url, name))
        return
    quick = "--quick" in sys.argv
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
    rows = asyncio.run(run(rounds=rounds, quick=quick))
    print(format_table(rows))


if __name__ == "__main__":
    main()
