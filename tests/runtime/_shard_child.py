"""Child process of the shard tests: one :class:`ShardedRunner` worker of ``rttest.shards``
(4 shards, default ownership settings, owner id ``child-PID``).

Usage: python _shard_child.py URL DIR

Every delivery appends ``shard stream n time`` to ``DIR/deliveries-PID.txt`` (line-buffered,
so a SIGKILL loses no line written); ~2 ms of awaited I/O per event. SIGTERM stops the worker
gracefully (its shards checkpointed and released). Prints ``ready`` once started.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import TextIO

from eventsource import DomainEvent, open_backend
from eventsource.runtime import Ownership, Projection, ShardedRunner, current_shard, handles

NAME = "rttest.shards"
SHARDS = 4


class RtItemAdded(DomainEvent):
    """The parent's event type, declared again in this process."""

    event_type: str = "rttest.ItemAdded"
    n: int


class Logged(Projection):
    """At-least-once: records every delivery with its shard."""

    name = NAME

    def __init__(self, out: TextIO) -> None:
        self.out = out

    @handles(RtItemAdded)
    async def on_item(self, event: RtItemAdded) -> None:
        await asyncio.sleep(0.002)
        shard = current_shard()
        index = -1 if shard is None else shard.index
        self.out.write(f"{index} {event.aggregate_id} {event.n} {time.time():.6f}\n")


async def main(url: str, out: TextIO) -> None:
    async with open_backend(url) as backend:
        worker = ShardedRunner.from_backend(
            Logged(out),
            backend,
            shards=SHARDS,
            ownership=Ownership(owner_id=f"child-{os.getpid()}"),
        )
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, worker.request_stop)
        task = worker.start()
        print("ready", flush=True)
        await task


if __name__ == "__main__":
    with open(Path(sys.argv[2]) / f"deliveries-{os.getpid()}.txt", "a", buffering=1) as log:
        asyncio.run(main(sys.argv[1], log))
