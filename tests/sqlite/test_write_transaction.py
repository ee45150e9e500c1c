"""write_transaction on a real SQLite file: commit, rollback, the savepoint inside a caller's
transaction, and the process's writer lock released on every way out."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from eventsource_sqlite._tx import SharedFile, write_transaction


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=0)
    conn.execute("CREATE TABLE IF NOT EXISTS t (v INTEGER)")
    return conn


def _values(conn: sqlite3.Connection) -> list[int]:
    return [row[0] for row in conn.execute("SELECT v FROM t ORDER BY v")]


def test_own_transaction_commits_or_rolls_back_and_frees_the_lock(tmp_path: Path) -> None:
    conn = _connect(tmp_path / "w.db")
    shared = SharedFile()
    with write_transaction(conn, shared, 100) as own:
        assert own is True
        assert conn.in_transaction
        conn.execute("INSERT INTO t VALUES (1)")
    assert not conn.in_transaction
    with pytest.raises(RuntimeError), write_transaction(conn, shared, 100):
        conn.execute("INSERT INTO t VALUES (2)")
        raise RuntimeError("boom")
    assert not conn.in_transaction
    assert _values(conn) == [1]
    assert shared.write_lock.acquire(timeout=0)  # released both times
    shared.write_lock.release()


def test_a_failed_begin_frees_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    holder, conn = _connect(path), _connect(path)
    holder.execute("BEGIN IMMEDIATE")  # another connection holds SQLite's write lock
    shared = SharedFile()
    with pytest.raises(sqlite3.OperationalError), write_transaction(conn, shared, 100):
        pytest.fail("the body must not run")
    assert shared.write_lock.acquire(timeout=0)
    shared.write_lock.release()
    holder.rollback()


def test_inside_a_callers_transaction_only_the_body_is_undone(tmp_path: Path) -> None:
    conn = _connect(tmp_path / "w.db")
    conn.execute("BEGIN")
    conn.execute("INSERT INTO t VALUES (1)")
    with write_transaction(conn) as own:
        assert own is False
        conn.execute("INSERT INTO t VALUES (2)")
    with pytest.raises(RuntimeError), write_transaction(conn):
        conn.execute("INSERT INTO t VALUES (3)")
        raise RuntimeError("boom")
    assert conn.in_transaction  # nothing committed: the caller's transaction is still open
    assert _values(conn) == [1, 2]
    conn.rollback()
    assert _values(conn) == []


def test_writers_of_one_process_queue_on_the_lock(tmp_path: Path) -> None:
    conn = _connect(tmp_path / "w.db")
    shared = SharedFile()
    assert shared.write_lock.acquire(timeout=0)  # another writer of this process is in
    try:
        with (
            pytest.raises(sqlite3.OperationalError, match="busy_timeout=10"),
            write_transaction(conn, shared, 10, "w.db"),
        ):
            pytest.fail("the body must not run")
        assert not conn.in_transaction
    finally:
        shared.write_lock.release()
