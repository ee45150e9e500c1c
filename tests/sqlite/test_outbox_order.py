"""Ordered outbox claims on SQLite: the claim's probe for an earlier pending entry of the
aggregate runs on ``outbox_pending_aggregate``, which a file without it gets on open."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from uuid import uuid4

from eventsource import DomainEvent, open_backend
from eventsource_sqlite._outbox import _CLAIM_ORDERED


class SqlOrderNoted(DomainEvent):
    aggregate_type: str = "SqlOrder"
    n: int


async def test_ordered_claim_uses_the_pending_aggregate_index(tmp_path: Path) -> None:
    path = tmp_path / "order.db"
    async with open_backend(f"sqlite:///{path}") as backend:
        aggregates = [uuid4() for _ in range(30)]
        for n in range(300):
            await backend.outbox.add_event(SqlOrderNoted(aggregate_id=aggregates[n % 30], n=n))
    with sqlite3.connect(path) as db:
        db.execute("ANALYZE")
        rows = db.execute(f"EXPLAIN QUERY PLAN {_CLAIM_ORDERED}", ("w", 1, 0, 0, 10)).fetchall()
    plan = " | ".join(row[3] for row in rows)
    assert "outbox_pending_aggregate" in plan, plan
    for step in plan.split(" | "):
        assert not step.startswith("SCAN") or "USING" in step, plan


async def test_a_file_without_the_index_gets_it_on_open(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'older.db'}"
    async with open_backend(url):
        pass
    with sqlite3.connect(tmp_path / "older.db") as db:
        db.execute("DROP INDEX outbox_pending_aggregate")
    async with open_backend(url) as backend:
        a = uuid4()
        first = await backend.outbox.add_event(SqlOrderNoted(aggregate_id=a, n=1))
        await backend.outbox.add_event(SqlOrderNoted(aggregate_id=a, n=2))
        claimed = await backend.outbox.get_pending_events(5, per_aggregate_order=True)
        assert [entry.id for entry in claimed] == [first]
    with sqlite3.connect(tmp_path / "older.db") as db:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "outbox_pending_aggregate" in names
