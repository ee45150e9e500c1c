"""W7 outbox: a relay draining pending entries, beside the raw driver doing the same work.

    python benchmarks/bench_outbox.py [--quick] [--rounds N]

Each round fills a fresh outbox with 10,000 pending entries (2,000 with ``--quick``; filling
is not timed), then drains it:

- ours: ``OutboxRelay`` (batches of 100) with a no-op publisher: claim a batch with a lease,
  publish each entry, mark the batch published.
- raw: the same loop in plain SQL on the same table: one claiming ``UPDATE ... RETURNING``
  per batch (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), ``json.loads`` of each entry's data,
  the no-op publish, one ``UPDATE`` marking the batch published. SQLite's raw side is plain
  aiosqlite (one await per statement).

Figures are entries/s, medians of ``rounds`` rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import Row, format_table
from eventsource import DomainEvent, open_backend
from eventsource.runtime import OutboxRelay

__all__ = ["run"]

BATCH = 100
POSTGRES_URL = os.environ.get(
    "EVENTSOURCE_BENCH_POSTGRES_URL",
    os.environ.get("EVENTSOURCE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
)


class BenchOrderPlaced(DomainEvent):
    """A small event announced through the outbox."""

    aggregate_type: str = "Order"
    sku: str
    quantity: int


async def _noop(entry: Any) -> None:
    return None


async def _fill(url: str, entries: int) -> None:
    async with open_backend(url) as backend:
        for start in range(0, entries, BATCH):
            aggregate_id = uuid.uuid4()
            events = [
                BenchOrderPlaced(aggregate_id=aggregate_id, sku=f"SKU-{i}", quantity=i)
                for i in range(min(BATCH, entries - start))
            ]
            await backend.events.append_events(aggregate_id, "Order", events, 0, outbox=True)


async def _ours(url: str) -> int:
    async with open_backend(url) as backend:
        relay = OutboxRelay(backend.outbox, _noop, batch_size=BATCH)
        return await relay.drain(timeout=600)


async def _raw_sqlite(path: str) -> int:
    done = 0
    async with aiosqlite.connect(path) as db:
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        while True:
            now = time.time_ns() // 1000
            cursor = await db.execute(
                "UPDATE event_outbox SET claimed_by = ?, claimed_until = ? WHERE seq IN ("
                " SELECT seq FROM event_outbox WHERE status = 'pending'"
                " AND (claimed_until IS NULL OR claimed_until <= ?)"
                " AND (available_at IS NULL OR available_at <= ?) ORDER BY seq LIMIT ?)"
                " RETURNING id, event_id, event_type, event_data",
                ("raw", now + 30_000_000, now, now, BATCH),
            )
            rows = list(await cursor.fetchall())
            await db.commit()
            if not rows:
                return done
            for row in rows:
                await _noop(json.loads(row[3]))
            marks = ",".join("?" * len(rows))
            await db.execute(
                "UPDATE event_outbox SET status = 'published', published_at = ?,"
                f" claimed_by = NULL, claimed_until = NULL WHERE id IN ({marks})",
                (time.time_ns() // 1000, *(row[0] for row in rows)),
            )
            await db.commit()
            done += len(rows)


async def _raw_postgres(url: str, schema: str) -> int:
    done = 0
    conn = await asyncpg.connect(url)
    try:
        while True:
            rows = await conn.fetch(
                f"""WITH c AS (SELECT id FROM {schema}.outbox WHERE status = 'pending'
                      AND (claimed_until IS NULL OR claimed_until <= clock_timestamp())
                      AND (not_before IS NULL OR not_before <= clock_timestamp())
                      ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED)
                    UPDATE {schema}.outbox o SET claimed_by = 'raw',
                      claimed_until = clock_timestamp() + interval '30 seconds'
                    FROM c WHERE o.id = c.id
                    RETURNING o.id, o.event_id, o.event_type, o.event_data::text""",
                BATCH,
            )
            if not rows:
                return done
            for row in rows:
                await _noop(json.loads(row[3]))
            await conn.execute(
                f"UPDATE {schema}.outbox SET status = 'published', published_at = now(),"
                " claimed_by = NULL, claimed_until = NULL WHERE id = ANY($1::uuid[])",
                [row[0] for row in rows],
            )
            done += len(rows)
    finally:
        await conn.close()


async def _sqlite_rounds(rounds: int, entries: int) -> tuple[float, float]:
    ours: list[float] = []
    raw: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        for index in range(rounds):
            for side, rates in (("ours", ours), ("raw", raw)):
                path = f"{folder}/outbox-{side}-{index}.db"
                await _fill(f"sqlite:///{path}", entries)
                start = time.perf_counter()
                done = await (_ours(f"sqlite:///{path}") if side == "ours" else _raw_sqlite(path))
                rates.append(done / (time.perf_counter() - start))
                assert done == entries, (side, done)
    return statistics.median(ours), statistics.median(raw)


async def _postgres_rounds(rounds: int, entries: int) -> tuple[float, float]:
    ours: list[float] = []
    raw: list[float] = []
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        for _ in range(rounds):
            for side, rates in (("ours", ours), ("raw", raw)):
                schema = f"bench_outbox_{uuid.uuid4().hex[:10]}"
                url = f"{POSTGRES_URL}?schema={schema}"
                try:
                    await _fill(url, entries)
                    start = time.perf_counter()
                    done = await (
                        _ours(url) if side == "ours" else _raw_postgres(POSTGRES_URL, schema)
                    )
                    rates.append(done / (time.perf_counter() - start))
                    assert done == entries, (side, done)
                finally:
                    await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        await admin.close()
    return statistics.median(ours), statistics.median(raw)


async def run(rounds: int = 3, quick: bool = False) -> list[Row]:
    """W7 on SQLite and PostgreSQL."""
    entries = 2_000 if quick else 10_000
    rows = []
    ours, raw = await _sqlite_rounds(rounds, entries)
    rows.append(
        Row(
            "sqlite",
            f"W7 outbox relay {entries:,}",
            ours,
            raw,
            "aiosqlite claim+mark",
            unit="entries/s",
        )
    )
    ours, raw = await _postgres_rounds(rounds, entries)
    rows.append(
        Row(
            "postgresql",
            f"W7 outbox relay {entries:,}",
            ours,
            raw,
            "asyncpg SKIP LOCKED claim+mark",
            unit="entries/s",
        )
    )
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(format_table(asyncio.run(run(args.rounds, args.quick))))
