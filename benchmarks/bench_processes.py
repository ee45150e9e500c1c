"""W5p: appends from N separate processes on one PostgreSQL schema, beside raw INSERTs.

N = 1, 2, 4, 8 OS processes (``subprocess``, this file run with ``--worker``), each appending
one-event new streams in a loop on its own store (``pool_max=2``) for a fixed time; beside
it, the same N processes doing plain asyncpg INSERTs (positions from a sequence: no ordering
guarantee) on a schema created by the same DDL. Every process imports and connects first, then
all start together; the rate is the sum of their appends over the run's duration. Ours and raw
alternate within each round; the figures are medians of ``rounds``. The target (>= 0.6x raw) is
judged at 8 processes. Run: ``python benchmarks/bench_processes.py [--quick] [--rounds N]``;
the server comes from ``EVENTSOURCE_BENCH_POSTGRES_URL`` (else ``EVENTSOURCE_TEST_POSTGRES_URL``).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).parent))

from _report import Row, format_table
from bench_postgres import _events, _raw_append
from eventsource import ExpectedVersion
from eventsource_postgres import PostgreSQLEventStore

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
PROCESSES = (1, 2, 4, 8)


def _url() -> str:
    return (
        os.environ.get("EVENTSOURCE_BENCH_POSTGRES_URL")
        or os.environ.get("EVENTSOURCE_TEST_POSTGRES_URL")
        or DEFAULT_URL
    )


def _with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}schema={schema}"


async def _worker(kind: str, url: str, schema: str, seconds: float) -> None:
    """One process: connect, say ready, wait for go, append until ``seconds`` pass, print the
    count."""
    if kind == "ours":
        store = PostgreSQLEventStore(_with_schema(url, schema), pool_min=1, pool_max=2)
        await store.connect()

        async def append() -> None:
            aid = uuid.uuid4()
            await store.append_events(aid, "Cart", _events(aid, 1), ExpectedVersion.NO_STREAM)

        close: Any = store.close
    else:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        quoted = f'"{schema}"'

        async def append() -> None:
            await _raw_append(pool, quoted, _events(uuid.uuid4(), 1))

        close = pool.close
    await append()  # warm: statements prepared, connection open
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    count = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        await append()
        count += 1
    await close()
    print(count, flush=True)


def _run(kind: str, processes: int, url: str, schema: str, seconds: float) -> float:
    """Appends/s of ``processes`` workers of ``kind`` running together for ``seconds``."""
    children = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", kind, url, schema, str(seconds)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    try:
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"a {kind} worker failed to start: {line!r}")
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        total = 0
        for child in children:
            out, _ = child.communicate(timeout=seconds + 60)
            if child.returncode != 0:
                raise RuntimeError(f"a {kind} worker failed ({child.returncode})")
            total += int(out.split()[-1])
    finally:
        for child in children:
            child.kill()
            child.wait()
    return total / seconds


async def _schemas(url: str) -> tuple[str, str]:
    """A fresh store schema and a raw schema (same DDL plus the raw position sequence)."""
    names = []
    for _ in range(2):
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        store = PostgreSQLEventStore(_with_schema(url, schema))
        await store.initialize()
        await store.close()
        names.append(schema)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'CREATE SEQUENCE "{names[1]}".raw_position')
    finally:
        await conn.close()
    return names[0], names[1]


async def _drop(url: str, *schemas: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for schema in schemas:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


async def run(rounds: int = 3, quick: bool = False) -> list[Row]:
    """W5p: one row per process count (appends/s, ours beside raw)."""
    url = _url()
    seconds = 1.0 if quick else 3.0
    ours_schema, raw_schema = await _schemas(url)
    rates: dict[tuple[str, int], list[float]] = {}
    try:
        for _ in range(rounds):
            for n in PROCESSES:
                for kind, schema in (("ours", ours_schema), ("raw", raw_schema)):
                    rate = await asyncio.to_thread(_run, kind, n, url, schema, seconds)
                    rates.setdefault((kind, n), []).append(rate)
    finally:
        await _drop(url, ours_schema, raw_schema)
    rows = []
    for n in PROCESSES:
        ours = statistics.median(rates[("ours", n)])
        raw = statistics.median(rates[("raw", n)])
        rows.append(
            Row(
                "postgresql",
                f"W5p {n} process{'es' if n > 1 else ''} x appends",
                ours,
                raw,
                "asyncpg INSERT, no ordering",
                unit="appends/s",
                target=0.6 if n == 8 else None,
                note=f"{n} processes, pool_max=2 each, {seconds:.0f}s runs",
            )
        )
    return rows


def main() -> None:
    """Print the scaling rows (or run one worker, with ``--worker``)."""
    if "--worker" in sys.argv:
        at = sys.argv.index("--worker")
        kind, url, schema, seconds = sys.argv[at + 1 : at + 5]
        asyncio.run(_worker(kind, url, schema, float(seconds)))
        return
    quick = "--quick" in sys.argv
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
    rows = asyncio.run(run(rounds=rounds, quick=quick))
    print(format_table(rows))


if __name__ == "__main__":
    main()
