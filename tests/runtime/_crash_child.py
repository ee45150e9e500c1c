"""Child process of the SIGKILL test: runs a projection over a SQLite file and records every
event it handles in a log file, written unbuffered before the runner checkpoints.

Usage: python _crash_child.py DB LOG (run|catchup)
"""

from __future__ import annotations

import asyncio
import os
import sys

from eventsource import DomainEvent, open_backend
from eventsource.runtime import ProjectionRunner, projection


class RtItemAdded(DomainEvent):
    """The parent's event type, declared again in this process."""

    event_type: str = "rttest.ItemAdded"
    n: int


async def main(db: str, log_path: str, mode: str) -> None:
    fd = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    async def record(event: DomainEvent) -> None:
        assert isinstance(event, RtItemAdded)
        os.write(fd, f"{event.n}\n".encode())

    async with open_backend(f"sqlite:///{db}") as backend:
        runner = ProjectionRunner.from_backend(
            projection("rttest.crash", record, [RtItemAdded]), backend, checkpoint_every=50
        )
        if mode == "catchup":
            await runner.catch_up()
            print("caught-up", runner.position, flush=True)
            return
        print("running", flush=True)
        await runner.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
