"""Child process of the exactly-once SIGKILL tests: a runner feeding a SQLiteProjection whose
read model (table ``handled``) lives in the event store's own SQLite file.

Usage: python _exact_child.py DB (run|catchup) [KILL_AT (in-tx|after-commit)]

With KILL_AT the process SIGKILLs itself at the event with ``n == KILL_AT``: inside its
transaction (after the INSERT, before COMMIT) or just after the transaction committed. Any
handler error stops the runner (no retries, nothing parked), so a repeated event (primary key
violation) makes the process exit with an error. ``catchup`` prints
``caught-up POSITION HANDLED SKIPPED``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys

from eventsource import DomainEvent, open_backend
from eventsource.runtime import FailureMode, ProjectionRunner, RetryPolicy
from eventsource_sqlite import SQLiteProjection


class RtItemAdded(DomainEvent):
    """The parent's event type, declared again in this process."""

    event_type: str = "rttest.ItemAdded"
    n: int


class Handled(SQLiteProjection):
    """One row per event applied; a second apply of an event violates the primary key."""

    name = "rttest.exact"
    event_types = ("rttest.ItemAdded",)
    kill_at: int | None = None
    kill_where = ""

    def setup(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS handled ("
            " event_id TEXT PRIMARY KEY, n INTEGER NOT NULL, seq INTEGER NOT NULL)"
        )

    def apply(
        self, conn: sqlite3.Connection, event: DomainEvent, global_position: int | None
    ) -> None:
        assert isinstance(event, RtItemAdded) and global_position is not None
        conn.execute(
            "INSERT INTO handled (event_id, n, seq) VALUES (?, ?, ?)",
            (str(event.event_id), event.n, global_position),
        )
        if event.n == self.kill_at and self.kill_where == "in-tx":
            os.kill(os.getpid(), signal.SIGKILL)

    async def handle_at(self, event: DomainEvent, global_position: int | None) -> None:
        await super().handle_at(event, global_position)
        if self.kill_where == "after-commit" and getattr(event, "n", None) == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)


async def main(db: str, mode: str, kill: list[str]) -> None:
    async with open_backend(f"sqlite:///{db}") as backend, Handled(db) as handled:
        if kill:
            handled.kill_at, handled.kill_where = int(kill[0]), kill[1]
        runner = ProjectionRunner.from_backend(
            handled, backend, retry=RetryPolicy.no_retry(FailureMode.STOP)
        )
        if mode == "catchup":
            count = await runner.catch_up()
            print("caught-up", runner.position, count, handled.skipped, flush=True)
            return
        print("running", flush=True)
        await runner.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
