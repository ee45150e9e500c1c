"""SQLite workloads: our store beside the raw driver doing the same work on the same schema.

    python benchmarks/bench_sqlite.py [--quick] [--rounds N]

Both sides write to a fresh file with the store's own schema (global position as INTEGER
PRIMARY KEY, unique stream + version, the same indexes), in WAL mode with synchronous=NORMAL,
one transaction per append (BEGIN IMMEDIATE, read the stream version, check it, insert,
COMMIT), serialising the events to JSON. Baselines: plain aiosqlite (one await per
statement) and stdlib sqlite3 run in ONE thread hop per append
(``loop.run_in_executor(single_thread_executor, fn)``). Reads decode into the same objects
(``DomainEvent`` via the class's ``model_validate_json``; ``StoredEvent`` for read_all).
A second baseline has no framework at all (:mod:`_nofw`): plain dicts, payloads from the
stdlib ``json``, rows as driver tuples (reads ``json.loads`` the payload).
Figures are medians of ``rounds`` rounds, ours and raw alternating.

- W1: 2,000 single-event appends, each to a new stream.
- W2: 500 appends of 10 events, each to a new stream.
- W3: load 500 streams of 10 events with ``get_events``.
- W4: ``read_all`` over 100,000 events (10,000 with ``--quick``).
- W4m: the same read touching only positions, types and ids.
- W5: 8 concurrent tasks appending 250 single events each through one store.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import aiosqlite

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _nofw
from _report import Row, format_table
from eventsource import DomainEvent, ReadOptions, StoredEvent
from eventsource_sqlite import SQLiteEventStore
from eventsource_sqlite._tx import from_us, now_us, to_us

__all__ = ["run"]

BACKEND = "sqlite"
_INSERT = (
    "INSERT INTO events (event_id, aggregate_id, aggregate_type, aggregate_version, event_type,"
    " event_version, tenant_id, occurred_at, stored_at, payload)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_VERSION = "SELECT MAX(aggregate_version) FROM events WHERE aggregate_id = ? AND aggregate_type = ?"
_STREAM = (
    "SELECT event_type, event_version, payload FROM events"
    " WHERE aggregate_id = ? AND aggregate_type = ? ORDER BY aggregate_version"
)
_ALL = (
    "SELECT global_position, aggregate_id, aggregate_type, aggregate_version, event_type,"
    " event_version, stored_at, payload FROM events ORDER BY global_position"
)

#: The rows a read_all delivers, payload as text (the no-framework reads).
_ALL_NF = (
    "SELECT global_position, aggregate_id, aggregate_type, aggregate_version, event_type,"
    " event_version, stored_at, payload, event_id FROM events ORDER BY global_position"
)
#: What a reader touching only positions, types and ids passes to read_all.
METADATA_ONLY = ReadOptions(lazy=True)


class BenchItemAdded(DomainEvent):
    """A typical small event (about 400 bytes of JSON)."""

    sku: str
    quantity: int
    price_cents: int
    note: str = ""


def _events(aggregate_id: UUID, count: int) -> list[DomainEvent]:
    return [
        BenchItemAdded(
            aggregate_id=aggregate_id,
            aggregate_type="Cart",
            aggregate_version=i + 1,
            sku=f"SKU-{i:05d}",
            quantity=i + 1,
            price_cents=1999,
            note="gift wrap",
        )
        for i in range(count)
    ]


# -- databases -----------------------------------------------------------------------------------


async def _fresh(directory: Path, name: str) -> Path:
    """A new file with the store's schema, in WAL mode."""
    path = directory / f"{name}-{uuid4().hex[:8]}.db"
    async with SQLiteEventStore(path) as store:
        await store.initialize()
    return path


def _raw_connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _row(event: DomainEvent, payload: str, now: int) -> tuple[Any, ...]:
    return (
        str(event.event_id),
        str(event.aggregate_id),
        event.aggregate_type,
        event.aggregate_version,
        event.event_type,
        event.event_version,
        None,
        to_us(event.occurred_at),
        now,
        payload,
    )


def _raw_append_sync(conn: sqlite3.Connection, events: list[DomainEvent]) -> int:
    """One append transaction with stdlib sqlite3 (run in one thread hop)."""
    first = events[0]
    key = (str(first.aggregate_id), first.aggregate_type)
    payloads = [e.model_dump_json() for e in events]
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = conn.execute(_VERSION, key).fetchone()[0] or 0
        if current != first.aggregate_version - 1:
            raise RuntimeError("version conflict")
        now = now_us()
        conn.executemany(_INSERT, [_row(e, p, now) for e, p in zip(events, payloads, strict=True)])
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return len(events)


async def _raw_append_aiosqlite(db: aiosqlite.Connection, events: list[DomainEvent]) -> int:
    """One append transaction with plain aiosqlite: one await per statement."""
    first = events[0]
    key = (str(first.aggregate_id), first.aggregate_type)
    payloads = [e.model_dump_json() for e in events]
    await db.execute("BEGIN IMMEDIATE")
    try:
        async with db.execute(_VERSION, key) as cursor:
            row = await cursor.fetchone()
        current = (row[0] if row else 0) or 0
        if current != first.aggregate_version - 1:
            raise RuntimeError("version conflict")
        now = now_us()
        await db.executemany(
            _INSERT, [_row(e, p, now) for e, p in zip(events, payloads, strict=True)]
        )
        await db.commit()
    except BaseException:
        await db.rollback()
        raise
    return len(events)


def _nf_rows(docs: list[dict[str, Any]], now: int) -> list[tuple[Any, ...]]:
    """Rows of plain dicts, payloads from the stdlib json (the no-framework baseline)."""
    dumps = _nofw.dumps
    return [
        (
            d["event_id"],
            d["aggregate_id"],
            "Cart",
            d["aggregate_version"],
            d["event_type"],
            1,
            None,
            now,
            now,
            dumps(d),
        )
        for d in docs
    ]


def _nf_append_sync(conn: sqlite3.Connection, docs: list[dict[str, Any]]) -> int:
    """One append transaction, no framework: sqlite3, plain dicts, json.dumps."""
    first = docs[0]
    key = (first["aggregate_id"], "Cart")
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = conn.execute(_VERSION, key).fetchone()[0] or 0
        if current != first["aggregate_version"] - 1:
            raise RuntimeError("version conflict")
        conn.executemany(_INSERT, _nf_rows(docs, now_us()))
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return len(docs)


async def _nf_append_aiosqlite(db: aiosqlite.Connection, docs: list[dict[str, Any]]) -> int:
    """One append transaction, no framework, with plain aiosqlite."""
    first = docs[0]
    key = (first["aggregate_id"], "Cart")
    await db.execute("BEGIN IMMEDIATE")
    try:
        async with db.execute(_VERSION, key) as cursor:
            row = await cursor.fetchone()
        current = (row[0] if row else 0) or 0
        if current != first["aggregate_version"] - 1:
            raise RuntimeError("version conflict")
        await db.executemany(_INSERT, _nf_rows(docs, now_us()))
        await db.commit()
    except BaseException:
        await db.rollback()
        raise
    return len(docs)


# -- timing --------------------------------------------------------------------------------------


Work = Callable[[], Awaitable[int]]
Setup = Callable[[], Awaitable[tuple[Work, Callable[[], Awaitable[None]]]]]


async def _rate(setup: Setup) -> float:
    """Events/s of one round: ``setup`` (untimed) returns the work and its teardown."""
    work, teardown = await setup()
    try:
        start = time.perf_counter()
        count = await work()
        return count / (time.perf_counter() - start)
    finally:
        await teardown()


async def _compare(rounds: int, sides: dict[str, Setup]) -> dict[str, float]:
    """Median events/s of each side, the sides alternating within each round."""
    rates: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, setup in sides.items():
            rates[name].append(await _rate(setup))
    return {name: statistics.median(values) for name, values in rates.items()}


# -- sides of the append workloads ---------------------------------------------------------------


def _batches(appends: int, size: int) -> list[list[DomainEvent]]:
    return [_events(uuid4(), size) for _ in range(appends)]


def _ours_append(directory: Path, batches_of: Callable[[], list[list[DomainEvent]]]) -> Setup:
    async def setup() -> tuple[Work, Callable[[], Awaitable[None]]]:
        store = SQLiteEventStore(await _fresh(directory, "ours"))
        await store.connect()
        batches = batches_of()

        async def work() -> int:
            for batch in batches:
                first = batch[0]
                await store.append_events(first.aggregate_id, "Cart", batch, 0)
            return sum(map(len, batches))

        return work, store.close

    return setup


def _one_hop_append(directory: Path, batches_of: Callable[[], list[list[DomainEvent]]]) -> Setup:
    async def setup() -> tuple[Work, Callable[[], Awaitable[None]]]:
        conn = _raw_connect(await _fresh(directory, "hop"))
        pool = ThreadPoolExecutor(max_workers=1)
        loop = asyncio.get_running_loop()
        batches = batches_of()

        async def work() -> int:
            for batch in batches:
                await loop.run_in_executor(pool, _raw_append_sync, conn, batch)
            return sum(map(len, batches))

        async def teardown() -> None:
            pool.shutdown()
            conn.close()

        return work, teardown

    return setup


def _aiosqlite_append(directory: Path, batches_of: Callable[[], list[list[DomainEvent]]]) -> Setup:
    async def setup() -> tuple[Work, Callable[[], Awaitable[None]]]:
        db = await aiosqlite.connect(await _fresh(directory, "aio"), isolation_level=None)
        await db.execute("PRAGMA synchronous = NORMAL")
        batches = batches_of()

        async def work() -> int:
            for batch in batches:
                await _raw_append_aiosqlite(db, batch)
            return sum(map(len, batches))

        return work, db.close

    return setup


def _nf_one_hop_append(directory: Path, appends: int, size: int) -> Setup:
    async def setup() -> tuple[Work, Callable[[], Awaitable[None]]]:
        conn = _raw_connect(await _fresh(directory, "nfhop"))
        pool = ThreadPoolExecutor(max_workers=1)
        loop = asyncio.get_running_loop()
        batches = [_nofw.docs(size) for _ in range(appends)]

        async def work() -> int:
            for batch in batches:
                await loop.run_in_executor(pool, _nf_append_sync, conn, batch)
            return appends * size

        async def teardown() -> None:
            pool.shutdown()
            conn.close()

        return work, teardown

    return setup


def _nf_aiosqlite_append(directory: Path, appends: int, size: int) -> Setup:
    async def setup() -> tuple[Work, Callable[[], Awaitable[None]]]:
        db = await aiosqlite.connect(await _fresh(directory, "nfaio"), isolation_level=None)
        await db.execute("PRAGMA synchronous = NORMAL")
        batches = [_nofw.docs(size) for _ in range(appends)]

        async def work() -> int:
            for batch in batches:
                await _nf_append_aiosqlite(db, batch)
            return appends * size

        return work, db.close

    return setup


async def _append_rows(
    directory: Path, rounds: int, workload: str, appends: int, size: int
) -> list[Row]:
    def batches() -> list[list[DomainEvent]]:
        return _batches(appends, size)

    rates = await _compare(
        rounds,
        {
            "ours": _ours_append(directory, batches),
            "hop": _one_hop_append(directory, batches),
            "aio": _aiosqlite_append(directory, batches),
            "nfhop": _nf_one_hop_append(directory, appends, size),
            "nfaio": _nf_aiosqlite_append(directory, appends, size),
        },
    )
    # the target against the no-framework baseline: W2 only
    nf_target = 0.8 if size > 1 else None
    return [
        Row(BACKEND, workload, rates["ours"], rates["hop"], "sqlite3, 1 hop", target=0.8),
        Row(BACKEND, workload, rates["ours"], rates["aio"], "aiosqlite"),
        Row(
            BACKEND,
            workload,
            rates["ours"],
            rates["nfhop"],
            f"sqlite3, 1 hop, {_nofw.LABEL}",
            target=nf_target,
        ),
        Row(BACKEND, workload, rates["ours"], rates["nfaio"], f"aiosqlite, {_nofw.LABEL}"),
    ]


# -- W3: load streams ----------------------------------------------------------------------------


async def _w3(directory: Path, rounds: int, streams: int) -> list[Row]:
    path = await _fresh(directory, "w3")
    ids = [uuid4() for _ in range(streams)]
    conn = _raw_connect(path)
    now = now_us()
    for aid in ids:
        conn.executemany(_INSERT, [_row(e, e.model_dump_json(), now) for e in _events(aid, 10)])
    conn.close()
    cls = BenchItemAdded

    async def ours() -> tuple[Work, Callable[[], Awaitable[None]]]:
        store = SQLiteEventStore(path)
        await store.connect()

        async def work() -> int:
            total = 0
            for aid in ids:
                total += len((await store.get_events(aid, "Cart")).events)
            return total

        return work, store.close

    async def raw() -> tuple[Work, Callable[[], Awaitable[None]]]:
        db = await aiosqlite.connect(path)

        async def work() -> int:
            total = 0
            for aid in ids:
                rows = await db.execute_fetchall(_STREAM, (str(aid), "Cart"))
                total += len([cls.model_validate_json(r[2]) for r in rows])
            return total

        return work, db.close

    async def nf_aio() -> tuple[Work, Callable[[], Awaitable[None]]]:
        db = await aiosqlite.connect(path)
        loads = _nofw.loads

        async def work() -> int:
            total = 0
            for aid in ids:
                rows = await db.execute_fetchall(_STREAM, (str(aid), "Cart"))
                total += len([loads(r[2]) for r in rows])
            return total

        return work, db.close

    async def nf_hop() -> tuple[Work, Callable[[], Awaitable[None]]]:
        conn = _raw_connect(path)
        pool = ThreadPoolExecutor(max_workers=1)
        loop = asyncio.get_running_loop()
        loads = _nofw.loads

        def fetch(key: tuple[str, str]) -> list[Any]:
            return conn.execute(_STREAM, key).fetchall()

        async def work() -> int:
            total = 0
            for aid in ids:
                rows = await loop.run_in_executor(pool, fetch, (str(aid), "Cart"))
                total += len([loads(r[2]) for r in rows])
            return total

        async def teardown() -> None:
            pool.shutdown()
            conn.close()

        return work, teardown

    rates = await _compare(rounds, {"ours": ours, "raw": raw, "nfaio": nf_aio, "nfhop": nf_hop})
    name = "W3 load 10-event streams"
    return [
        Row(BACKEND, name, rates["ours"], rates["raw"], "aiosqlite", target=0.8),
        Row(
            BACKEND,
            name,
            rates["ours"],
            rates["nfhop"],
            f"sqlite3, 1 hop, {_nofw.LABEL}",
            target=0.8,
        ),
        Row(BACKEND, name, rates["ours"], rates["nfaio"], f"aiosqlite, {_nofw.LABEL}"),
    ]


# -- W4: read_all --------------------------------------------------------------------------------


async def _w4(directory: Path, rounds: int, total: int) -> list[Row]:
    path = await _fresh(directory, "w4")
    conn = _raw_connect(path)
    now = now_us()
    conn.execute("BEGIN")
    for _ in range(total // 10):
        aid = uuid4()
        conn.executemany(_INSERT, [_row(e, e.model_dump_json(), now) for e in _events(aid, 10)])
    conn.execute("COMMIT")
    conn.close()
    cls = BenchItemAdded

    async def ours() -> tuple[Work, Callable[[], Awaitable[None]]]:
        store = SQLiteEventStore(path)
        await store.connect()

        async def work() -> int:
            count = 0
            async for stored in store.read_all():
                count += stored.global_position > 0
            return count

        return work, store.close

    async def raw() -> tuple[Work, Callable[[], Awaitable[None]]]:
        db = _raw_connect(path)

        async def work() -> int:
            count = 0
            for pos, aid, atype, version, _etype, _ever, stored_at, payload in db.execute(_ALL):
                stored = StoredEvent(
                    event=cls.model_validate_json(payload),
                    stream_id=f"{aid}:{atype}",
                    stream_position=version,
                    global_position=pos,
                    stored_at=from_us(stored_at),
                )
                count += stored.global_position > 0
            return count

        async def teardown() -> None:
            db.close()

        return work, teardown

    async def ours_meta() -> tuple[Work, Callable[[], Awaitable[None]]]:
        store = SQLiteEventStore(path)
        await store.connect()

        async def work() -> int:
            count = 0
            async for stored in store.read_all(METADATA_ONLY):
                count += stored.global_position > 0 and bool(stored.event_type)
                count -= stored.event_id is None
            return count

        return work, store.close

    def nf(decode: bool) -> Setup:
        async def setup() -> tuple[Work, Callable[[], Awaitable[None]]]:
            db = _raw_connect(path)
            loads = _nofw.loads

            async def work() -> int:
                count = 0
                for row in db.execute(_ALL_NF):
                    if decode:
                        loads(row[7])
                    count += row[0] > 0 and bool(row[4])
                    count -= row[8] is None
                return count

            async def teardown() -> None:
                db.close()

            return work, teardown

        return setup

    rates = await _compare(
        rounds,
        {"ours": ours, "raw": raw, "nf": nf(True), "meta": ours_meta, "nfmeta": nf(False)},
    )
    nf_label = f"sqlite3 rows, {_nofw.LABEL}"
    return [
        Row(
            BACKEND,
            f"W4 read_all {total:,}",
            rates["ours"],
            rates["raw"],
            "sqlite3 rows decoded",
            target=0.5,
        ),
        Row(
            BACKEND,
            f"W4 read_all {total:,}",
            rates["ours"],
            rates["nf"],
            f"{nf_label}, json.loads",
            target=0.4,
        ),
        Row(
            BACKEND,
            f"W4m read_all {total:,} metadata",
            rates["meta"],
            rates["nfmeta"],
            nf_label,
            target=0.8,
            note="positions, types, ids only",
        ),
    ]


# -- W5: concurrent writers ----------------------------------------------------------------------


async def _w5(directory: Path, rounds: int, tasks: int, each: int) -> list[Row]:
    async def ours() -> tuple[Work, Callable[[], Awaitable[None]]]:
        store = SQLiteEventStore(await _fresh(directory, "w5"))
        await store.connect()
        batches = [_batches(each, 1) for _ in range(tasks)]

        async def writer(mine: list[list[DomainEvent]]) -> None:
            for batch in mine:
                await store.append_events(batch[0].aggregate_id, "Cart", batch, 0)

        async def work() -> int:
            await asyncio.gather(*(writer(mine) for mine in batches))
            return tasks * each

        return work, store.close

    async def raw() -> tuple[Work, Callable[[], Awaitable[None]]]:
        conn = _raw_connect(await _fresh(directory, "w5raw"))
        pool = ThreadPoolExecutor(max_workers=1)
        loop = asyncio.get_running_loop()
        batches = [_batches(each, 1) for _ in range(tasks)]

        async def writer(mine: list[list[DomainEvent]]) -> None:
            for batch in mine:
                await loop.run_in_executor(pool, _raw_append_sync, conn, batch)

        async def work() -> int:
            await asyncio.gather(*(writer(mine) for mine in batches))
            return tasks * each

        async def teardown() -> None:
            pool.shutdown()
            conn.close()

        return work, teardown

    rates = await _compare(rounds, {"ours": ours, "raw": raw})
    return [
        Row(
            BACKEND,
            f"W5 {tasks} concurrent writers",
            rates["ours"],
            rates["raw"],
            "sqlite3, 1 hop",
            note="writers queue; no errors",
        )
    ]


async def run(rounds: int = 3, quick: bool = False) -> list[Row]:
    """Every SQLite workload; ``quick`` shrinks them for a smoke test."""
    scale = 5 if quick else 1
    with tempfile.TemporaryDirectory(prefix="bench-sqlite-") as tmp:
        directory = Path(tmp)
        rows = await _append_rows(directory, rounds, "W1 append 1 event", 2000 // scale, 1)
        rows += await _append_rows(directory, rounds, "W2 append 10 events", 500 // scale, 10)
        rows += await _w3(directory, rounds, 500 // scale)
        rows += await _w4(directory, rounds, 10_000 if quick else 100_000)
        rows += await _w5(directory, rounds, 8, 250 // scale)
    return rows


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(format_table(asyncio.run(run(args.rounds, args.quick))))


if __name__ == "__main__":
    main()
