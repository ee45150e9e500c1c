"""A writer process for :class:`ProcessConcurrencyConformance` (``python -m`` this module).

``tail URL INDEX COUNT``: append COUNT events to a stream of its own, 1-3 per append with exact
expected versions, then print their ids. ``contest URL STREAM ROUNDS``: per round r append one
event to STREAM expecting version r and one with ANY to the stream after it; print the versions
won. ``retry URL STREAM ROUNDS``: per round r append to STREAM the same two events as every
other process (ids derived from STREAM and r) expecting version 2r; print each result. Each
prints ``ready`` once open and starts when a line arrives on stdin.
"""

from __future__ import annotations

import asyncio
import random
import sys
from uuid import UUID, uuid4

from .._exceptions import OptimisticLockError
from ..plugins._backend import open_backend
from ..stores._types import ExpectedVersion
from ._events import AGGREGATE_TYPE, noted, retry_batch


async def _main(argv: list[str]) -> None:
    mode, url, arg, count = argv
    async with open_backend(url) as backend:
        await backend.events.get_global_position()  # connected before the start
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        events = backend.events
        if mode == "tail":
            rng = random.Random(arg)
            aid, version, total = uuid4(), 0, int(count)
            while version < total:
                size = min(rng.randint(1, 3), total - version)
                batch = noted(aid, size, prefix=f"p{arg}-{version}-")
                await events.append_events(aid, AGGREGATE_TYPE, batch, version)
                version += size
                for event in batch:
                    print(event.event_id, flush=True)
        elif mode == "retry":
            aid = UUID(arg)
            for r in range(int(count)):
                batch = retry_batch(aid, r)
                result = await events.append_events(aid, AGGREGATE_TYPE, batch, 2 * r)
                print(
                    f"{result.new_version}/{result.global_position}/{result.events_written}",
                    flush=True,
                )
        else:
            contested = UUID(arg)
            shared = UUID(int=contested.int ^ 1)
            for r in range(int(count)):
                try:
                    await events.append_events(
                        contested, AGGREGATE_TYPE, noted(contested, 1, prefix=f"r{r}-"), r
                    )
                    print(r + 1, flush=True)
                except OptimisticLockError:
                    pass
                await events.append_events(
                    shared, AGGREGATE_TYPE, noted(shared, 1), ExpectedVersion.ANY
                )
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(_main(sys.argv[1:]))
