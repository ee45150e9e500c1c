"""Recognising a file written by eventsource-py 0.5.0 (or one whose conversion is unfinished).

0.5.0's tables have the names of ours (``events``, ``event_outbox``, ...) with other columns:
its ``events`` has ``version`` where ours has ``aggregate_version``, and no
``eventsource_schema`` table. A conversion renames them ``legacy050_*`` and marks itself in
``eventsource_legacy_upgrade`` until it has finished.
"""

from __future__ import annotations

import sqlite3

from eventsource.spi import LegacyState, legacy_schema_error

__all__ = ["LEGACY_PREFIX", "LEGACY_TABLE_NAMES", "MARK_TABLE", "legacy_state", "refuse_legacy"]

#: What a conversion renames 0.5.0's tables to: ``legacy050_events``, ...
LEGACY_PREFIX = "legacy050_"
#: 0.5.0's tables (snapshots are moved aside, not converted).
LEGACY_TABLE_NAMES = (
    "events",
    "event_outbox",
    "projection_checkpoints",
    "dead_letter_queue",
    "snapshots",
)
#: The table that marks a conversion in progress.
MARK_TABLE = "eventsource_legacy_upgrade"


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}


def legacy_state(conn: sqlite3.Connection) -> LegacyState:
    """What the file holds, as far as a conversion is concerned (only reads)."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if MARK_TABLE in tables:
        return LegacyState.CONVERTING
    if "eventsource_schema" in tables:
        return LegacyState.CURRENT
    if "events" in tables:
        columns = _columns(conn, "events")
        if {"version", "timestamp", "payload"} <= columns and "aggregate_version" not in columns:
            return LegacyState.LEGACY
    return LegacyState.EMPTY  # nothing of either release (or tables of neither)


def sqlite_url(path: str) -> str:
    """The ``sqlite://`` URL of ``path`` (relative or absolute)."""
    return f"sqlite:///{path}"


def refuse_legacy(conn: sqlite3.Connection, path: str) -> None:
    """Raise :class:`~eventsource.LegacySchemaError` for a 0.5.0 file or an unfinished
    conversion; return for anything else."""
    state = legacy_state(conn)
    if state in (LegacyState.LEGACY, LegacyState.CONVERTING):
        raise legacy_schema_error(
            f"SQLite database {path}",
            sqlite_url(path),
            converting=state is LegacyState.CONVERTING,
        )
