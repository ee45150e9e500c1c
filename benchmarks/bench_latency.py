"""Live latency: from the start of ``append_events`` to the projection handler's call.

One event at a time (ping-pong): append, wait for the live runner to hand it to the handler,
repeat. The raw baseline does the same with the driver alone: a writer inserts and commits a
row and wakes a reader in the same process, which selects it (SQLite: aiosqlite; memory: a list
and an ``asyncio.Event``; PostgreSQL: asyncpg with LISTEN/NOTIFY).

Rows report 1/p50 (round trips per second) so that higher is better and the ratio is
raw p50 / our p50; the note carries p50 and p99 in milliseconds.

    python benchmarks/bench_latency.py [--quick]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import Row, format_table
from eventsource import DomainEvent, open_backend
from eventsource.runtime import ProjectionRunner, projection
from eventsource.spi import get_registry

POSTGRES_URL = os.environ.get(
    "EVENTSOURCE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


class BenchPinged(DomainEvent):
    """The event the latency benchmark appends."""

    event_type: str = "bench.latency.Pinged"
    n: int


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def ours(url: str, count: int) -> list[float]:
    """Append -> handler latencies (seconds) through a live ProjectionRunner."""
    arrived: dict[int, float] = {}
    signal = asyncio.Event()

    async def handle(event: DomainEvent) -> None:
        assert isinstance(event, BenchPinged)
        arrived[event.n] = time.perf_counter()
        signal.set()

    async with open_backend(url) as backend:
        runner = ProjectionRunner.from_backend(
            projection(f"bench.latency.{uuid.uuid4().hex[:8]}", handle, [BenchPinged]),
            backend,
        )
        runner.start()
        try:
            await asyncio.sleep(0.05)  # let it go live
            latencies = []
            aggregate = uuid.uuid4()
            for n in range(count):
                signal.clear()
                start = time.perf_counter()
                await backend.events.append_events(
                    aggregate, "bench.Latency", [BenchPinged(aggregate_id=aggregate, n=n)], n
                )
                await asyncio.wait_for(signal.wait(), 10)
                latencies.append(arrived[n] - start)
        finally:
            await runner.stop()
    return latencies


async def raw_memory(count: int) -> list[float]:
    """A list append and an ``asyncio.Event`` waking a reader task."""
    log: list[tuple[int, float]] = []
    wake = asyncio.Event()
    got = asyncio.Event()
    seen: dict[int, float] = {}

    async def reader() -> None:
        position = 0
        while True:
            await wake.wait()
            wake.clear()
            for n, _ in log[position:]:
                seen[n] = time.perf_counter()
            position = len(log)
            got.set()

    task = asyncio.create_task(reader())
    latencies = []
    try:
        for n in range(count):
            got.clear()
            start = time.perf_counter()
            log.append((n, start))
            wake.set()
            await got.wait()
            latencies.append(seen[n] - start)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return latencies


async def raw_sqlite(path: Path, count: int) -> list[float]:
    """aiosqlite: insert + commit on one connection, wake a reader that selects the row."""
    import aiosqlite

    async with aiosqlite.connect(path) as writer, aiosqlite.connect(path) as reader_db:
        await writer.execute("PRAGMA journal_mode=WAL")
        await writer.execute(
            "CREATE TABLE IF NOT EXISTS pings (pos INTEGER PRIMARY KEY, n INTEGER, body TEXT)"
        )
        await writer.commit()
        wake = asyncio.Event()
        got = asyncio.Event()
        seen: dict[int, float] = {}

        async def reader() -> None:
            position = 0
            while True:
                await wake.wait()
                wake.clear()
                async with reader_db.execute(
                    "SELECT pos, n FROM pings WHERE pos > ? ORDER BY pos", (position,)
                ) as cursor:
                    for pos, n in await cursor.fetchall():
                        seen[n] = time.perf_counter()
                        position = pos
                got.set()

        task = asyncio.create_task(reader())
        latencies = []
        try:
            for n in range(count):
                got.clear()
                start = time.perf_counter()
                await writer.execute(
                    "INSERT INTO pings (n, body) VALUES (?, ?)", (n, f'{{"n": {n}}}')
                )
                await writer.commit()
                wake.set()
                await asyncio.wait_for(got.wait(), 10)
                latencies.append(seen[n] - start)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    return latencies


async def raw_postgres(count: int) -> list[float]:
    """asyncpg: insert + NOTIFY in one transaction; a LISTEN connection selects the row."""
    import asyncpg

    schema = f"bench_latency_{uuid.uuid4().hex[:8]}"
    writer = await asyncpg.connect(POSTGRES_URL)
    listener = await asyncpg.connect(POSTGRES_URL)
    try:
        await writer.execute(f"CREATE SCHEMA {schema}")
        await writer.execute(
            f"CREATE TABLE {schema}.pings (pos BIGSERIAL PRIMARY KEY, n INT, body JSONB)"
        )
        got = asyncio.Event()
        seen: dict[int, float] = {}
        position = 0

        async def fetch() -> None:
            nonlocal position
            rows = await listener.fetch(
                f"SELECT pos, n FROM {schema}.pings WHERE pos > $1 ORDER BY pos", position
            )
            for row in rows:
                seen[row["n"]] = time.perf_counter()
                position = row["pos"]
            got.set()

        pending: set[asyncio.Task[None]] = set()

        def on_notify(*_: object) -> None:
            task = asyncio.ensure_future(fetch())
            pending.add(task)
            task.add_done_callback(pending.discard)

        await listener.add_listener(schema, on_notify)
        latencies = []
        for n in range(count):
            got.clear()
            start = time.perf_counter()
            async with writer.transaction():
                await writer.execute(
                    f"INSERT INTO {schema}.pings (n, body) VALUES ($1, $2)", n, f'{{"n": {n}}}'
                )
                await writer.execute(f"NOTIFY {schema}")
            await asyncio.wait_for(got.wait(), 10)
            latencies.append(seen[n] - start)
        await listener.remove_listener(schema, on_notify)
        await asyncio.gather(*pending, return_exceptions=True)
        return latencies
    finally:
        await writer.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await writer.close()
        await listener.close()


#: W8 targets: p99 append -> handler latency, in seconds.
P99_BOUNDS = {"sqlite": 0.050, "postgresql": 0.020}


def row(backend: str, mine: list[float], raw: list[float], raw_label: str) -> Row:
    """A table row: 1/p50 for ours and raw, p50/p99 in ms in the note; judged on p99."""
    p50, p99 = percentile(mine, 0.5), percentile(mine, 0.99)
    bound = P99_BOUNDS.get(backend)
    r50, r99 = percentile(raw, 0.5), percentile(raw, 0.99)
    return Row(
        backend=backend,
        workload="live latency append->handler",
        ours=1 / p50,
        raw=1 / r50,
        raw_label=raw_label,
        unit="1/p50 (round trips/s)",
        bound="" if bound is None else f"p99 <= {bound * 1000:.0f} ms",
        within_bound=None if bound is None else p99 <= bound,
        note=(
            f"p50 {p50 * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms "
            f"(raw p50 {r50 * 1000:.2f} ms, p99 {r99 * 1000:.2f} ms; n={len(mine)})"
        ),
    )


def _installed(name: str) -> bool:
    try:
        get_registry().get_backend(name)
    except Exception:
        return False
    return True


async def _median_run(rounds: int, measure) -> list[float]:  # type: ignore[no-untyped-def]
    """Every latency of the round whose p50 is the median of ``rounds`` rounds."""
    runs = [await measure() for _ in range(rounds)]
    runs.sort(key=lambda values: statistics.median(values))
    return runs[len(runs) // 2]


async def run(rounds: int = 3, quick: bool = False) -> list[Row]:
    """Latency rows for memory, SQLite (if installed) and PostgreSQL (if installed and up)."""
    count = 50 if quick else 300
    rows = []
    mine = await _median_run(rounds, lambda: ours(f"memory://bench-{uuid.uuid4().hex}", count))
    raw = await _median_run(rounds, lambda: raw_memory(count))
    rows.append(row("memory", mine, raw, "list + asyncio.Event"))
    if _installed("sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp)
            mine = await _median_run(
                rounds, lambda: ours(f"sqlite:///{base / f'{uuid.uuid4().hex}.db'}", count)
            )
            raw = await _median_run(
                rounds, lambda: raw_sqlite(base / f"raw-{uuid.uuid4().hex}.db", count)
            )
        rows.append(row("sqlite", mine, raw, "aiosqlite insert+commit, wake, select"))
    if _installed("postgresql"):
        schema = f"bench_latency_{uuid.uuid4().hex[:8]}"
        url = f"{POSTGRES_URL}?schema={schema}"
        try:
            mine = await _median_run(rounds, lambda: ours(url, count))
            raw = await _median_run(rounds, lambda: raw_postgres(count))
            rows.append(row("postgresql", mine, raw, "asyncpg insert+NOTIFY, LISTEN, select"))
        except Exception as exc:  # report the others even when PostgreSQL is unusable
            print(f"[latency] postgresql skipped: {type(exc).__name__}: {exc}", flush=True)
        finally:
            await _drop_schema(schema)
    return rows


async def _drop_schema(schema: str) -> None:
    try:
        import asyncpg

        conn = await asyncpg.connect(POSTGRES_URL)
    except Exception:
        return
    try:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await conn.close()


if __name__ == "__main__":
    print(format_table(asyncio.run(run(quick="--quick" in sys.argv))))
