"""Opening a SQLite store without creating it: a missing or foreign file is refused as it is."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from uuid import uuid4

import pytest

from eventsource import StorageUnavailableError, StoreNotFoundError, open_backend
from eventsource.cli import main
from eventsource_sqlite import SQLiteEventStore

from ._events import noted


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("where", ["missing.db", "no/such/dir/missing.db"])
async def test_a_missing_file_is_not_created(tmp_path: Path, where: str) -> None:
    path = tmp_path / where
    with pytest.raises(StoreNotFoundError, match="no database at") as caught:
        async with open_backend(f"sqlite:///{path}", create=False):
            pass
    assert caught.value.location == str(path) and str(path) in str(caught.value)
    assert _files(tmp_path) == []
    with pytest.raises(StoreNotFoundError):
        await SQLiteEventStore(path).open(create=False)
    assert _files(tmp_path) == []


async def test_a_missing_file_uri_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "uri.db"
    with pytest.raises(StoreNotFoundError) as caught:
        await SQLiteEventStore(f"file:{path}?cache=private").open(create=False)
    assert caught.value.location == str(path)
    assert _files(tmp_path) == []


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite://"])
async def test_memory_database_never_exists(url: str) -> None:
    with pytest.raises(StoreNotFoundError, match="private"):
        async with open_backend(url, create=False):
            pass


async def test_an_empty_file_is_left_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    with pytest.raises(StoreNotFoundError, match="holds no eventsource schema") as caught:
        async with open_backend(f"sqlite:///{path}", create=False):
            pass
    assert caught.value.location == str(path)
    assert path.stat().st_size == 0 and _files(tmp_path) == ["empty.db"]


async def test_a_foreign_database_is_left_unchanged(tmp_path: Path) -> None:
    """Another application's SQLite file: not given our tables, nor switched to WAL."""
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE things (x)")
    before = _digest(path)
    with pytest.raises(StoreNotFoundError, match="holds no eventsource schema"):
        async with open_backend(f"sqlite:///{path}", create=False):
            pass
    assert _digest(path) == before and _files(tmp_path) == ["other.db"]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


async def test_not_a_database_is_still_storage_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"x" * 4096)
    with pytest.raises(StorageUnavailableError) as caught:
        async with open_backend(f"sqlite:///{path}", create=False):
            pass
    assert not isinstance(caught.value, StoreNotFoundError)
    assert path.read_bytes() == b"x" * 4096


@pytest.mark.parametrize("read_only", [False, True])
async def test_an_existing_store_opens(tmp_path: Path, read_only: bool) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    async with open_backend(url) as created:
        aid = uuid4()
        await created.events.append_events(aid, "SqlItem", [noted(aid, 1), noted(aid, 2)], 0)
    suffix = "?read_only=true" if read_only else ""
    async with open_backend(url + suffix, create=False) as existing:
        assert await existing.events.get_global_position() == 2
        assert await existing.checkpoints.get_all_checkpoints() == []


def test_cli_info_on_a_missing_file_creates_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "typo.db"
    for argv in (["info"], ["events", "tail"], ["dlq", "list"], ["outbox", "stats"]):
        code = main(["--url", f"sqlite:///{path}", *argv])
        _, err = capsys.readouterr()
        assert code == 5 and "no database at" in err and "init" in err
    assert _files(tmp_path) == []
    assert main(["--url", f"sqlite:///{path}", "init"]) == 0
    capsys.readouterr()
    assert main(["--url", f"sqlite:///{path}", "info"]) == 0
