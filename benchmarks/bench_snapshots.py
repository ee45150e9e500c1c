"""Snapshots: ``load`` of an aggregate with 50,000 events (5,000 in ``--quick``) written with
``snapshot_every=100``, beside the same ``load`` without snapshots (a full replay), in the same
run, on SQLite and PostgreSQL (target >= 50x). Rates are the aggregate's events over the time
one load takes (the same state either way, checked). A second row per backend loads after 99 more
events (the most a load reads past a snapshot with N=100 and saves of one event).
Run: ``python benchmarks/bench_snapshots.py [--quick] [--rounds N]``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from pydantic import BaseModel

from _report import Row, drop_schemas, format_table
from eventsource import AggregateRepository, AggregateRoot, DomainEvent, EventRegistry, open_backend
from eventsource.stores import EventStore

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
EVERY = 100


class Deposited(DomainEvent):
    """Money in."""

    __register__ = False
    event_type: str = "bench.Deposited"
    cents: int
    memo: str = "salary"


class Balance(BaseModel):
    """The folded state."""

    cents: int = 0
    deposits: int = 0
    last_memo: str = ""


class Account(AggregateRoot[Balance]):
    """An account whose state is the sum of its deposits."""

    aggregate_type = "BenchAccount"

    def _get_initial_state(self) -> Balance:
        return Balance()

    def _apply(self, event: DomainEvent) -> None:
        if isinstance(event, Deposited):
            s = self.state
            self._state = Balance(
                cents=s.cents + event.cents, deposits=s.deposits + 1, last_memo=event.memo
            )


async def _fill(repo: AggregateRepository[Account], total: int, batch: int = 500) -> uuid.UUID:
    account = repo.create_new(uuid.uuid4())
    while account.version < total:
        for _ in range(min(batch, total - account.version)):
            account.raise_event(Deposited, cents=1)
        await repo.save(account)
    return account.aggregate_id


async def _seconds(load: Callable[[], Awaitable[Any]], times: int) -> float:
    start = time.perf_counter()
    for _ in range(times):
        await load()
    return (time.perf_counter() - start) / times


async def _pair(
    name: str, store: EventStore, total: int, rounds: int, extra: int
) -> tuple[Row, float]:
    """Loads/s with and without snapshots (the same state, checked), and their ratio."""
    snapped = AggregateRepository(store, Account, "BenchAccount", snapshot_every=EVERY)
    plain = AggregateRepository(store, Account, "BenchAccount")
    aid = await _fill(snapped, total)
    if extra:
        account = await snapped.load(aid)
        for _ in range(extra):  # one event per save: no save crosses the next multiple
            account.raise_event(Deposited, cents=1)
            await snapped.save(account)
    fast, slow = await snapped.load(aid), await plain.load(aid)
    assert fast.state == slow.state and fast.version == slow.version == total + extra
    times: dict[str, list[float]] = {"snap": [], "plain": []}
    for _ in range(rounds):  # alternate, so drift on a busy machine hits both
        times["plain"].append(await _seconds(lambda: plain.load(aid), 1))
        times["snap"].append(await _seconds(lambda: snapped.load(aid), 20))
    # events/s like the other rows: the aggregate's events over the time a load takes
    ours = (total + extra) / statistics.median(times["snap"])
    base = (total + extra) / statistics.median(times["plain"])
    what = f"load {total + extra:,} events, snapshot every {EVERY}"
    if extra:
        what += f", {extra} after it"
    ms = [1000 * statistics.median(times[k]) for k in ("snap", "plain")]
    note = f"{ms[0]:.2f} ms vs {ms[1]:,.0f} ms a load"
    row = Row(name, what, ours, base, "ours, no snapshots", target=50.0, note=note)
    return row, ours / base


async def _both(name: str, store: EventStore, total: int, rounds: int) -> list[Row]:
    store.event_registry = EventRegistry([Deposited])
    first, _ = await _pair(name, store, total, rounds, 0)
    second, _ = await _pair(name, store, total, rounds, EVERY - 1)
    return [first, second]


async def run(rounds: int = 3, quick: bool = False) -> list[Row]:
    """The snapshot loads on SQLite and PostgreSQL."""
    total = 5_000 if quick else 50_000
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder:
        async with open_backend(f"sqlite:///{os.path.join(folder, 'snap.db')}") as backend:
            rows += await _both("sqlite", backend.events, total, rounds)
    url = os.environ.get("EVENTSOURCE_BENCH_POSTGRES_URL") or os.environ.get(
        "EVENTSOURCE_TEST_POSTGRES_URL", DEFAULT_URL
    )
    schema = f"es_bench_snap_{uuid.uuid4().hex[:8]}"
    try:
        async with open_backend(f"{url}?schema={schema}") as backend:
            rows += await _both("postgresql", backend.events, total, rounds)
    finally:
        await drop_schemas(url, schema)
    return rows


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    rounds = int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3
    print(format_table(asyncio.run(run(rounds, quick))))
