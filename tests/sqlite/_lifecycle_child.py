"""A saver process for the delete race: ``python _lifecycle_child.py PATH AGGREGATE_ID``.

Appends one event at a time (ANY) to the stream, printing ``ok`` after each acknowledged
append, until the stream is deleted: then prints ``refused`` and exits (at most 5,000 appends).
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from uuid import UUID

sys.path.insert(0, str(Path(__file__).parent))

from _events import noted

from eventsource import StreamDeletedError
from eventsource_sqlite import SQLiteEventStore


async def save(path: str, aggregate_id: UUID) -> None:
    async with SQLiteEventStore(path, busy_timeout=20000) as store:
        for _ in range(5000):
            try:
                await store.append_events(aggregate_id, "Race", [noted(aggregate_id)], -1)
            except StreamDeletedError:
                print("refused", flush=True)
                return
            print("ok", flush=True)
    print("never refused", flush=True)


if __name__ == "__main__":
    asyncio.run(save(sys.argv[1], UUID(sys.argv[2])))
