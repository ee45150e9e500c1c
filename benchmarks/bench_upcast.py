"""Upcasting cost: ``read_all`` over 100,000 events (10,000 in ``--quick``) of which half are
stored as version 1 and read as version 3 through a two-step chain, beside the same read of a
log whose events need no upcasting (target >= 0.7x), on memory, SQLite and PostgreSQL.
Run: ``python benchmarks/bench_upcast.py [--quick] [--rounds N]``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from _report import Row, drop_schemas, format_table, median_rate
from eventsource import DomainEvent, EventRegistry, open_backend
from eventsource.stores import EventStore

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"


class ShippedV1(DomainEvent):
    """As the old release wrote it."""

    __register__ = False
    event_type: str = "bench.Shipped"
    address: str = "1 Main St"
    weight: int = 1200


class ShippedV3(DomainEvent):
    """Today's shape."""

    __register__ = False
    event_type: str = "bench.Shipped"
    event_version: int = 3
    to: dict[str, str]
    grams: int
    carrier: str = "post"


def _v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    data["to"] = {"line1": data.pop("address")}
    return data


def _v2_to_v3(data: dict[str, Any]) -> dict[str, Any]:
    data["grams"] = data.pop("weight")
    return data


def _upcasting() -> EventRegistry:
    registry = EventRegistry([ShippedV3])
    registry.register_upcaster("bench.Shipped", 1, _v1_to_v2)
    registry.register_upcaster("bench.Shipped", 2, _v2_to_v3)
    return registry


async def _fill(store: EventStore, total: int, old_share: bool) -> None:
    """``total`` events in streams of 500: with ``old_share``, every other one stored as v1."""
    have = 0
    while have < total:
        aid = uuid.uuid4()
        count = min(500, total - have)
        events: list[DomainEvent] = []
        for n in range(count):
            if old_share and n % 2 == 0:
                events.append(ShippedV1(aggregate_id=aid, aggregate_version=n + 1))
            else:
                events.append(
                    ShippedV3(
                        aggregate_id=aid,
                        aggregate_version=n + 1,
                        to={"line1": "1 Main St"},
                        grams=1200,
                    )
                )
        store.event_registry = EventRegistry([ShippedV1, ShippedV3])
        await store.append_events(aid, "Parcel", events, 0)
        have += count
    store.event_registry = _upcasting()


def _read(store: EventStore) -> Any:
    async def run() -> int:
        count = 0
        async for stored in store.read_all():
            assert isinstance(stored.event, ShippedV3)
            count += 1
        return count

    return run


async def _pair(name: str, mixed: EventStore, plain: EventStore, rounds: int) -> Row:
    rates: dict[str, list[float]] = {"mixed": [], "plain": []}
    for _ in range(rounds):  # alternate, so drift on a busy machine hits both
        rates["mixed"].append(await median_rate(_read(mixed), 1))
        rates["plain"].append(await median_rate(_read(plain), 1))
    ours = sorted(rates["mixed"])[len(rates["mixed"]) // 2]
    base = sorted(rates["plain"])[len(rates["plain"]) // 2]
    return Row(
        name,
        "upcast read_all, half v1->v3",
        ours,
        base,
        "ours, no upcasting",
        target=0.7,
    )


async def run(rounds: int = 3, quick: bool = False) -> list[Row]:
    """The upcast read on memory, SQLite and PostgreSQL."""
    total = 10_000 if quick else 100_000
    rows = []
    async with open_backend("memory://") as a, open_backend("memory://") as b:
        await _fill(a.events, total, True)
        await _fill(b.events, total, False)
        rows.append(await _pair("memory", a.events, b.events, rounds))
    with tempfile.TemporaryDirectory() as folder:
        async with (
            open_backend(f"sqlite:///{os.path.join(folder, 'mixed.db')}") as a,
            open_backend(f"sqlite:///{os.path.join(folder, 'plain.db')}") as b,
        ):
            await _fill(a.events, total, True)
            await _fill(b.events, total, False)
            rows.append(await _pair("sqlite", a.events, b.events, rounds))
    url = os.environ.get("EVENTSOURCE_BENCH_POSTGRES_URL") or os.environ.get(
        "EVENTSOURCE_TEST_POSTGRES_URL", DEFAULT_URL
    )
    schemas = [f"es_bench_up_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    try:
        async with (
            open_backend(f"{url}?schema={schemas[0]}") as a,
            open_backend(f"{url}?schema={schemas[1]}") as b,
        ):
            await _fill(a.events, total, True)
            await _fill(b.events, total, False)
            rows.append(await _pair("postgresql", a.events, b.events, rounds))
    finally:
        await drop_schemas(url, *schemas)
    return rows


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
    print(format_table(asyncio.run(run(rounds, quick))))
