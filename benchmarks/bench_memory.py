"""Memory: ``read_all`` over 1,000,000 events must keep the process under 200 MB resident.

    python benchmarks/bench_memory.py [--quick]

The store is filled directly through the driver with rows in the backend's own schema (the
payload is each event's real JSON document), since only reading is measured. A child process
then opens the store, iterates ``read_all`` over every event (decoding each into a
``StoredEvent`` with its ``DomainEvent``, keeping none), and reports its peak resident set
size (``VmHWM``; ``ru_maxrss`` would count the parent's peak from before ``exec``) and its
throughput. Linux only. ``--quick`` uses 100,000 events.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import Row, format_table

__all__ = ["run"]

LIMIT_MB = 200
PER_STREAM = 10
POSTGRES_URL = os.environ.get(
    "EVENTSOURCE_BENCH_POSTGRES_URL",
    os.environ.get("EVENTSOURCE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
)

# The child: defines the event class (so the store can decode), reads everything, reports.
CHILD = """
import asyncio, json, sys, time
from eventsource import DomainEvent, open_backend

class BenchMemoryEvent(DomainEvent):
    aggregate_type: str = "Cart"
    sku: str
    quantity: int
    note: str

async def main(url):
    async with open_backend(url) as backend:
        start = time.perf_counter()
        count = 0
        async for stored in backend.events.read_all():
            count += 1
        elapsed = time.perf_counter() - start
    # VmHWM: this process image's peak RSS (ru_maxrss would include the parent's, from
    # before exec).
    status = open("/proc/self/status").read()
    peak_kb = int(status.split("VmHWM:")[1].split()[0])
    print(json.dumps({"count": count, "seconds": elapsed, "peak_mb": peak_kb / 1024}))

asyncio.run(main(sys.argv[1]))
"""


Rows = list[tuple[uuid.UUID, uuid.UUID, int, datetime, str]]

# One event's JSON document, as serialize_event writes it, with slots for what varies.
_PAYLOAD = (
    '{{"event_id":"{event_id}","event_type":"BenchMemoryEvent","event_version":1,'
    '"occurred_at":"{stamp}","aggregate_id":"{aggregate_id}","aggregate_type":"Cart",'
    '"aggregate_version":{version},"tenant_id":null,"actor_id":null,'
    '"correlation_id":"{correlation_id}","causation_id":null,"metadata":{{"source":"bench"}},'
    '"sku":"SKU-{version:05d}","quantity":{version},"note":"' + "x" * 64 + '"}}'
)


def _rows(total: int) -> Rows:
    """Rows (event_id, aggregate_id, version, occurred_at, payload) for ``total`` events."""
    rows: Rows = []
    now = datetime.now(UTC)
    stamp = now.isoformat().replace("+00:00", "Z")
    for start in range(0, total, PER_STREAM):
        aggregate_id = uuid.uuid4()
        for version in range(1, min(PER_STREAM, total - start) + 1):
            event_id = uuid.uuid4()
            payload = _PAYLOAD.format(
                event_id=event_id,
                stamp=stamp,
                aggregate_id=aggregate_id,
                version=version,
                correlation_id=event_id,
            )
            rows.append((event_id, aggregate_id, version, now, payload))
    return rows


async def _fill_sqlite(path: str, rows: Rows) -> None:
    from eventsource import open_backend

    async with open_backend(f"sqlite:///{path}"):
        pass  # creates the schema
    now_us = time.time_ns() // 1000
    db = sqlite3.connect(path)
    with db:
        db.executemany(
            "INSERT INTO events (event_id, aggregate_id, aggregate_type, aggregate_version,"
            " event_type, event_version, tenant_id, occurred_at, stored_at, payload)"
            " VALUES (?, ?, 'Cart', ?, 'BenchMemoryEvent', 1, NULL, ?, ?, ?)",
            (
                (str(eid), str(aid), version, now_us, now_us, payload)
                for eid, aid, version, _, payload in rows
            ),
        )
    db.close()


async def _fill_postgres(url: str, schema: str, rows: Rows) -> None:
    from eventsource import open_backend

    async with open_backend(f"{url}?schema={schema}"):
        pass  # creates the schema
    conn = await asyncpg.connect(url)
    try:
        records = [
            (n, eid, aid, "Cart", version, "BenchMemoryEvent", 1, None, at, at, payload)
            for n, (eid, aid, version, at, payload) in enumerate(rows, start=1)
        ]
        await conn.copy_records_to_table(
            "events",
            schema_name=schema,
            records=records,
            columns=[
                "global_position",
                "event_id",
                "aggregate_id",
                "aggregate_type",
                "aggregate_version",
                "event_type",
                "event_version",
                "tenant_id",
                "occurred_at",
                "stored_at",
                "payload",
            ],
        )
        await conn.execute(f"ANALYZE {schema}.events")
    finally:
        await conn.close()


def _measure(url: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, url], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _row(backend: str, total: int, result: dict[str, float]) -> Row:
    assert result["count"] == total, result
    return Row(
        backend=backend,
        workload=f"read_all {total:,} memory",
        ours=result["count"] / result["seconds"],
        raw=0.0,
        raw_label="-",
        bound=f"RSS < {LIMIT_MB} MB",
        within_bound=result["peak_mb"] < LIMIT_MB,
        note=f"peak RSS {result['peak_mb']:.0f} MB",
    )


async def run(rounds: int = 1, quick: bool = False) -> list[Row]:
    """Peak memory of a full read_all on SQLite and PostgreSQL (one round: it is a bound)."""
    total = 100_000 if quick else 1_000_000
    events = _rows(total)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/memory.db"
        await _fill_sqlite(path, events)
        rows.append(_row("sqlite", total, _measure(f"sqlite:///{path}")))
    schema = f"bench_memory_{uuid.uuid4().hex[:10]}"
    try:
        await _fill_postgres(POSTGRES_URL, schema, events)
        del events
        rows.append(_row("postgresql", total, _measure(f"{POSTGRES_URL}?schema={schema}")))
    finally:
        conn = await asyncpg.connect(POSTGRES_URL)
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(format_table(asyncio.run(run(quick=args.quick))))
