"""SQLiteProjection: a read model in SQLite fed exactly once (change and position in one
transaction); parked events, DLQ replay, rebuild, and a read model beside any backend.
SIGKILL tests: test_crash.py."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from uuid import uuid4

import pytest

from eventsource import Backend, DomainEvent, StorageUnavailableError, open_backend
from eventsource.runtime import PositionTrackingProjection, ProjectionRunner, RetryPolicy

from ._events import RtItemAdded, RtNoteWritten, append_items

pytest.importorskip("eventsource_sqlite")

from eventsource_sqlite import SQLiteProjection


class Items(SQLiteProjection):
    """One row per item, at the position it was applied at (None: replayed)."""

    name = "rttest.items"
    event_types = ("rttest.ItemAdded",)

    def __init__(self, database: str | Path) -> None:
        super().__init__(database)
        self.fail_on: int | None = None

    def setup(self, conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS items (n INTEGER PRIMARY KEY, position INTEGER)")

    def apply(
        self, conn: sqlite3.Connection, event: DomainEvent, global_position: int | None
    ) -> None:
        assert isinstance(event, RtItemAdded)
        conn.execute("INSERT INTO items (n, position) VALUES (?, ?)", (event.n, global_position))
        if event.n == self.fail_on:
            raise ValueError("bad item")  # after the INSERT: the transaction must roll back

    def clear(self, conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM items")


def rows(db: Path) -> list[tuple[int, int | None]]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT n, position FROM items ORDER BY n").fetchall()


async def test_a_parked_event_is_passed_and_replayed_once(tmp_path: Path) -> None:
    db = tmp_path / "events.db"  # read model in the event store's own file
    async with open_backend(f"sqlite:///{db}") as backend, Items(db) as items:
        assert isinstance(items, PositionTrackingProjection)
        await append_items(backend.events, 10)
        items.fail_on = 9  # the last event fails: parked
        runner = ProjectionRunner.from_backend(items, backend, retry=RetryPolicy.no_retry())
        assert await runner.catch_up() == 9
        assert rows(db) == [(n, n + 1) for n in range(9)]  # the failed apply rolled back
        # The runner moved the projection's position past the parked event (store_position):
        # a restart does not deliver it again, even now that it would succeed.
        assert await items.load_position() == 10
        items.fail_on = None
        assert await ProjectionRunner.from_backend(items, backend).catch_up() == 0
        # The replay applies it once, without moving the position.
        [result] = await runner.replay_all()
        assert result.ok
        assert rows(db) == [(n, n + 1) for n in range(9)] + [(9, None)]
        assert await items.load_position() == 10
        assert await backend.checkpoints.get_checkpoint_data(items.name) is None


async def test_an_event_at_or_below_the_position_is_skipped(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    async with open_backend(f"sqlite:///{db}") as backend, Items(db) as items:
        await append_items(backend.events, 3)
        await ProjectionRunner.from_backend(items, backend).catch_up()
        event = RtItemAdded(aggregate_id=uuid4(), n=1)
        await items.handle_at(event, 2)  # e.g. a second runner of the same projection
        assert items.skipped == 1
        assert rows(db) == [(0, 1), (1, 2), (2, 3)]
        await items.handle(RtItemAdded(aggregate_id=uuid4(), n=7))  # applied, position kept
        assert await items.load_position() == 3
        assert rows(db)[-1] == (7, None)


async def test_rebuild_clears_the_read_model_and_the_position(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    async with open_backend(f"sqlite:///{db}") as backend, Items(db) as items:
        await append_items(backend.events, 5)
        runner = ProjectionRunner.from_backend(items, backend)
        await runner.catch_up()
        await items.handle(RtItemAdded(aggregate_id=uuid4(), n=99))
        assert await runner.rebuild() == 5
        assert rows(db) == [(n, n + 1) for n in range(5)]
        assert await items.load_position() == 5


async def test_a_read_model_file_beside_any_backend(backend: Backend, tmp_path: Path) -> None:
    await append_items(backend.events, 20)
    agg = uuid4()
    await backend.events.append_events(agg, "rttest.Cart", [RtNoteWritten(aggregate_id=agg)], 0)
    read = tmp_path / "read.db"
    async with Items(read) as items:
        assert await ProjectionRunner.from_backend(items, backend).catch_up() == 20
        assert await items.load_position() == 20  # the note at 21 is not the projection's
    async with Items(read) as items:  # reopened: position and rows kept
        assert await ProjectionRunner.from_backend(items, backend).catch_up() == 0
        assert len(rows(read)) == 20


async def test_it_must_be_opened(tmp_path: Path) -> None:
    items = Items(tmp_path / "read.db")
    with pytest.raises(StorageUnavailableError, match="not open"):
        await items.load_position()
    async with items:
        assert await items.load_position() == 0
    await items.close()  # idempotent
