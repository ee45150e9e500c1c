"""A writer process for the crash and multi-process tests: ``python _child.py MODE PATH N``.

``crash``: appends batches of three events to new streams forever, printing
``<aggregate_id> <global_position>`` after each append returned (= committed).
``race``: N rounds of contending for one stream at an exact expected version and appending to
a shared stream with ANY; prints ``wins losses`` at the end.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _events import CONTESTED, SHARED, noted

from eventsource import OptimisticLockError
from eventsource_sqlite import SQLiteEventStore


async def crash(path: str) -> None:
    from uuid import uuid4

    async with SQLiteEventStore(path) as store:
        await store.initialize()
        print("ready", flush=True)
        while True:
            aid = uuid4()
            events = [noted(aid, n=i) for i in range(3)]
            result = await store.append_events(aid, "Crash", events, 0, outbox=True)
            print(aid, result.global_position, flush=True)


async def race(path: str, rounds: int) -> None:
    wins = losses = 0
    async with SQLiteEventStore(path, busy_timeout=20000) as store:
        await store.initialize()
        print("ready", flush=True)
        sys.stdin.readline()  # start together
        for _ in range(rounds):
            version = await store.get_stream_version(CONTESTED, "Race")
            try:
                await store.append_events(CONTESTED, "Race", [noted(CONTESTED)], version)
                wins += 1
            except OptimisticLockError:
                losses += 1
            await store.append_events(SHARED, "Race", [noted(SHARED)], -1)
    print(wins, losses, flush=True)


if __name__ == "__main__":
    mode, db = sys.argv[1], sys.argv[2]
    if mode == "crash":
        asyncio.run(crash(db))
    else:
        asyncio.run(race(db, int(sys.argv[3])))
