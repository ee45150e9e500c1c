"""SQLite ownership leases: the table added within schema version 1, on files of earlier
releases, and read-only connections."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from eventsource import open_backend
from eventsource.spi import ProjectionLeases


async def test_a_file_without_the_lease_table_gets_it_on_open(tmp_path: Path) -> None:
    db = tmp_path / "older.db"
    async with open_backend(f"sqlite:///{db}"):
        pass
    with sqlite3.connect(db) as raw:  # as a file written by a release before leases
        raw.execute("DROP TABLE projection_leases")
    async with open_backend(f"sqlite:///{db}") as backend:
        repo = backend.checkpoints
        assert isinstance(repo, ProjectionLeases)
        assert await repo.get_leases() == []
        lease = await repo.acquire_lease("p", "owner-a", timedelta(seconds=5))
        assert lease is not None and lease.token == 1
        assert [x.owner_id for x in await repo.get_leases()] == ["owner-a"]


async def test_a_read_only_connection_to_an_older_file_lists_no_owners(tmp_path: Path) -> None:
    db = tmp_path / "older.db"
    async with open_backend(f"sqlite:///{db}"):
        pass
    with sqlite3.connect(db) as raw:
        raw.execute("DROP TABLE projection_leases")
    async with open_backend(f"sqlite:///{db}?read_only=true", create=False) as backend:
        repo = backend.checkpoints
        assert isinstance(repo, ProjectionLeases)
        assert await repo.get_leases() == []
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA table_info(projection_leases)").fetchone() is None
