"""Converting an eventsource-py 0.5.0 SQLite file in place (the backend side of ``upgrade``).

:meth:`prepare` renames 0.5.0's tables ``legacy050_*`` and creates ours beside them (without
the version row, so the file does not open as a store yet); each :meth:`copy_batch` copies the
rows after the last one copied, in one write transaction; :meth:`finish` drops 0.5.0's tables
and records the schema version, in one transaction. Times (0.5.0: ISO text) become integer
microseconds; each event's payload gets its stored version as ``aggregate_version``.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsource.spi import (
    EventStore,
    InvalidArgumentError,
    LegacyConverter,
    LegacySchemaError,
    LegacyState,
    LegacyStoredEvent,
    StoreNotFoundError,
    legacy_error_type,
    legacy_outbox_id,
    unwrap_outbox_data,
    upgrade_command,
)

from ._legacy import LEGACY_PREFIX, LEGACY_TABLE_NAMES, MARK_TABLE, legacy_state, sqlite_url
from ._schema import create_tables, record_version
from ._store import SQLiteEventStore
from ._tx import now_us, run, to_us, write_transaction

__all__ = ["SQLiteLegacyConverter"]

T = TypeVar("T")

_L = LEGACY_PREFIX
#: Our table of each role, and 0.5.0's (renamed) one.
_TABLES = {
    "events": ("events", f"{_L}events"),
    "checkpoints": ("projection_checkpoints", f"{_L}projection_checkpoints"),
    "outbox": ("event_outbox", f"{_L}event_outbox"),
    "dlq": ("dead_letter_queue", f"{_L}dead_letter_queue"),
}

_INSERT_EVENT = (
    "INSERT INTO events (global_position, event_id, aggregate_id, aggregate_type,"
    " aggregate_version, event_type, event_version, tenant_id, occurred_at, stored_at, payload)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_CHECKPOINT = (
    "INSERT INTO projection_checkpoints (projection_name, last_event_id, last_event_type,"
    " global_position, events_processed, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_OUTBOX = (
    "INSERT INTO event_outbox (seq, id, event_id, event_type, aggregate_id, aggregate_type,"
    " tenant_id, event_data, created_at, status, retry_count, last_error, published_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_DLQ = (
    "INSERT INTO dead_letter_queue (id, event_id, projection_name, event_type, event_data,"
    " error_type, error_message, error_stacktrace, retry_count, first_failed_at,"
    " last_failed_at, status, resolved_at, resolution)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _is_file(path: str) -> bool:
    return os.path.isfile(path)


class SQLiteLegacyConverter(LegacyConverter):
    """Converts the 0.5.0 file of an unconnected :class:`SQLiteEventStore` in place."""

    def __init__(self, store: EventStore) -> None:
        if not isinstance(store, SQLiteEventStore):
            raise InvalidArgumentError(
                f"the SQLite converter needs a SQLiteEventStore, got {type(store).__name__}"
            )
        self._store = store
        self.location = f"SQLite database {store.database}"
        self._url = sqlite_url(store.database)
        self._where = ""  # the row being converted, for the error of a malformed one

    async def connect(self) -> None:
        """Open the file (never create one)."""
        if self._store.is_memory or not _is_file(self._store.database):
            raise StoreNotFoundError(
                f"no {self.location}: the file does not exist (nothing was created)",
                location=self._store.database,
            )
        await self._store.connect()

    async def close(self) -> None:
        """Close the file."""
        await self._store.close()

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await run(self._store.connection, fn, self._store.database)

    async def state(self) -> LegacyState:
        """What the file holds."""
        return await self._run(legacy_state)

    async def prepare(self) -> None:
        """Rename 0.5.0's tables, create ours empty and mark the conversion, atomically."""

        def prepare(conn: sqlite3.Connection) -> None:
            with write_transaction(conn):
                if legacy_state(conn) is not LegacyState.LEGACY:
                    return  # another run prepared it meanwhile
                tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
                for name in LEGACY_TABLE_NAMES:
                    if name in tables:
                        conn.execute(f"ALTER TABLE {name} RENAME TO {_L}{name}")
                create_tables(conn)
                conn.execute(
                    f"CREATE TABLE {MARK_TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1),"
                    " started_at INTEGER NOT NULL)"
                )
                conn.execute(f"INSERT INTO {MARK_TABLE} VALUES (1, ?)", (now_us(),))

        await self._run(prepare)

    async def restart(self) -> None:
        """Delete every row copied so far."""

        def restart(conn: sqlite3.Connection) -> None:
            with write_transaction(conn):
                for ours, _ in _TABLES.values():
                    conn.execute(f"DELETE FROM {ours}")

        await self._run(restart)

    async def copy_batch(self, table: str, limit: int) -> int:
        """Copy the next rows of ``table`` in one write transaction."""
        copy = {
            "events": self._copy_events,
            "checkpoints": self._copy_checkpoints,
            "outbox": self._copy_outbox,
            "dlq": self._copy_dlq,
        }[table]

        def batch(conn: sqlite3.Connection) -> int:
            self._where = f"a row of 0.5.0's {table}"
            try:
                with write_transaction(conn):
                    return copy(conn, limit)
            except (ValueError, TypeError, AttributeError) as exc:  # a row 0.5.0 never wrote
                raise LegacySchemaError(
                    f"{self.location}: the {self._where} cannot be converted ({exc}); fix "
                    "the row and rerun (nothing of this batch was copied)",
                    location=self._store.database,
                    command=upgrade_command(self._url),
                ) from exc

        return await self._run(batch)

    def _time(self, text: Any, what: str) -> int:
        """Microseconds of 0.5.0's ISO text (``datetime('now')``'s form taken as UTC)."""
        try:
            return to_us(datetime.fromisoformat(str(text).replace("Z", "+00:00")))
        except ValueError:
            raise LegacySchemaError(
                f"{self.location}: {what} is {text!r}, not a time; fix the row and rerun",
                location=self._store.database,
                command=upgrade_command(self._url),
            ) from None

    def _copy_events(self, conn: sqlite3.Connection, limit: int) -> int:
        last = conn.execute("SELECT coalesce(max(global_position), 0) FROM events").fetchone()[0]
        rows = conn.execute(
            "SELECT global_position, event_id, aggregate_id, aggregate_type, event_type,"
            f" tenant_id, version, timestamp, payload, created_at FROM {_L}events"
            " WHERE global_position > ? ORDER BY global_position LIMIT ?",
            (last, limit),
        ).fetchall()
        converted = []
        for position, eid, aid, atype, etype, tenant, version, occurred, payload, stored in rows:
            where = self._where = f"event at global position {position}"
            document = json.loads(payload)
            document["aggregate_version"] = version
            converted.append(
                (
                    position,
                    str(UUID(eid)),
                    str(UUID(aid)),
                    atype,
                    version,
                    etype,
                    int(document.get("event_version") or 1),
                    None if tenant is None else str(UUID(tenant)),
                    self._time(occurred, f"the timestamp of the {where}"),
                    self._time(stored, f"the created_at of the {where}"),
                    json.dumps(document, ensure_ascii=False, separators=(",", ":")),
                )
            )
        conn.executemany(_INSERT_EVENT, converted)
        return len(rows)

    def _copy_checkpoints(self, conn: sqlite3.Connection, limit: int) -> int:
        last = conn.execute("SELECT max(projection_name) FROM projection_checkpoints").fetchone()[0]
        rows = conn.execute(
            "SELECT c.projection_name, c.last_event_id, c.last_event_type, c.global_position,"
            " c.events_processed, c.updated_at, c.last_processed_at, e.global_position"
            f" FROM {_L}projection_checkpoints c"
            f" LEFT JOIN {_L}events e ON e.event_id = c.last_event_id"
            + ("" if last is None else " WHERE c.projection_name > ?")
            + " ORDER BY c.projection_name LIMIT ?",
            (limit,) if last is None else (last, limit),
        ).fetchall()
        converted = []
        for name, eid, etype, stored_pos, processed, updated, processed_at, found in rows:
            self._where = f"checkpoint {name!r}"
            when = updated or processed_at
            converted.append(
                (
                    name,
                    None if eid is None else str(UUID(eid)),
                    etype,
                    found if found is not None else stored_pos,  # the event's own position
                    processed,
                    now_us()
                    if when is None
                    else self._time(when, f"the updated_at of checkpoint {name!r}"),
                )
            )
        conn.executemany(_INSERT_CHECKPOINT, converted)
        return len(rows)

    def _copy_outbox(self, conn: sqlite3.Connection, limit: int) -> int:
        last = conn.execute("SELECT coalesce(max(seq), 0) FROM event_outbox").fetchone()[0]
        rows = conn.execute(
            "SELECT id, event_id, event_type, aggregate_id, aggregate_type, tenant_id,"
            " event_data, created_at, published_at, retry_count, last_error, status"
            f" FROM {_L}event_outbox WHERE id > ? ORDER BY id LIMIT ?",
            (last, limit),
        ).fetchall()
        converted = []
        for (
            oid,
            eid,
            etype,
            aid,
            atype,
            tenant,
            data,
            created,
            published,
            retries,
            error,
            status,
        ) in rows:
            where = self._where = f"outbox entry {oid}"
            converted.append(
                (
                    oid,
                    legacy_outbox_id(oid),
                    str(UUID(eid)),
                    etype,
                    str(UUID(aid)),
                    atype,
                    None if tenant is None else str(UUID(tenant)),
                    unwrap_outbox_data(data),
                    self._time(created, f"the created_at of {where}"),
                    status,
                    retries,
                    error,
                    None
                    if published is None
                    else self._time(published, f"the published_at of {where}"),
                )
            )
        conn.executemany(_INSERT_OUTBOX, converted)
        return len(rows)

    def _copy_dlq(self, conn: sqlite3.Connection, limit: int) -> int:
        last = conn.execute("SELECT coalesce(max(id), 0) FROM dead_letter_queue").fetchone()[0]
        rows = conn.execute(
            "SELECT id, event_id, projection_name, event_type, event_data, error_message,"
            " error_stacktrace, retry_count, first_failed_at, last_failed_at, status,"
            f" resolved_at, resolved_by FROM {_L}dead_letter_queue WHERE id > ?"
            " ORDER BY id LIMIT ?",
            (last, limit),
        ).fetchall()
        converted = []
        for (
            did,
            eid,
            name,
            etype,
            data,
            message,
            trace,
            retries,
            first,
            lastf,
            status,
            resolved_at,
            by,
        ) in rows:
            where = self._where = f"DLQ entry {did}"
            converted.append(
                (
                    did,
                    str(UUID(eid)),
                    name,
                    etype,
                    data,
                    legacy_error_type(trace, message),
                    message,
                    trace or "",
                    retries,
                    self._time(first, f"the first_failed_at of {where}"),
                    self._time(lastf, f"the last_failed_at of {where}"),
                    status,
                    None
                    if resolved_at is None
                    else self._time(resolved_at, f"the resolved_at of {where}"),
                    by,
                )
            )
        conn.executemany(_INSERT_DLQ, converted)
        return len(rows)

    async def counts(self, table: str) -> tuple[int, int]:
        """Rows of ``table`` in 0.5.0's copy and in ours."""
        ours, theirs = _TABLES[table]

        def count(conn: sqlite3.Connection) -> tuple[int, int]:
            row = conn.execute(
                f"SELECT (SELECT count(*) FROM {theirs}), (SELECT count(*) FROM {ours})"
            ).fetchone()
            return int(row[0]), int(row[1])

        return await self._run(count)

    async def _events(self, sql: str, batch: int) -> AsyncIterator[LegacyStoredEvent]:
        last = 0

        def page(conn: sqlite3.Connection) -> list[Any]:
            return conn.execute(sql, (last, batch)).fetchall()

        while True:
            rows = await self._run(page)
            for row in rows:
                yield LegacyStoredEvent(*row)
            if len(rows) < batch:
                return
            last = rows[-1][0]

    def legacy_events(self, batch: int) -> AsyncIterator[LegacyStoredEvent]:
        """0.5.0's events in global order."""
        return self._events(
            "SELECT global_position, event_id, aggregate_id, aggregate_type, version,"
            f" event_type, payload FROM {_L}events WHERE global_position > ?"
            " ORDER BY global_position LIMIT ?",
            batch,
        )

    def converted_events(self, batch: int) -> AsyncIterator[LegacyStoredEvent]:
        """The converted events in global order."""
        return self._events(
            "SELECT global_position, event_id, aggregate_id, aggregate_type, aggregate_version,"
            " event_type, payload FROM events WHERE global_position > ?"
            " ORDER BY global_position LIMIT ?",
            batch,
        )

    async def finish(self, *, keep_legacy: bool) -> None:
        """Drop 0.5.0's tables (unless kept), the mark, and record the schema version."""

        def finish(conn: sqlite3.Connection) -> None:
            with write_transaction(conn):
                if not keep_legacy:
                    for name in LEGACY_TABLE_NAMES:
                        conn.execute(f"DROP TABLE IF EXISTS {_L}{name}")
                conn.execute(f"DROP TABLE {MARK_TABLE}")
                record_version(conn)

        await self._run(finish)
