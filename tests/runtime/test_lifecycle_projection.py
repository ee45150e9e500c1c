"""A projection reacts to stream deletes: the runner hands it the StreamDeleted system event
in the global order, after the events it already applied, and a resumed runner goes on past
the hole the delete left."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from uuid import uuid4

import pytest

from eventsource import DomainEvent, StreamDeleted, open_backend
from eventsource.runtime import ProjectionRunner

from ._events import RtItemAdded

pytest.importorskip("eventsource_sqlite")

from eventsource_sqlite import SQLiteProjection


class Carts(SQLiteProjection):
    """One row per cart with its item count; a deleted cart's row goes."""

    name = "rttest.carts"
    event_types = ("rttest.ItemAdded", "eventsource.StreamDeleted")

    def setup(self, conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS carts (id TEXT PRIMARY KEY, items INTEGER)")

    def apply(
        self, conn: sqlite3.Connection, event: DomainEvent, global_position: int | None
    ) -> None:
        if isinstance(event, StreamDeleted):
            conn.execute("DELETE FROM carts WHERE id = ?", (str(event.aggregate_id),))
            return
        conn.execute(
            "INSERT INTO carts (id, items) VALUES (?, 1)"
            " ON CONFLICT (id) DO UPDATE SET items = items + 1",
            (str(event.aggregate_id),),
        )

    def clear(self, conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM carts")


def carts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT id, items FROM carts").fetchall())


async def test_projection_drops_a_deleted_stream_and_resumes_past_the_hole(tmp_path: Path) -> None:
    db = tmp_path / "events.db"
    kept, gone = uuid4(), uuid4()
    async with open_backend(f"sqlite:///{db}") as backend, Carts(db) as projection:
        store = backend.events
        for aid in (kept, gone):
            await store.append_events(
                aid, "Cart", [RtItemAdded(aggregate_id=aid, n=i) for i in range(2)], 0
            )
        runner = ProjectionRunner.from_backend(projection, backend)
        await runner.catch_up()
        assert carts(db) == {str(kept): 2, str(gone): 2}
        await store.delete_stream(gone, "Cart", hard=True)
        await store.append_events(kept, "Cart", [RtItemAdded(aggregate_id=kept, n=9)], 2)
        await runner.catch_up()  # resumes from position 4: 3 and 4 are a hole now
        assert carts(db) == {str(kept): 3}
        assert await projection.load_position() == await store.get_global_position() == 6
