"""PostgreSQL W2 (append 10 events to a new stream) in many alternating rounds.

    python benchmarks/rounds_postgres_w2.py            # 9 rounds of 500 appends per side
    python benchmarks/rounds_postgres_w2.py --rounds 15

W2 is a few hundred milliseconds a round, so one slow disk flush moves a round by 2-5x; the
table of ``run.py`` (median of 3) cannot tell 0.8 from noise. This runs ours, raw asyncpg
(the same statement, typed events) and raw asyncpg without framework (plain dicts, the
stdlib's json) in alternating order each round and prints every round, the medians, their
ratios and the client's CPU time per append (the load average moves it far less). Not a
workload of ``run.py``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _nofw
import bench_postgres as bench
from eventsource import ExpectedVersion

APPENDS = 500


async def rounds(count: int) -> None:
    """Print ``count`` alternating rounds of W2 for each side, then the medians."""
    url = (
        os.environ.get("EVENTSOURCE_BENCH_POSTGRES_URL")
        or os.environ.get("EVENTSOURCE_TEST_POSTGRES_URL")
        or bench.DEFAULT_URL
    )
    setup = bench._Bench(url)
    try:
        store = await setup.store(pool_min=8, pool_max=8)
        pool, schema = await setup.raw(8)

        async def ours() -> None:
            for _ in range(APPENDS):
                aid = uuid.uuid4()
                events = bench._events(aid, 10)
                await store.append_events(aid, "Cart", events, ExpectedVersion.NO_STREAM)

        async def raw() -> None:
            for _ in range(APPENDS):
                await bench._raw_append(pool, schema, bench._events(uuid.uuid4(), 10))

        async def nf() -> None:
            for _ in range(APPENDS):
                await bench._nf_append(pool, schema, _nofw.docs(10))

        sides: dict[str, Callable[[], Awaitable[None]]] = {"ours": ours, "raw": raw, "nf": nf}
        for side in sides.values():
            await side()  # warm up
        rates: dict[str, list[float]] = {name: [] for name in sides}
        cpu: dict[str, list[float]] = {name: [] for name in sides}
        for index in range(count):
            names = list(sides) if index % 2 == 0 else list(reversed(sides))
            for name in names:
                wall, used = time.perf_counter(), time.process_time()
                await sides[name]()
                rates[name].append(APPENDS * 10 / (time.perf_counter() - wall))
                cpu[name].append((time.process_time() - used) / APPENDS * 1e6)
        await store.close()
        await pool.close()
    finally:
        await setup.drop()
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"load average after: {load}")
    for name in sides:
        each = " ".join(f"{rate:,.0f}" for rate in rates[name])
        print(
            f"{name:5} median {statistics.median(rates[name]):8,.0f} events/s, "
            f"client CPU {statistics.median(cpu[name]):.0f} us/append; rounds: {each}"
        )
    for base, label in (("raw", "raw asyncpg"), ("nf", "asyncpg, no framework")):
        ratio = statistics.median(rates["ours"]) / statistics.median(rates[base])
        print(f"ours / {label}: {ratio:.2f} (medians)")


def main() -> None:
    """Parse ``--rounds`` and run."""
    count = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 9
    asyncio.run(rounds(count))


if __name__ == "__main__":
    main()
