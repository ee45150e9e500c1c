"""Unusable databases and bad configuration give clear, typed errors naming the path."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from uuid import uuid4

import pytest

from eventsource import (
    ConfigurationError,
    InvalidBackendURLError,
    StorageError,
    StorageUnavailableError,
    open_backend,
)
from eventsource_sqlite import SQLiteEventStore

from ._events import noted


async def test_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "dir" / "events.db"
    store = SQLiteEventStore(path)
    with pytest.raises(StorageUnavailableError, match="does not exist") as info:
        await store.connect()
    assert str(path) in str(info.value)
    assert not (tmp_path / "no").exists()


async def test_a_directory_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(StorageUnavailableError, match="is a directory") as info:
        await SQLiteEventStore(tmp_path).connect()
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize(
    "content",
    [b"this is a text file, not a database\n" * 200, b"SQLite format 3\x00" + b"\xff" * 4080],
    ids=["text", "damaged-header"],
)
async def test_corrupt_or_foreign_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(content)
    store = SQLiteEventStore(path)
    with pytest.raises(StorageUnavailableError, match="not a SQLite database or is corrupt") as e:
        await store.connect()
        await store.initialize()
    assert str(path) in str(e.value)
    await store.close()
    assert path.read_bytes() == content  # nothing was written into it


async def _file_with_one_event(path: Path) -> None:
    async with SQLiteEventStore(path) as store:
        await store.initialize()
        aid = uuid4()
        await store.append_events(aid, "Note", [noted(aid)], 0)


async def test_read_only_database_reads_but_refuses_writes(tmp_path: Path) -> None:
    """``read_only`` opens the file with SQLite's ``mode=ro``: what a deployment that must not
    write (a replica copy, an audit tool) uses. Root can write any file, so a chmod proves
    nothing here; the read-only connection is enforced by SQLite itself."""
    path = tmp_path / "ro.db"
    await _file_with_one_event(path)
    before = path.read_bytes()
    async with open_backend(f"sqlite:///{path}?read_only=true") as backend:
        store = backend.events
        assert await store.get_global_position() == 1
        assert [e.global_position async for e in store.read_all()] == [1]
        aid = uuid4()
        with pytest.raises(StorageUnavailableError, match="read-only") as info:
            await store.append_events(aid, "Note", [noted(aid)], 0)
        assert str(path) in str(info.value)
        with pytest.raises(StorageUnavailableError, match="read-only"):
            await backend.checkpoints.update_checkpoint("P", aid, "SqlNoted", 1)
        assert await store.get_global_position() == 1
    assert path.read_bytes() == before


@pytest.mark.parametrize("query", ["", "?cache=private", "?mode=rw"])
async def test_read_only_also_holds_for_a_file_uri(tmp_path: Path, query: str) -> None:
    """``read_only`` is not dropped when the database is given as a ``file:`` URI (it wins
    over a ``mode`` the URI names)."""
    path = tmp_path / "ro-uri.db"
    await _file_with_one_event(path)
    before = path.read_bytes()
    async with SQLiteEventStore(f"file:{path}{query}", read_only=True) as store:
        assert await store.get_global_position() == 1
        aid = uuid4()
        with pytest.raises(StorageUnavailableError, match="read-only"):
            await store.append_events(aid, "Note", [noted(aid)], 0)
    async with open_backend(f"sqlite:///file:{path}?read_only=true") as backend:
        with pytest.raises(StorageUnavailableError, match="read-only"):
            await backend.events.append_events(aid, "Note", [noted(aid)], 0)
    assert path.read_bytes() == before


async def test_read_only_database_without_schema(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    store = SQLiteEventStore(path, read_only=True)
    await store.connect()
    try:
        with pytest.raises(StorageUnavailableError, match="read-only") as info:
            await store.initialize()
        assert str(path) in str(info.value)
    finally:
        await store.close()


async def test_read_only_needs_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.db"
    with pytest.raises(StorageUnavailableError, match="cannot open") as info:
        await SQLiteEventStore(path, read_only=True).connect()
    assert str(path) in str(info.value)
    assert not path.exists()


def test_storage_errors_are_in_the_tree() -> None:
    assert issubclass(StorageUnavailableError, StorageError)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///x.db?wal=1", "unknown option"),
        ("sqlite:///x.db?busy_timeout=soon", "busy_timeout"),
        ("sqlite:///x.db?busy_timeout=-1", "busy_timeout"),
        ("sqlite:///x.db?synchronous=SOMETIMES", "synchronous"),
        ("sqlite:///x.db?wal_mode=perhaps", "wal_mode"),
        ("sqlite://somehost/x.db", "no host"),
    ],
)
def test_bad_url_options(url: str, message: str) -> None:
    with pytest.raises(InvalidBackendURLError, match=message):
        open_backend(url)


def test_bad_constructor_arguments() -> None:
    with pytest.raises(ConfigurationError, match="synchronous"):
        SQLiteEventStore("x.db", synchronous="SOMETIMES")
    with pytest.raises(ConfigurationError, match="busy_timeout"):
        SQLiteEventStore("x.db", busy_timeout=-5)


async def test_url_options_reach_the_connection(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/o.db?wal_mode=false&busy_timeout=1234&synchronous=FULL"
    async with open_backend(url) as backend:
        conn = backend.events.connection  # type: ignore[attr-defined]
        pragmas = {}
        for name in ("journal_mode", "busy_timeout", "synchronous"):
            row = await (await conn.execute(f"PRAGMA {name}")).fetchone()
            pragmas[name] = row[0]
    assert pragmas == {"journal_mode": "delete", "busy_timeout": 1234, "synchronous": 2}
    async with open_backend(f"sqlite:///{tmp_path}/d.db") as backend:
        conn = backend.events.connection  # type: ignore[attr-defined]
        mode = await (await conn.execute("PRAGMA journal_mode")).fetchone()
        sync = await (await conn.execute("PRAGMA synchronous")).fetchone()
    assert (mode[0], sync[0]) == ("wal", 1)  # WAL, synchronous=NORMAL by default


async def test_relative_paths_resolve_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    async with open_backend("sqlite:///rel.db") as backend:
        aid = uuid4()
        await backend.events.append_events(aid, "Note", [noted(aid)], 0)
    assert (tmp_path / "rel.db").exists()
    async with open_backend(f"sqlite:///{tmp_path / 'rel.db'}") as backend:
        assert await backend.events.get_global_position() == 1


async def test_concurrent_connects_open_one_connection(tmp_path: Path) -> None:
    """Two tasks connecting one store at once share one connection (none is leaked)."""
    import gc
    import warnings

    store = SQLiteEventStore(str(tmp_path / "twice.db"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await asyncio.gather(store.connect(), store.connect(), store.connect())
        first = store.connection
        await store.connect()
        assert store.connection is first
        await store.close()
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
