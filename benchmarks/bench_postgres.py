"""PostgreSQL benchmarks: our store beside plain asyncpg doing the same work on the same schema.

W1 2,000 single-event appends to new streams; W2 500 appends of 10 events; W3 load 500 streams
of 10 with ``get_events``; W4 ``read_all`` over 100,000 events decoded as StoredEvent +
DomainEvent (raw: keyset pages decoded to DomainEvent; the fetch-only rate is in the note);
W4m the same read touching only positions, types and ids (no decoding);
W5 8 concurrent tasks, 2,000 appends (raw: single INSERT, no ordering guarantee), with group
commit (the default) and, in the same interleaved rounds, a store with ``group_commit=false``.
Medians of ``rounds``; synchronous_commit=on on both sides. Raw uses a default asyncpg pool, one
call per operation. A second baseline has no framework (:mod:`_nofw`): plain dicts,
payloads from the stdlib ``json``, rows as asyncpg records (reads ``json.loads``).
Run: ``python benchmarks/bench_postgres.py [--quick] [--rounds N]``; the server comes from
``EVENTSOURCE_BENCH_POSTGRES_URL`` (else ``EVENTSOURCE_TEST_POSTGRES_URL``).
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

sys.path.insert(0, str(Path(__file__).parent))

import _nofw
from _report import Row, format_table, median_rate
from eventsource import DomainEvent, ExpectedVersion, ReadOptions
from eventsource_postgres import PostgreSQLEventStore

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


class BenchItemAdded(DomainEvent):
    """A typical small event."""

    sku: str = "SKU-000"
    quantity: int = 1
    price_cents: int = 1999


def _events(aggregate_id: uuid.UUID, n: int) -> list[BenchItemAdded]:
    return [
        BenchItemAdded(
            aggregate_id=aggregate_id,
            aggregate_type="Cart",
            aggregate_version=i + 1,
            sku=f"SKU-{i:03d}",
            quantity=i + 1,
        )
        for i in range(n)
    ]


_RAW_INSERT = """
INSERT INTO {s}.events (global_position, event_id, aggregate_id, aggregate_type,
    aggregate_version, event_type, event_version, tenant_id, occurred_at, payload)
SELECT nextval('{s}.raw_position'), x.id, $1, $2, x.v, x.t, x.ev, x.tenant, x.occ, x.p::json
FROM unnest($3::uuid[], $4::int[], $5::text[], $6::int[], $7::uuid[], $8::timestamptz[],
            $9::text[]) AS x(id, v, t, ev, tenant, occ, p)
"""


async def _raw_append(conn: Any, schema: str, events: list[BenchItemAdded]) -> None:
    first = events[0]
    await conn.execute(
        _RAW_INSERT.format(s=schema),
        first.aggregate_id,
        "Cart",
        [e.event_id for e in events],
        [e.aggregate_version for e in events],
        [e.event_type for e in events],
        [e.event_version for e in events],
        [e.tenant_id for e in events],
        [e.occurred_at for e in events],
        [e.model_dump_json() for e in events],
    )


async def _nf_append(conn: Any, schema: str, docs: list[dict[str, Any]]) -> None:
    """The same statement, no framework: plain dicts, payloads from the stdlib json."""
    first = docs[0]
    dumps = _nofw.dumps
    await conn.execute(
        _RAW_INSERT.format(s=schema),
        uuid.UUID(first["aggregate_id"]),
        "Cart",
        [d["event_id"] for d in docs],
        [d["aggregate_version"] for d in docs],
        [d["event_type"] for d in docs],
        [d["event_version"] for d in docs],
        [d["tenant_id"] for d in docs],
        [_NOW for _ in docs],
        [dumps(d) for d in docs],
    )


_NOW = datetime.now(UTC)


def _metadata_only(limit: int) -> ReadOptions:
    """What a reader touching only positions, types and ids passes to read_all."""
    return ReadOptions(limit=limit, lazy=True)


class _Bench:
    def __init__(self, url: str) -> None:
        self.url = url
        self.schemas: list[str] = []

    async def store(self, **kwargs: Any) -> PostgreSQLEventStore:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        self.schemas.append(schema)
        sep = "&" if "?" in self.url else "?"
        store = PostgreSQLEventStore(f"{self.url}{sep}schema={schema}", **kwargs)
        await store.connect()
        await store.initialize()
        return store

    async def raw(self, size: int = 1) -> tuple[Any, str]:
        """A raw pool on a schema created by the same DDL, plus the raw position sequence."""
        schema_store = await self.store()
        schema = schema_store.schema
        await schema_store.close()
        pool = await asyncpg.create_pool(self.url, min_size=size, max_size=size)
        await pool.execute(f'CREATE SEQUENCE "{schema}".raw_position')
        return pool, f'"{schema}"'

    async def drop(self) -> None:
        conn = await asyncpg.connect(self.url)
        try:
            for schema in self.schemas:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


async def _interleaved(rounds: int, *runs: Callable[[], Awaitable[int]]) -> list[float]:
    # Interleave rounds so drift (autovacuum, other load) hits every side alike.
    rates: list[list[float]] = [[] for _ in runs]
    for _ in range(rounds):
        for run_, got in zip(runs, rates, strict=True):
            got.append(await median_rate(run_, 1))
    return [sorted(got)[len(got) // 2] for got in rates]


async def run(rounds: int = 3, quick: bool = False) -> list[Row]:
    """Run W1-W5 and return one row each (events/s, ours beside raw asyncpg)."""
    url = (
        os.environ.get("EVENTSOURCE_BENCH_POSTGRES_URL")
        or os.environ.get("EVENTSOURCE_TEST_POSTGRES_URL")
        or DEFAULT_URL
    )
    scale = 4 if quick else 1
    bench = _Bench(url)
    rows: list[Row] = []
    try:
        store = await bench.store(pool_min=8, pool_max=8)
        solo = await bench.store(pool_min=8, pool_max=8, group_commit=False)
        pool, raw_schema = await bench.raw(8)
        try:
            rows += await _appends(store, solo, pool, raw_schema, rounds, scale)
            rows += await _reads(store, pool, rounds, quick)
        finally:
            await store.close()
            await solo.close()
            await pool.close()
    finally:
        await bench.drop()
    return rows


async def _appends(
    store: PostgreSQLEventStore,
    solo: PostgreSQLEventStore,
    pool: Any,
    raw_schema: str,
    rounds: int,
    scale: int,
) -> list[Row]:
    rows = []
    n1 = 2000 // scale

    async def w1_ours() -> int:
        for _ in range(n1):
            aid = uuid.uuid4()
            await store.append_events(aid, "Cart", _events(aid, 1), ExpectedVersion.NO_STREAM)
        return n1

    async def w1_raw() -> int:
        for _ in range(n1):
            await _raw_append(pool, raw_schema, _events(uuid.uuid4(), 1))
        return n1

    async def w1_nf() -> int:
        for _ in range(n1):
            await _nf_append(pool, raw_schema, _nofw.docs(1))
        return n1

    ours, raw, nf = await _interleaved(rounds, w1_ours, w1_raw, w1_nf)
    name = "W1 append 1 event, new stream"
    rows.append(Row("postgresql", name, ours, raw, "asyncpg INSERT", target=0.85))
    rows.append(Row("postgresql", name, ours, nf, f"asyncpg INSERT, {_nofw.LABEL}"))
    n2 = 500 // scale

    async def w2_ours() -> int:
        for _ in range(n2):
            aid = uuid.uuid4()
            await store.append_events(aid, "Cart", _events(aid, 10), ExpectedVersion.NO_STREAM)
        return n2 * 10

    async def w2_raw() -> int:
        for _ in range(n2):
            await _raw_append(pool, raw_schema, _events(uuid.uuid4(), 10))
        return n2 * 10

    async def w2_nf() -> int:
        for _ in range(n2):
            await _nf_append(pool, raw_schema, _nofw.docs(10))
        return n2 * 10

    ours, raw, nf = await _interleaved(rounds, w2_ours, w2_raw, w2_nf)
    name = "W2 append 10 events"
    rows.append(Row("postgresql", name, ours, raw, "asyncpg INSERT unnest", target=0.85))
    rows.append(
        Row("postgresql", name, ours, nf, f"asyncpg INSERT unnest, {_nofw.LABEL}", target=0.8)
    )
    n5 = 2000 // scale

    async def w5(append: Callable[[], Awaitable[None]]) -> int:
        async def task() -> None:
            for _ in range(n5 // 8):
                await append()

        await asyncio.gather(*(task() for _ in range(8)))
        return n5 // 8 * 8

    def one_ours(on: PostgreSQLEventStore) -> Callable[[], Awaitable[None]]:
        async def append() -> None:
            aid = uuid.uuid4()
            await on.append_events(aid, "Cart", _events(aid, 1), ExpectedVersion.NO_STREAM)

        return append

    async def one_raw() -> None:
        await _raw_append(pool, raw_schema, _events(uuid.uuid4(), 1))

    committer = store.group_commit
    assert committer is not None
    batches, batched = committer.batches, committer.batched_appends
    ours, ours_solo, raw = await _interleaved(
        rounds, lambda: w5(one_ours(store)), lambda: w5(one_ours(solo)), lambda: w5(one_raw)
    )
    batches, batched = committer.batches - batches, committer.batched_appends - batched
    rows.append(
        Row(
            "postgresql",
            "W5 8 tasks x appends",
            ours,
            raw,
            "asyncpg INSERT, no ordering",
            target=0.6,
            note=f"group commit: {batched / max(1, batches):.1f} appends per shared transaction",
        )
    )
    rows.append(
        Row(
            "postgresql",
            "W5 same, group_commit=false",
            ours_solo,
            raw,
            "asyncpg INSERT, no ordering",
            note="one transaction per append (A/B)",
        )
    )
    return rows


async def _reads(store: PostgreSQLEventStore, pool: Any, rounds: int, quick: bool) -> list[Row]:
    rows = []
    s = f'"{store.schema}"'
    streams = []
    for _ in range(500):
        aid = uuid.uuid4()
        streams.append(aid)
        await store.append_events(aid, "Cart", _events(aid, 10), 0)

    async def w3_ours() -> int:
        count = 0
        for aid in streams:
            count += len((await store.get_events(aid, "Cart")).events)
        return count

    registry = store.event_registry

    async def w3_raw() -> int:
        count = 0
        for aid in streams:
            got = await pool.fetch(
                f"SELECT payload, event_type, event_version FROM {s}.events "
                "WHERE aggregate_id = $1 AND aggregate_type = $2 ORDER BY aggregate_version",
                aid,
                "Cart",
            )
            count += len([registry.deserialize(r[0], r[1], r[2]) for r in got])
        return count

    async def w3_nf() -> int:
        count = 0
        loads = _nofw.loads
        for aid in streams:
            got = await pool.fetch(
                f"SELECT payload, event_type, event_version FROM {s}.events "
                "WHERE aggregate_id = $1 AND aggregate_type = $2 ORDER BY aggregate_version",
                aid,
                "Cart",
            )
            count += len([loads(r[0]) for r in got])
        return count

    ours, raw, nf = await _interleaved(rounds, w3_ours, w3_raw, w3_nf)
    name = "W3 load 500 streams x 10"
    rows.append(Row("postgresql", name, ours, raw, "asyncpg SELECT + decode", target=0.8))
    rows.append(Row("postgresql", name, ours, nf, f"asyncpg SELECT, {_nofw.LABEL}", target=0.8))
    total = 10_000 if quick else 100_000
    have = await store.get_global_position()
    while have < total:
        aid = uuid.uuid4()
        batch = min(500, total - have)
        await store.append_events(aid, "Cart", _events(aid, batch), 0)
        have += batch

    async def w4_ours() -> int:
        count = 0
        async for _ in store.read_all(ReadOptions(limit=total)):
            count += 1
        return count

    async def w4_meta() -> int:
        count = 0
        async for stored in store.read_all(_metadata_only(total)):
            count += stored.global_position > 0 and bool(stored.event_type)
            count -= stored.event_id is None
        return count

    async def w4_raw(decode: bool | None) -> int:
        """Keyset pages; ``decode`` True: the same decoding, None: json.loads (no framework),
        False: touch positions, types and ids only."""
        count, last = 0, 0
        loads = _nofw.loads
        while count < total:
            got = await pool.fetch(
                f"SELECT global_position, aggregate_version, stored_at, event_type, "
                f"event_version, payload, aggregate_id, aggregate_type, event_id "
                f"FROM {s}.events WHERE global_position > $1 "
                "ORDER BY global_position LIMIT $2",
                last,
                min(1000, total - count),
            )
            if not got:
                break
            if decode:
                for r in got:
                    registry.deserialize(r[5], r[3], r[4])
            elif decode is None:
                for r in got:
                    loads(r[5])
            else:
                for r in got:
                    count -= r[0] <= 0 or not r[3] or r[8] is None
            count += len(got)
            last = got[-1][0]
        return count

    ours, raw, nf, meta, nf_meta = await _interleaved(
        rounds,
        w4_ours,
        lambda: w4_raw(True),
        lambda: w4_raw(None),
        w4_meta,
        lambda: w4_raw(False),
    )
    fetch_only = nf_meta
    rows.append(
        Row(
            "postgresql",
            f"W4 read_all {total:,} decoded",
            ours,
            raw,
            "asyncpg keyset pages + decode",
            target=0.5,
            note=f"vs fetch only (no decode, {fetch_only:,.0f}/s): {ours / fetch_only:.2f}",
        )
    )
    rows.append(
        Row(
            "postgresql",
            f"W4 read_all {total:,} decoded",
            ours,
            nf,
            f"asyncpg keyset pages, {_nofw.LABEL}, json.loads",
            target=0.4,
        )
    )
    rows.append(
        Row(
            "postgresql",
            f"W4m read_all {total:,} metadata",
            meta,
            nf_meta,
            f"asyncpg keyset pages, {_nofw.LABEL}",
            target=0.8,
            note="positions, types, ids only",
        )
    )
    return rows


def main() -> None:
    """Print the table."""
    quick = "--quick" in sys.argv
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
    rows = asyncio.run(run(rounds=rounds, quick=quick))
    print(format_table(rows))


if __name__ == "__main__":
    main()
