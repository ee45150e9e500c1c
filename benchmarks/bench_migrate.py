"""Migration: ``migrate_backend`` of 100,000 events (10,000 in ``--quick``) from a SQLite file to
a PostgreSQL schema (target >= 20,000 events/s), beside the raw drivers doing the same copy in
the same run (sqlite3 rows read in pages of 5000, ``COPY`` with asyncpg into a table of the same
shape and indexes as ours, one transaction a page: no checks, no lock, no resume). Our rate is
the events over the copy's time (``MigrationReport.elapsed_seconds``: plan, rows and marks;
checkpoints and the verification, which reads both sides again, are timed apart in the note).
Run: ``python benchmarks/bench_migrate.py [--quick] [--rounds N]``.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import asyncpg

from _report import Row, drop_schemas, format_table
from eventsource import DomainEvent, open_backend
from eventsource.migration import migrate_backend

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
TARGET = 20_000.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Moved(DomainEvent):
    """A typical small event."""

    event_type: str = "bench.Moved"
    sku: str
    quantity: int
    note: str = "warehouse 7, shelf 12"


async def fill(path: str, total: int, streams: int = 1000) -> None:
    """``total`` events over ``streams`` streams, appended in batches of 10."""
    async with open_backend(f"sqlite:///{path}") as backend:
        ids = [uuid.uuid4() for _ in range(streams)]
        versions = dict.fromkeys(ids, 0)
        for n in range(total // 10):
            aid = ids[n % streams]
            batch = [Moved(aggregate_id=aid, sku=f"s{n}-{i}", quantity=i) for i in range(10)]
            await backend.events.append_events(aid, "Stock", batch, versions[aid])
            versions[aid] += 10


async def raw_copy(path: str, url: str, schema: str) -> float:
    """The raw drivers: sqlite3 pages of 5000, COPY into a table of the same shape and
    indexes as ours, one transaction a page; events/s."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await conn.execute(
            f'CREATE TABLE "{schema}".raw (global_position bigint PRIMARY KEY,'
            " event_id uuid NOT NULL UNIQUE, aggregate_id uuid NOT NULL,"
            " aggregate_type text NOT NULL, aggregate_version integer NOT NULL,"
            " event_type text NOT NULL, event_version integer NOT NULL, tenant_id uuid,"
            " occurred_at timestamptz NOT NULL, stored_at timestamptz NOT NULL,"
            " payload json NOT NULL, UNIQUE (aggregate_id, aggregate_type, aggregate_version))"
        )
        for columns in ("aggregate_type, global_position", "event_type, global_position"):
            await conn.execute(f'CREATE INDEX ON "{schema}".raw ({columns})')
        started = time.perf_counter()
        db = sqlite3.connect(path)
        position, count = 0, 0
        while True:
            rows = db.execute(
                "SELECT global_position, event_id, aggregate_id, aggregate_type,"
                " aggregate_version, event_type, event_version, tenant_id, occurred_at,"
                " stored_at, payload FROM events WHERE global_position > ?"
                " ORDER BY global_position LIMIT 5000",
                (position,),
            ).fetchall()
            if not rows:
                break
            records = [
                (
                    *r[:1],
                    uuid.UUID(r[1]),
                    uuid.UUID(r[2]),
                    *r[3:7],
                    None if r[7] is None else uuid.UUID(r[7]),
                    _EPOCH + timedelta(microseconds=r[8]),
                    _EPOCH + timedelta(microseconds=r[9]),
                    r[10],
                )
                for r in rows
            ]
            async with conn.transaction():
                await conn.copy_records_to_table("raw", records=records, schema_name=schema)
            position, count = rows[-1][0], count + len(rows)
        db.close()
        return count / (time.perf_counter() - started)
    finally:
        await conn.close()


async def run(rounds: int = 3, quick: bool = False) -> list[Row]:
    """SQLite file -> PostgreSQL schema, ours beside the raw drivers."""
    total = 10_000 if quick else 100_000
    url = os.environ.get("EVENTSOURCE_BENCH_POSTGRES_URL") or os.environ.get(
        "EVENTSOURCE_TEST_POSTGRES_URL", DEFAULT_URL
    )
    ours, raw, verify = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "source.db")
        await fill(path, total)
        for _ in range(rounds):
            schema = f"es_bench_mig_{uuid.uuid4().hex[:8]}"
            try:
                started = time.perf_counter()
                report = await migrate_backend(f"sqlite:///{path}", f"{url}?schema={schema}")
                whole = time.perf_counter() - started
                assert report.verification is not None and report.verification.ok
                assert report.events_copied == total, report
                ours.append(report.events_copied / report.elapsed_seconds)
                verify.append(whole - report.elapsed_seconds)
                raw.append(await raw_copy(path, url, f"{schema}_raw"))
            finally:
                await drop_schemas(url, schema, f"{schema}_raw")
    rate = statistics.median(ours)
    return [
        Row(
            "sqlite->postgresql",
            f"migrate {total:,} events",
            rate,
            statistics.median(raw),
            "sqlite3 + COPY",
            bound=f">= {TARGET:,.0f} events/s",
            within_bound=rate >= TARGET,
            note=f"+ open, checkpoints, verification {statistics.median(verify):.2f}s",
        )
    ]


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
    print(format_table(asyncio.run(run(rounds, quick))))
