"""Child process of the ownership tests: one runner of the projection ``rttest.owned``.

Usage: python _owner_child.py URL DIR (log|exact)

Every delivery appends ``n wall_time`` to ``DIR/deliveries-PID.txt`` (line-buffered, so a
SIGKILL loses no line written). In ``exact`` mode the line is written before the read model's
transaction: an owner killed between that commit and a line written after it would hide an
event it applied, which its successor rightly never delivers again. ``exact`` also applies
each event exactly once to a read model in the store's own database (table ``handled``,
primary key ``n``), fenced by the lease token: SQLite through ``SQLiteProjection``;
PostgreSQL through the small fenced projection below.
Default ownership settings; the owner id is ``child-PID``. SIGTERM stops the runner gracefully
(its lease is released). Prints ``ready`` once the runner is started.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from eventsource import DomainEvent, OwnershipLostError, open_backend
from eventsource.runtime import Ownership, Projection, ProjectionRunner, handles

NAME = "rttest.owned"


class RtItemAdded(DomainEvent):
    """The parent's event type, declared again in this process."""

    event_type: str = "rttest.ItemAdded"
    n: int


def _record(out: TextIO, event: DomainEvent) -> None:
    out.write(f"{getattr(event, 'n', -1)} {time.time():.6f}\n")


class Logged(Projection):
    """At-least-once: records every delivery; ~2 ms of awaited I/O per event."""

    name = NAME

    def __init__(self, out: TextIO) -> None:
        self.out = out

    @handles(RtItemAdded)
    async def on_item(self, event: RtItemAdded) -> None:
        await asyncio.sleep(0.002)
        _record(self.out, event)


def sqlite_exact(database: str, out: TextIO) -> Any:
    from eventsource_sqlite import SQLiteProjection

    class Exact(SQLiteProjection):
        name = NAME
        event_types = ("rttest.ItemAdded",)

        def setup(self, conn: sqlite3.Connection) -> None:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS handled (n INTEGER PRIMARY KEY, pid INTEGER NOT NULL)"
            )

        def apply(
            self, conn: sqlite3.Connection, event: DomainEvent, global_position: int | None
        ) -> None:
            conn.execute("INSERT INTO handled (n, pid) VALUES (?, ?)", (event.n, os.getpid()))  # type: ignore[attr-defined]

        async def handle_at(self, event: DomainEvent, global_position: int | None) -> None:
            await asyncio.sleep(0.002)
            _record(out, event)  # before the commit: a SIGKILL after it must not hide a delivery
            await super().handle_at(event, global_position)

    return Exact(database)


class PostgresExact:
    """A fenced exactly-once projection into PostgreSQL: the row, the position and the fence
    check in one transaction (the lease token recorded in ``exact_positions.fence``)."""

    name = NAME
    event_types = ("rttest.ItemAdded",)

    def __init__(self, url: str, schema: str, out: TextIO) -> None:
        self.url, self.schema, self.out = url, schema, out
        self.token = 0
        self.conn: Any = None

    async def open(self) -> None:
        import asyncpg

        self.conn = await asyncpg.connect(self.url.split("?")[0])
        s = f'"{self.schema}"'
        await self.conn.execute(
            f"CREATE TABLE IF NOT EXISTS {s}.handled (n int PRIMARY KEY, pid int NOT NULL);"
            f"CREATE TABLE IF NOT EXISTS {s}.exact_positions (name text PRIMARY KEY,"
            " position bigint NOT NULL, fence bigint NOT NULL)"
        )

    async def fence(self, token: int) -> None:
        s = f'"{self.schema}"'
        async with self.conn.transaction():
            stored = await self.conn.fetchval(
                f"INSERT INTO {s}.exact_positions VALUES ($1, 0, $2) ON CONFLICT (name) DO"
                f" UPDATE SET fence = greatest({s}.exact_positions.fence, $2) RETURNING fence",
                self.name,
                token,
            )
            if stored != token:
                raise OwnershipLostError(self.name, token, stored)
        self.token = token

    async def load_position(self) -> int:
        s = f'"{self.schema}"'
        value = await self.conn.fetchval(
            f"SELECT position FROM {s}.exact_positions WHERE name = $1", self.name
        )
        return int(value or 0)

    async def handle_at(self, event: DomainEvent, global_position: int | None) -> None:
        await asyncio.sleep(0.002)
        _record(self.out, event)  # before the commit (see sqlite_exact)
        s = f'"{self.schema}"'
        async with self.conn.transaction():
            row = await self.conn.fetchrow(
                f"SELECT position, fence FROM {s}.exact_positions WHERE name = $1 FOR UPDATE",
                self.name,
            )
            if row["fence"] > self.token:
                raise OwnershipLostError(self.name, self.token, row["fence"])
            if global_position is not None and global_position <= row["position"]:
                return
            await self.conn.execute(
                f"INSERT INTO {s}.handled VALUES ($1, $2)",
                event.n,  # type: ignore[attr-defined]
                os.getpid(),
            )
            if global_position is not None:
                await self.conn.execute(
                    f"UPDATE {s}.exact_positions SET position = $2 WHERE name = $1",
                    self.name,
                    global_position,
                )

    async def handle(self, event: DomainEvent) -> None:
        await self.handle_at(event, None)

    async def close(self) -> None:
        await self.conn.close()


async def main(url: str, mode: str, out: TextIO) -> None:
    async with open_backend(url) as backend:
        projection: Any
        if mode == "log":
            projection = Logged(out)
        elif url.startswith("sqlite"):
            projection = await sqlite_exact(url.removeprefix("sqlite:///"), out).open()
        else:
            schema = url.split("schema=")[1].split("&")[0]
            projection = PostgresExact(url, schema, out)
            await projection.open()
        runner = ProjectionRunner.from_backend(
            projection, backend, ownership=Ownership(owner_id=f"child-{os.getpid()}")
        )
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, runner.request_stop)
        task = runner.start()
        print("ready", flush=True)
        try:
            await task
        finally:
            close = getattr(projection, "close", None)
            if close is not None:
                await close()


if __name__ == "__main__":
    with open(Path(sys.argv[2]) / f"deliveries-{os.getpid()}.txt", "a", buffering=1) as log:
        asyncio.run(main(sys.argv[1], sys.argv[3], log))
