"""SQLite errors translated into eventsource's typed errors, naming the database path."""

from __future__ import annotations

import sqlite3

from eventsource.spi import (
    DatabaseLockedError,
    StorageError,
    StorageUnavailableError,
)

__all__ = ["SQLiteDatabaseLockedError", "translate_error"]


class SQLiteDatabaseLockedError(DatabaseLockedError, sqlite3.OperationalError):
    """The write lock was not had within ``busy_timeout``.

    Also a :class:`sqlite3.OperationalError` (= ``aiosqlite.OperationalError``) whose message
    contains "database is locked", so handlers written against the driver keep working.
    """


_LOCKED = {"SQLITE_BUSY", "SQLITE_LOCKED"}
_READONLY = "SQLITE_READONLY"
_CANTOPEN = "SQLITE_CANTOPEN"
_CORRUPT = {"SQLITE_NOTADB", "SQLITE_CORRUPT"}


def _code(exc: sqlite3.Error) -> str:
    """The primary result code's name (``SQLITE_BUSY`` for ``SQLITE_BUSY_SNAPSHOT``)."""
    name = getattr(exc, "sqlite_errorname", None) or ""
    return "_".join(name.split("_")[:2])


def translate_error(exc: sqlite3.Error, path: str) -> StorageError:
    """The eventsource error for a driver error raised while using the database at ``path``."""
    code = _code(exc)
    text = str(exc)
    if code in _LOCKED or "database is locked" in text or "is locked" in text:
        return SQLiteDatabaseLockedError(
            f"database is locked: {path} (another writer held it past busy_timeout)"
        )
    if code == _READONLY or "readonly database" in text:
        return StorageUnavailableError(f"SQLite database {path} is read-only: {text}")
    if code == _CANTOPEN or "unable to open database" in text:
        return StorageUnavailableError(f"cannot open SQLite database {path}: {text}")
    if code in _CORRUPT or "not a database" in text or "malformed" in text:
        return StorageUnavailableError(f"{path} is not a SQLite database or is corrupt: {text}")
    return StorageError(f"SQLite error on {path}: {text}")
