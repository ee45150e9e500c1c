"""W4f: a projection's catch-up by event type, on SQLite and PostgreSQL.

A log of 200,000 events of 20 types, round robin (20,000 in ``--quick``). A projection that
handles 2 of the types reads them with ``read_all(ReadOptions(event_types=...))``; the
alternative is reading everything and skipping what it does not handle. The row reports the
handled events per second both ways (target: filtered >= 5x), and a second row the filtered
read beside the raw driver running the same filtered keyset query and decoding what it gets.
Run: ``python benchmarks/bench_filtered.py [--quick] [--rounds N]``.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).parent))

from _report import Row, drop_schemas, format_table, median_rate
from eventsource import DomainEvent, EventRegistry, ReadOptions, open_backend
from eventsource.stores import EventStore

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
TYPES = 20
WANTED = (3, 7)


def _classes() -> list[type[DomainEvent]]:
    made = []
    for n in range(TYPES):
        namespace = {"__annotations__": {"sku": str, "quantity": int}, "sku": "SKU", "quantity": 1}
        namespace["__register__"] = False
        namespace["__annotations__"]["event_type"] = str
        namespace["event_type"] = f"bench.Filtered{n}"
        made.append(type(f"Filtered{n}", (DomainEvent,), namespace))
    return made


CLASSES = _classes()
WANTED_TYPES = tuple(CLASSES[n].model_fields["event_type"].default for n in WANTED)


async def _fill(store: EventStore, total: int) -> None:
    store.event_registry = EventRegistry(CLASSES)
    have = await store.get_global_position()
    while have < total:
        aid = uuid.uuid4()
        count = min(500, total - have)
        events = [
            CLASSES[(have + n) % TYPES](aggregate_id=aid, aggregate_version=n + 1)
            for n in range(count)
        ]
        await store.append_events(aid, "Bench", events, 0)
        have += count


def _handled(store: EventStore, filtered: bool) -> Any:
    async def run() -> int:
        options = ReadOptions(event_types=WANTED_TYPES) if filtered else None
        handled = 0
        async for stored in store.read_all(options):
            if stored.event.event_type in WANTED_TYPES:
                handled += 1
        return handled

    return run


async def _rows(backend_name: str, store: EventStore, raw: Any, rounds: int) -> list[Row]:
    filtered = await median_rate(_handled(store, True), rounds)
    everything = await median_rate(_handled(store, False), rounds)
    raw_rate = await median_rate(raw, rounds)
    return [
        Row(
            backend_name,
            "W4f catch-up, 2 of 20 types",
            filtered,
            everything,
            "ours, read all and skip",
            unit="handled/s",
            target=5.0,
        ),
        Row(
            backend_name,
            "W4f same, beside raw",
            filtered,
            raw_rate,
            "driver keyset by type + decode",
            unit="handled/s",
            target=0.5,
        ),
    ]


def _raw_sqlite(path: str, registry: EventRegistry) -> Any:
    async def run() -> int:
        def read() -> int:
            conn = sqlite3.connect(path)
            try:
                count, last = 0, 0
                while True:
                    rows = conn.execute(
                        "SELECT global_position, event_type, event_version, payload FROM events"
                        " WHERE event_type IN (?, ?) AND global_position > ?"
                        " ORDER BY global_position LIMIT 1000",
                        (*WANTED_TYPES, last),
                    ).fetchall()
                    for row in rows:
                        registry.deserialize(row[3], row[1], row[2])
                    count += len(rows)
                    if len(rows) < 1000:
                        return count
                    last = rows[-1][0]
            finally:
                conn.close()

        return await asyncio.to_thread(read)

    return run


def _raw_postgres(pool: Any, schema: str, registry: EventRegistry) -> Any:
    async def run() -> int:
        count, last = 0, 0
        while True:
            rows = await pool.fetch(
                f"SELECT global_position, event_type, event_version, payload FROM {schema}.events"
                " WHERE event_type = ANY($1::text[]) AND global_position > $2"
                " ORDER BY global_position LIMIT 1000",
                list(WANTED_TYPES),
                last,
            )
            for row in rows:
                registry.deserialize(row[3], row[1], row[2])
            count += len(rows)
            if len(rows) < 1000:
                return count
            last = rows[-1][0]

    return run


async def run(rounds: int = 3, quick: bool = False) -> list[Row]:
    """W4f on SQLite and PostgreSQL."""
    total = 20_000 if quick else 200_000
    rows: list[Row] = []
    registry = EventRegistry(CLASSES)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "filtered.db")
        async with open_backend(f"sqlite:///{path}") as backend:
            await _fill(backend.events, total)
            rows += await _rows("sqlite", backend.events, _raw_sqlite(path, registry), rounds)
    url = os.environ.get("EVENTSOURCE_BENCH_POSTGRES_URL") or os.environ.get(
        "EVENTSOURCE_TEST_POSTGRES_URL", DEFAULT_URL
    )
    schema = f"es_bench_filtered_{uuid.uuid4().hex[:8]}"
    try:
        async with open_backend(f"{url}?schema={schema}&pool_max=4") as backend:
            await _fill(backend.events, total)
            pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
            try:
                await pool.execute(f'ANALYZE "{schema}".events')
                raw = _raw_postgres(pool, f'"{schema}"', registry)
                rows += await _rows("postgresql", backend.events, raw, rounds)
            finally:
                await pool.close()
    finally:
        await drop_schemas(url, schema)
    return rows


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
    print(format_table(asyncio.run(run(rounds, quick))))
