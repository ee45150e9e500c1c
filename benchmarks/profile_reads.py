"""Where a SQLite ``read_all`` spends its time: cProfile of one read over a fresh file.

    python benchmarks/profile_reads.py            # W4: every event decoded
    python benchmarks/profile_reads.py --lazy     # W4m: ReadOptions(lazy=True), metadata only
    python benchmarks/profile_reads.py --events 50000 --top 20

The profile covers the event loop's thread only: the time the loop waits for the
connection's thread to fetch a page shows as ``select.epoll.poll``. Not a workload of
``run.py`` (profiling slows every call down); the rates it prints are only for orientation.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path
from uuid import uuid4

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_sqlite as bench
from eventsource import ReadOptions
from eventsource_sqlite import SQLiteEventStore


async def profile(events: int, lazy: bool, top: int) -> None:
    """Write ``events`` events, read them all once untimed, once timed, once profiled."""
    with tempfile.TemporaryDirectory(prefix="profile-reads-") as tmp:
        path = await bench._fresh(Path(tmp), "profile")
        conn = bench._raw_connect(path)
        now = bench.now_us()
        conn.execute("BEGIN")
        for _ in range(events // 10):
            rows = [bench._row(e, e.model_dump_json(), now) for e in bench._events(uuid4(), 10)]
            conn.executemany(bench._INSERT, rows)
        conn.execute("COMMIT")
        conn.close()
        store = SQLiteEventStore(path)
        await store.connect()
        options = ReadOptions(lazy=lazy)

        async def read() -> int:
            count = 0
            async for stored in store.read_all(options):
                count += stored.global_position > 0 and bool(stored.event_type)
                count -= stored.event_id is None
                if not lazy:
                    count -= stored.event.aggregate_version < 0
            return count

        await read()
        start = time.perf_counter()
        await read()
        print(f"{events / (time.perf_counter() - start):,.0f} events/s unprofiled")
        profiler = cProfile.Profile()
        profiler.enable()
        await read()
        profiler.disable()
        await store.close()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def main() -> None:
    """Parse the arguments and print the profile."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--lazy", action="store_true", help="metadata only, lazily")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    asyncio.run(profile(args.events, args.lazy, args.top))


if __name__ == "__main__":
    main()
