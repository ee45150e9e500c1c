"""The aiosqlite internals eventsource_sqlite._driver relies on: present, doing what it needs,
and pinned. If aiosqlite renames one, these fail naming it (and so does the import)."""

from __future__ import annotations

import sqlite3
import threading
from importlib.metadata import requires, version
from pathlib import Path

import aiosqlite
import pytest
from packaging.requirements import Requirement

from eventsource import StorageUnavailableError
from eventsource_sqlite import SQLiteEventStore, _driver
from eventsource_sqlite._tx import run


def test_the_installed_aiosqlite_is_the_pinned_one() -> None:
    pinned = Requirement(_driver.PIN)
    declared = [
        Requirement(r) for r in requires("eventsource-sqlite") or [] if r.startswith("aiosqlite")
    ]
    assert [str(r.specifier) for r in declared] == [str(pinned.specifier)], "pyproject vs _driver"
    assert pinned.specifier.contains(version("aiosqlite")), version("aiosqlite")


def test_every_required_attribute_is_there() -> None:
    _driver.check_driver()  # also run at import
    probe = aiosqlite.Connection(lambda: sqlite3.connect(":memory:"), 64)
    for name in _driver.REQUIRED:
        assert hasattr(probe, name), f"aiosqlite.Connection.{name} is gone: {_driver.REQUIRED}"


def test_a_connection_without_them_is_refused_naming_them() -> None:
    class Renamed(aiosqlite.Connection):
        def __init__(self, connector: object, iter_chunk_size: int) -> None:
            super().__init__(connector, iter_chunk_size)  # type: ignore[arg-type]
            del self._thread

    with pytest.raises(ImportError, match=r"aiosqlite>=0\.22,<0\.23.*lacks _thread"):
        _driver.check_driver(Renamed)


async def test_the_attributes_behave_as_relied_on(tmp_path: Path) -> None:
    conn = aiosqlite.connect(tmp_path / "x.db", isolation_level=None)
    assert _driver.raw_connection(conn) is None  # not open yet
    await conn
    try:
        await _check_open_connection(conn)
    finally:
        await conn.close()
    assert _driver.raw_connection(conn) is None
    await _driver.wait_until_stopped(conn)
    assert not conn._thread.is_alive()
    with pytest.raises(StorageUnavailableError, match="not connected"):
        await run(conn, lambda c: c.execute("SELECT 1"), "x.db")


async def _check_open_connection(conn: aiosqlite.Connection) -> None:
    raw = _driver.raw_connection(conn)
    assert isinstance(raw, sqlite3.Connection)
    worker = conn._thread
    assert isinstance(worker, threading.Thread) and worker.is_alive()

    def where() -> tuple[int | None, int]:
        assert raw is not None
        return threading.get_ident(), raw.execute("SELECT 41 + 1").fetchone()[0]

    ident, answer = await _driver.call_on_thread(conn, where)
    assert (ident, answer) == (worker.ident, 42) and ident != threading.get_ident()
    # queue order: a call queued after an aiosqlite statement sees its effect
    await conn.execute("CREATE TABLE t (x)")
    await conn.execute("INSERT INTO t VALUES (1)")
    assert raw is not None
    count = await _driver.call_on_thread(
        conn, lambda: raw.execute("SELECT COUNT(*) FROM t").fetchone()[0]
    )
    assert count == 1


async def test_a_failed_open_leaves_no_worker_thread(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    store = SQLiteEventStore(str(tmp_path / "missing" / "dir" / "x.db"))
    with pytest.raises(StorageUnavailableError, match=r"x\.db"):
        await store.connect()
    assert {t for t in threading.enumerate() if t.is_alive()} <= before
