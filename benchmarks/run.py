"""Run the whole benchmark suite and print one table: ours beside the raw driver, and the ratio.

    python3 scripts/dev.py bench            # full run (medians of 3 rounds)
    python3 scripts/dev.py bench --quick    # smaller workloads, for a smoke test
    python3 scripts/dev.py bench --only sqlite,postgres

Each workload module exposes ``async def run(rounds: int, quick: bool) -> list[Row]``.
PostgreSQL workloads use ``EVENTSOURCE_BENCH_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``) and their own schema, dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import Row, format_table

SUITES = {
    "sqlite": "bench_sqlite",
    "postgres": "bench_postgres",
    "latency": "bench_latency",
    "outbox": "bench_outbox",
    "memory": "bench_memory",
    "filtered": "bench_filtered",
    "upcast": "bench_upcast",
    "snapshots": "bench_snapshots",
    "processes": "bench_processes",
    "shards": "bench_shards",
    "brokers": "bench_brokers",
    "migrate": "bench_migrate",
}


def machine() -> str:
    """A line describing the machine and versions the figures come from."""
    import aiosqlite
    import asyncpg
    import pydantic

    from eventsource import __version__

    cpus = os.cpu_count()
    return (
        f"{platform.node()} {platform.machine()} {cpus} CPUs, Python {platform.python_version()}, "
        f"SQLite {__import__('sqlite3').sqlite_version}, aiosqlite {aiosqlite.__version__}, "
        f"asyncpg {asyncpg.__version__}, pydantic {pydantic.__version__}, "
        f"eventsource {__version__}"
    )


async def main(argv: list[str] | None = None) -> int:
    """Run the chosen suites and print the table; exit 1 if a suite crashed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller workloads")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", default=",".join(SUITES), help="comma-separated suites")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    failed = []
    print(machine(), flush=True)
    started = time.perf_counter()
    for name in args.only.split(","):
        module_name = SUITES[name.strip()]
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            print(f"[{name}] not available: {exc}", flush=True)
            continue
        print(f"[{name}] running ...", flush=True)
        try:
            suite_rows: list[Row] = await module.run(rounds=args.rounds, quick=args.quick)
        except Exception as exc:  # report and go on with the other suites
            print(f"[{name}] FAILED: {type(exc).__name__}: {exc}", flush=True)
            failed.append(name)
            continue
        print(format_table(suite_rows), flush=True)
        rows.extend(suite_rows)
    print()
    print(f"all workloads ({time.perf_counter() - started:.0f} s):")
    print(format_table(rows))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
