"""Ordered outbox relays in separate OS processes: the race the SQLite and PostgreSQL tests run.

The parent fills the outbox (``entries`` entries over ``aggregates`` aggregates, interleaved)
and starts ``processes`` children (``python relay_order_race.py URL LOG NAME``), released
together once all are open, each an
``OutboxRelay(..., ordering="aggregate")`` whose publisher appends ``aggregate entry worker``
to one shared log file (``O_APPEND``, one ``write`` a line) until the outbox has nothing
pending. The log's line order is the publish order: an aggregate's next entry can be claimed
only after the previous one was marked published, which follows its log write.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from uuid import UUID, uuid4

from eventsource import DomainEvent, open_backend
from eventsource.repositories import OutboxEntry
from eventsource.runtime import OutboxRelay


class RelayOrderNoted(DomainEvent):
    """One outbox entry of the race."""

    aggregate_type: str = "RelayOrder"
    n: int


async def fill(url: str, aggregates: int, entries: int) -> dict[UUID, list[UUID]]:
    """Add ``entries`` entries round-robin over ``aggregates`` new aggregates; their ids per
    aggregate, in add order."""
    ids = [uuid4() for _ in range(aggregates)]
    added: dict[UUID, list[UUID]] = defaultdict(list)
    async with open_backend(url) as backend:
        for n in range(entries):
            aid = ids[n % aggregates]
            added[aid].append(
                await backend.outbox.add_event(RelayOrderNoted(aggregate_id=aid, n=n))
            )
    return added


def run_relay_processes(url: str, log: Path, processes: int) -> list[tuple[UUID, UUID, str]]:
    """Run ``processes`` ordered relay children to the end; the log as (aggregate, entry,
    worker) in publish order."""
    log.touch()
    children = [
        subprocess.Popen(
            [sys.executable, __file__, url, str(log), f"p{i}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "error"},
        )
        for i in range(processes)
    ]
    try:
        for child in children:  # each has opened the backend; then all start together
            assert child.stdout is not None
            line = child.stdout.readline().strip()
            assert line == "ready", f"a relay process failed to open the backend: {line!r}"
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        for child in children:
            out, _ = child.communicate(timeout=600)
            assert child.returncode == 0, f"a relay process failed: {out[-2000:]}"
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait(timeout=30)
    rows = []
    for line in log.read_text().splitlines():
        aggregate, entry, worker = line.split()
        rows.append((UUID(aggregate), UUID(entry), worker))
    return rows


def check_order(added: dict[UUID, list[UUID]], rows: list[tuple[UUID, UUID, str]]) -> set[str]:
    """Assert each entry was published exactly once and each aggregate's in add order; the
    workers that published."""
    entries = [entry for _, entry, _ in rows]
    assert len(entries) == len(set(entries)), "an entry was published twice"
    assert set(entries) == {e for ids in added.values() for e in ids}, "entries missing"
    published: dict[UUID, list[UUID]] = defaultdict(list)
    for aggregate, entry, _ in rows:
        published[aggregate].append(entry)
    for aggregate, ids in added.items():
        assert published[aggregate] == ids, f"aggregate {aggregate} published out of order"
    return {worker for _, _, worker in rows}


async def _child(url: str, log: str, worker: str) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)

    async def publish(entry: OutboxEntry) -> None:
        os.write(fd, f"{entry.aggregate_id} {entry.id} {worker}\n".encode())
        await asyncio.sleep(0)

    try:
        async with open_backend(url) as backend:
            relay = OutboxRelay.from_backend(
                backend,
                publish,
                worker_id=worker,
                batch_size=20,
                lease=timedelta(minutes=5),
                ordering="aggregate",
            )
            await backend.outbox.get_stats()
            print("ready", flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            while True:
                result = await relay.run_once()
                if result.claimed == 0:
                    if (await backend.outbox.get_stats()).pending_count == 0:
                        break
                    await asyncio.sleep(0.005)  # the others hold the rest: poll again
    finally:
        os.close(fd)


if __name__ == "__main__":
    asyncio.run(_child(*sys.argv[1:4]))
