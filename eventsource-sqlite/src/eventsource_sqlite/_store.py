"""The SQLite event store: one aiosqlite connection, one thread hop per operation."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import uuid
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode
from uuid import UUID

import aiosqlite

from eventsource.spi import (
    DEFAULT_MAX_EVENT_BYTES,
    MAX_POSITION,
    AppendResult,
    ConfigurationError,
    DomainEvent,
    EventRegistry,
    EventStore,
    EventStream,
    EventTransfer,
    OptimisticLockError,
    PageDecoder,
    PreparedEvent,
    RawEvent,
    ReadDirection,
    ReadOptions,
    RetentionPolicy,
    ShardReads,
    StorageUnavailableError,
    StoredEvent,
    StoredPlace,
    StoreNotFoundError,
    StreamDeletedError,
    StreamMark,
    check_event_id,
    check_export_args,
    check_get_events,
    check_get_events_by_type,
    check_import_marks,
    check_import_rows,
    check_keywords,
    check_lifecycle_key,
    check_read_options,
    check_shard,
    check_stream_key,
    check_stream_version,
    check_truncate,
    check_wait,
    original_result,
    parse_stream_id,
    prepare_append,
    restamp,
)

from . import _lifecycle as lifecycle
from . import _transfer as transfer
from ._driver import wait_until_stopped
from ._errors import translate_error
from ._legacy import refuse_legacy
from ._options import OPTION_SPECS, SYNCHRONOUS_MODES
from ._reading import EVENT_COLUMNS, PAYLOAD, decode_event, option_filters, stored_events
from ._schema import ensure_schema, stored_schema_version
from ._tx import SharedFile, now_us, run, shared_file, to_us, write_transaction

__all__ = ["SYNCHRONOUS_MODES", "SQLiteEventStore"]

_MEMORY = ":memory:"

_STREAM_VERSION = (
    "SELECT MAX(aggregate_version) FROM events WHERE aggregate_id = ? AND aggregate_type = ?"
)
#: An append's one look before it writes: the stream's version and its deleted mark (NULL for
#: a live stream), read together in the append's write transaction.
_APPEND_STATE = (
    "SELECT (SELECT MAX(aggregate_version) FROM events"
    " WHERE aggregate_id = ?1 AND aggregate_type = ?2),"
    " (SELECT hard FROM stream_lifecycle WHERE aggregate_id = ?1 AND aggregate_type = ?2)"
)
_LOAD_STREAM = (
    f"SELECT event_type, event_version, {PAYLOAD}, aggregate_version, global_position, event_id"
    " FROM events WHERE aggregate_id = ? AND aggregate_type = ? ORDER BY aggregate_version"
)
_INSERT_EVENT = (
    "INSERT INTO events (event_id, aggregate_id, aggregate_type, aggregate_version, event_type,"
    " event_version, tenant_id, occurred_at, stored_at, payload)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_OUTBOX = (
    "INSERT INTO event_outbox (id, event_id, event_type, aggregate_id, aggregate_type,"
    " tenant_id, event_data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def stream_shard(aggregate_id: object, shards: int) -> int:
    """SQL function ``eventsource_shard(aggregate_id, shards)``: the stream's shard,
    ``crc32(uuid.bytes) % shards`` (shard 0 for an id that is not a UUID's text)."""
    try:
        return zlib.crc32(UUID(str(aggregate_id)).bytes) % shards
    except ValueError:
        return 0


class SQLiteEventStore(EventStore, ShardReads, EventTransfer):
    """Event store in one SQLite file (or ``":memory:"``), through aiosqlite.

    One writer at a time: an append is one ``BEGIN IMMEDIATE`` transaction, run whole on the
    connection's thread; a writer that cannot get the lock within ``busy_timeout`` ms raises
    :class:`~eventsource_sqlite.SQLiteDatabaseLockedError` (also ``sqlite3.OperationalError``).
    In WAL mode (the default) readers never wait for the writer. ``synchronous`` defaults to
    NORMAL in WAL mode (a commit survives a process crash; the last commits may be lost on a
    power cut) and FULL otherwise. ``read_only`` opens the file with ``mode=ro``.

    Use ``async with SQLiteEventStore(path) as store: await store.initialize()``.
    """

    #: Longest pause between polls in :meth:`wait_for_events` (writers in other processes).
    max_poll_interval: float = 0.1

    def __init__(
        self,
        database: str | os.PathLike[str],
        event_registry: EventRegistry | None = None,
        wal_mode: bool = True,
        busy_timeout: int = 5000,
        *,
        synchronous: str | None = None,
        read_only: bool = False,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        # eventsource-py 0.5.0's options, accepted and unused: events decode through their
        # registered pydantic class, and tracing is not part of this release.
        tracer: object = None,
        enable_tracing: bool = True,
        type_converter: object = None,
        uuid_fields: set[str] | None = None,
        string_id_fields: set[str] | None = None,
        auto_detect_uuid: bool = True,
    ) -> None:
        checked = check_keywords(
            {
                "wal_mode": wal_mode,
                "busy_timeout": busy_timeout,
                "synchronous": synchronous,
                "read_only": read_only,
                "max_event_bytes": max_event_bytes,
            },
            OPTION_SPECS,
        )
        super().__init__(event_registry=event_registry, max_event_bytes=max_event_bytes)
        self.database = _checked_path(database)
        self.wal_mode: bool = checked["wal_mode"]
        self.busy_timeout: int = checked["busy_timeout"]
        self.synchronous: str = checked["synchronous"] or ("NORMAL" if self.wal_mode else "FULL")
        self.read_only: bool = checked["read_only"]
        self._conn: aiosqlite.Connection | None = None
        self._connecting = asyncio.Lock()  # two concurrent connect() calls open one connection
        self._shared: SharedFile = shared_file(None)

    @classmethod
    def with_strict_uuid_detection(
        cls,
        database: str | os.PathLike[str],
        uuid_fields: set[str],
        *,
        event_registry: EventRegistry | None = None,
        wal_mode: bool = True,
        busy_timeout: int = 5000,
        enable_tracing: bool = True,
    ) -> SQLiteEventStore:
        """eventsource-py 0.5.0's constructor: here the same store (``uuid_fields`` is not
        needed, events decode through their registered class)."""
        return cls(database, event_registry, wal_mode, busy_timeout)

    def __repr__(self) -> str:
        state = "connected" if self._conn is not None else "not connected"
        return f"<SQLiteEventStore {self.database!r} {state}>"

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        """True while the store holds a connection (eventsource-py 0.5.0's property)."""
        return self._conn is not None

    @property
    def is_memory(self) -> bool:
        """True for a private in-memory database."""
        return self.database in (_MEMORY, "")

    @property
    def connection(self) -> aiosqlite.Connection:
        """The store's aiosqlite connection, shared with repositories built over the store."""
        if self._conn is None:
            raise StorageUnavailableError(
                f"SQLiteEventStore({self.database!r}) is not connected: use "
                "'async with SQLiteEventStore(...) as store' or 'await store.connect()'"
            )
        return self._conn

    @property
    def shared(self) -> SharedFile:
        """This process's writer queue and wakeups for the store's file."""
        return self._shared

    def _target(self, must_exist: bool = False) -> tuple[str, bool, str | None]:
        """What to pass to sqlite3.connect, whether it is a URI, and the file's real path.

        With ``must_exist`` the file is opened with ``mode=rw`` (``ro`` when read-only), so
        SQLite cannot create it, and a missing file is a :class:`StoreNotFoundError`.
        """
        if self.is_memory:
            return _MEMORY, False, None
        if self.database.startswith("file:"):
            path, _, query = self.database[5:].partition("?")
            params = parse_qsl(query, keep_blank_values=True)
            target = self.database
            if self.read_only:  # replaces a mode the URI names: read_only must not be dropped
                params = [(k, v) for k, v in params if k != "mode"] + [("mode", "ro")]
                target = f"file:{path}?{urlencode(params)}"
            elif must_exist and all(k != "mode" for k, _ in params):
                target = f"file:{path}?{urlencode([*params, ('mode', 'rw')])}"
            return target, True, os.path.realpath(path) if path else None
        real = os.path.realpath(self.database)
        directory = os.path.dirname(real)
        if must_exist and not os.path.isfile(real):
            raise self._not_found(real)
        if not os.path.isdir(directory):
            raise StorageUnavailableError(
                f"cannot open SQLite database {self.database!r}: directory {directory!r} "
                "does not exist"
            )
        if os.path.isdir(real):
            raise StorageUnavailableError(
                f"cannot open SQLite database {self.database!r}: it is a directory"
            )
        if self.read_only or must_exist:
            return f"file:{quote(real)}?mode={'ro' if self.read_only else 'rw'}", True, real
        return self.database, False, real

    async def connect(self) -> None:
        """Open the connection and set its pragmas; idempotent (also when called concurrently)."""
        if self._conn is not None:
            return
        async with self._connecting:
            if self._conn is None:
                await self._open()

    async def connect_existing(self) -> None:
        """Connect only to an existing file that holds the eventsource schema.

        A missing file (opened with ``mode=rw``, so SQLite cannot create it), a file without
        the schema (nothing is written to it, not even the journal mode) and ``:memory:`` (new
        each time) raise :class:`StoreNotFoundError` naming the path.
        """
        if self.is_memory:
            raise StoreNotFoundError(
                "sqlite :memory: is a new private database each time it is opened, so there "
                "is no existing one to open with create=False",
                location=_MEMORY,
            )
        if self._conn is not None:
            version = await self._run(stored_schema_version)
            self._require_schema(version)
            return
        async with self._connecting:
            if self._conn is None:
                await self._open(must_exist=True)

    def _open_error(self, exc: sqlite3.Error, must_exist: bool, real: str | None) -> Exception:
        """The error for a failed open: a missing file is not found when it had to exist."""
        if must_exist and real is not None and not os.path.exists(real):
            return self._not_found(real)
        return translate_error(exc, self.database)

    def _not_found(self, real: str) -> StoreNotFoundError:
        return StoreNotFoundError(
            f"no database at {self.database!r}: the file does not exist (nothing was created)",
            location=real,
        )

    def _require_schema(self, version: int) -> None:
        if version == 0:
            raise StoreNotFoundError(
                f"no eventsource store in {self.database!r}: the file exists but holds no "
                "eventsource schema (nothing was changed)",
                location=os.path.realpath(self.database),
            )

    async def _open(self, must_exist: bool = False) -> None:
        target, uri, real = self._target(must_exist)
        conn = aiosqlite.connect(
            target,
            isolation_level=None,
            uri=uri,
            timeout=self.busy_timeout / 1000,
            cached_statements=256,
        )
        try:
            await conn
        except sqlite3.Error as exc:
            await wait_until_stopped(conn)
            raise self._open_error(exc, must_exist, real) from exc
        try:
            await run(conn, lambda c: self._configure(c, must_exist), self.database)
        except BaseException:
            await conn.close()
            raise
        self._shared = shared_file(real)
        self._conn = conn

    async def _connect(self) -> None:
        """Alias of :meth:`connect` (the guide's manual-cleanup form)."""
        await self.connect()

    def _configure(self, conn: sqlite3.Connection, must_exist: bool = False) -> None:
        conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout}")
        # reading the header fails here, at open, for a file that is not a database
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        if must_exist:  # before the journal mode is set: a file without our schema stays as is
            version = stored_schema_version(conn)
            if version == 0:
                refuse_legacy(conn, self.database)
            self._require_schema(version)
        if self.wal_mode and not self.read_only and not self.is_memory:
            conn.execute("PRAGMA journal_mode = WAL").fetchone()
        conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        conn.create_function("eventsource_shard", 2, stream_shard, deterministic=True)

    async def close(self) -> None:
        """Close the connection; idempotent."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    async def initialize(self) -> None:
        """Create or migrate the schema of every role (idempotent); see ``_schema``. Connects
        first when the store is not connected yet, as eventsource-py 0.5.0's did."""
        await self.connect()
        path = self.database
        await run(self.connection, lambda c: ensure_schema(c, path), path)

    async def _run(self, fn: Any) -> Any:
        return await run(self.connection, fn, self.database)

    # -- writing -------------------------------------------------------------------------------

    async def append_events(
        self,
        aggregate_id: UUID,
        aggregate_type: str,
        events: Sequence[DomainEvent],
        expected_version: int,
        *,
        outbox: bool = False,
        recreate: bool = False,
    ) -> AppendResult:
        expected, prepared = prepare_append(
            self, aggregate_id, aggregate_type, events, expected_version
        )
        shared = self._shared
        timeout = self.busy_timeout
        path = self.database
        aid = str(aggregate_id)

        def append(conn: sqlite3.Connection) -> AppendResult:
            try:
                with write_transaction(conn, shared, timeout, path):
                    version, mark = conn.execute(_APPEND_STATE, (aid, aggregate_type)).fetchone()
                    current = version or 0
                    if mark is not None:  # deleted: refused, or recreated (rare: read again)
                        if not recreate:
                            raise StreamDeletedError(aggregate_id, aggregate_type, hard=bool(mark))
                        lifecycle.clear_for_recreate(conn, aid, aggregate_type)
                        row = conn.execute(_STREAM_VERSION, (aid, aggregate_type)).fetchone()
                        current = row[0] or 0
                    check_stream_version(aggregate_id, aggregate_type, expected, current)
                    items = restamp(prepared, current)
                    now = now_us()
                    last = _insert(conn, aid, aggregate_type, items, now)
                    if outbox:
                        conn.executemany(_INSERT_OUTBOX, _outbox_rows(aid, items, now))
            except (sqlite3.IntegrityError, OptimisticLockError) as error:
                conflict: Exception = error
            else:
                return AppendResult(True, current + len(items), last, len(items))
            # rolled back: a retry of a stored append, or the conflict's typed error
            return _on_conflict(conn, aggregate_id, aggregate_type, expected, prepared, conflict)

        result: AppendResult = await self._run(append)
        shared.notify()
        return result

    # -- stream lifecycle ----------------------------------------------------------------------

    def _record(self, conn: sqlite3.Connection, event: DomainEvent) -> None:
        """Append a lifecycle event to its system stream, in the caller's transaction."""
        key = (str(event.aggregate_id), event.aggregate_type)
        current = conn.execute(_STREAM_VERSION, key).fetchone()[0] or 0
        _, prepared = prepare_append(self, event.aggregate_id, key[1], [event], current)
        _insert(conn, key[0], key[1], restamp(prepared, current), now_us())

    async def _write(self, fn: Any) -> Any:
        """Run ``fn(conn)`` in one write transaction; wakes this process's waiters after."""
        shared, timeout, path = self._shared, self.busy_timeout, self.database

        def body(conn: sqlite3.Connection) -> Any:
            with write_transaction(conn, shared, timeout, path):
                return fn(conn)

        result = await self._run(body)
        shared.notify()
        return result

    async def delete_stream(
        self, aggregate_id: UUID, aggregate_type: str, hard: bool = False
    ) -> int:
        aid, atype = check_lifecycle_key(aggregate_id, aggregate_type)
        count: int = await self._write(
            lambda c: lifecycle.delete_stream(c, aid, atype, hard, self._record)
        )
        return count

    async def restore_stream(self, aggregate_id: UUID, aggregate_type: str) -> int:
        aid, atype = check_lifecycle_key(aggregate_id, aggregate_type)
        count: int = await self._write(
            lambda c: lifecycle.restore_stream(c, aid, atype, self._record)
        )
        return count

    async def truncate_stream(self, aggregate_id: UUID, aggregate_type: str, *, before: int) -> int:
        aid, atype, first_kept = check_truncate(aggregate_id, aggregate_type, before)
        count: int = await self._write(
            lambda c: lifecycle.truncate_stream(c, aid, atype, first_kept, self._record)
        )
        return count

    async def _stored_versions(self) -> dict[tuple[str, int], int]:
        rows = await self._run(
            lambda c: c.execute(
                "SELECT event_type, event_version, COUNT(*) FROM events GROUP BY 1, 2"
            ).fetchall()
        )
        return {(r[0], int(r[1])): int(r[2]) for r in rows}

    async def _read_retention(self) -> dict[str, RetentionPolicy]:
        policies: dict[str, RetentionPolicy] = await self._run(lifecycle.read_retention)
        return policies

    async def _write_retention(self, aggregate_type: str, policy: RetentionPolicy | None) -> None:
        await self._write(lambda c: lifecycle.write_retention(c, aggregate_type, policy))

    async def _stream_extents(
        self, aggregate_type: str, cutoff: datetime | None
    ) -> list[tuple[UUID, int, int, int | None]]:
        extents: list[tuple[UUID, int, int, int | None]] = await self._run(
            lambda c: lifecycle.stream_extents(c, aggregate_type, cutoff)
        )
        return extents

    # -- bulk transfer (eventsource migrate) ---------------------------------------------------

    async def transfer_position(self) -> int:
        position: int = await self._run(transfer.transfer_position)
        return position

    async def count_rows(self, after_position: int = 0) -> int:
        after, _ = check_export_args(after_position, 1)
        count: int = await self._run(lambda c: transfer.count_rows(c, after))
        return count

    async def export_rows(self, after_position: int, limit: int) -> list[RawEvent]:
        after, count = check_export_args(after_position, limit)
        rows: list[RawEvent] = await self._run(lambda c: transfer.export_rows(c, after, count))
        return rows

    async def export_marks(self) -> list[StreamMark]:
        marks: list[StreamMark] = await self._run(transfer.export_marks)
        return marks

    async def import_rows(self, rows: Sequence[RawEvent]) -> int:
        checked = check_import_rows(rows, 0, self.max_event_bytes)
        if not checked:
            return 0
        count: int = await self._write(lambda c: transfer.import_rows(c, checked))
        return count

    async def import_marks(self, marks: Sequence[StreamMark]) -> int:
        checked = check_import_marks(marks)
        count: int = await self._write(lambda c: transfer.import_marks(c, checked))
        return count

    # -- reading -------------------------------------------------------------------------------

    async def get_events(
        self,
        aggregate_id: UUID,
        aggregate_type: str | None = None,
        from_version: int = 0,
        from_timestamp: datetime | None = None,
        to_timestamp: datetime | None = None,
    ) -> EventStream:
        check_get_events(aggregate_id, aggregate_type, from_version, from_timestamp, to_timestamp)
        registry = self.event_registry
        if aggregate_type is not None and not (from_version or from_timestamp or to_timestamp):
            # the common case (loading an aggregate): one prepared statement, no version query
            key = (str(aggregate_id), aggregate_type)
            rows: list[Any] = await self._run(lambda c: c.execute(_LOAD_STREAM, key).fetchall())
            sid = f"{key[0]}:{aggregate_type}"
            decode = PageDecoder(registry)
            events = [decode(r[2], r[0], r[1], r[4], sid, r[3], r[5]) for r in rows]
            version = rows[-1][3] if rows else 0
            return EventStream(aggregate_id, aggregate_type, events, version)
        where = ["aggregate_id = ?"]
        params: list[Any] = [str(aggregate_id)]
        if aggregate_type is not None:
            where.append("aggregate_type = ?")
            params.append(aggregate_type)
        filtered = list(where)
        if from_version:
            filtered.append("aggregate_version > ?")
            params.append(from_version)
        if from_timestamp is not None:
            filtered.append("occurred_at >= ?")
            params.append(to_us(from_timestamp))
        if to_timestamp is not None:
            filtered.append("occurred_at <= ?")
            params.append(to_us(to_timestamp))
        order = "aggregate_version" if aggregate_type is not None else "global_position"
        sql = f"SELECT {EVENT_COLUMNS} FROM events WHERE {' AND '.join(filtered)} ORDER BY {order}"
        needs_version = len(filtered) > len(where) or aggregate_type is None
        version_sql = f"SELECT MAX(aggregate_version) FROM events WHERE {' AND '.join(where)}"
        base_params = params[: len(where)]

        def read(conn: sqlite3.Connection) -> tuple[list[Any], int]:
            rows = conn.execute(sql, params).fetchall()
            if not needs_version:
                return rows, rows[-1][3] if rows else 0
            return rows, conn.execute(version_sql, base_params).fetchone()[0] or 0

        rows, version = await self._run(read)
        found_type = aggregate_type if aggregate_type is not None else (rows[0][2] if rows else "")
        decoder = PageDecoder(registry)
        events = [decode_event(decoder, row) for row in rows]
        return EventStream(aggregate_id, found_type, events, version)

    async def read_stream(
        self, stream_id: str, options: ReadOptions | None = None
    ) -> AsyncIterator[StoredEvent]:
        aggregate_id, aggregate_type = parse_stream_id(stream_id)
        options = check_read_options(options)
        clauses, params = option_filters(options)
        where = ["aggregate_id = ?", "aggregate_type = ?", *clauses]
        pages = self._pages(
            where, [str(aggregate_id), aggregate_type, *params], "aggregate_version", options
        )
        async with contextlib.aclosing(pages):
            async for rows in pages:
                for stored in stored_events(self.event_registry, rows, options.lazy):
                    yield stored

    async def read_all(self, options: ReadOptions | None = None) -> AsyncIterator[StoredEvent]:
        options = check_read_options(options)
        clauses, params = option_filters(options)
        pages = self._pages(clauses, params, "global_position", options)
        async with contextlib.aclosing(pages):
            async for rows in pages:
                # decoded one row at a time as taken (lazily: on access of .event)
                for stored in stored_events(self.event_registry, rows, options.lazy):
                    yield stored

    async def read_all_shard(
        self, shard: int, shards: int, options: ReadOptions | None = None
    ) -> AsyncIterator[StoredEvent]:
        index, count = check_shard(shard, shards)
        options = check_read_options(options)
        clauses, params = option_filters(options)
        # evaluated by SQLite (a Python function, ~1 us a row): other rows are not decoded
        clauses = [*clauses, "eventsource_shard(aggregate_id, ?) = ?"]
        params = [*params, count, index]
        pages = self._pages(clauses, params, "global_position", options)
        async with contextlib.aclosing(pages):
            async for rows in pages:
                for stored in stored_events(self.event_registry, rows, options.lazy):
                    yield stored

    async def _pages(
        self, where: list[str], params: list[Any], key: str, options: ReadOptions
    ) -> AsyncGenerator[list[Any], None]:
        """Keyset-paged read ordered by ``key``: the rows of each page, one statement (one
        hop) per page."""
        forward = options.direction is ReadDirection.FORWARD
        cursor = options.from_position
        if cursor is None:
            cursor = 0 if forward else MAX_POSITION
        sql = (
            f"SELECT {EVENT_COLUMNS} FROM events WHERE "
            + " AND ".join([*where, f"{key} {'>' if forward else '<'} ?"])
            + f" ORDER BY {key} {'ASC' if forward else 'DESC'} LIMIT ?"
        )
        column = 0 if key == "global_position" else 3
        remaining = options.limit

        def page(cursor: int, size: int) -> Awaitable[list[Any]]:
            args = (*params, cursor, size)
            rows: Awaitable[list[Any]] = self._run(lambda c: c.execute(sql, args).fetchall())
            return rows

        size = self.page_size if remaining is None else min(self.page_size, remaining)
        if size <= 0:
            return
        # The next page is fetched on the connection's thread while this one is decoded and
        # consumed (a keyset read: fetching it earlier sees the same events).
        pending: asyncio.Future[list[Any]] | None = None
        try:
            rows = await page(cursor, size)
            while True:
                full = len(rows) == size
                if remaining is not None:
                    remaining -= len(rows)
                    size = min(self.page_size, remaining)
                if full and size > 0:
                    pending = asyncio.ensure_future(page(rows[-1][column], size))
                yield rows
                if pending is None:
                    return
                rows, pending = await pending, None
        finally:
            if pending is not None:
                # The reader stopped early: drop the read-ahead, and retrieve its error if it
                # already failed (else asyncio logs "exception was never retrieved").
                pending.cancel()
                if pending.done() and not pending.cancelled():
                    pending.exception()

    async def get_events_by_type(
        self,
        aggregate_type: str,
        tenant_id: UUID | None = None,
        from_timestamp: datetime | None = None,
    ) -> list[DomainEvent]:
        check_get_events_by_type(aggregate_type, tenant_id, from_timestamp)
        clauses, params = option_filters(
            ReadOptions(tenant_id=tenant_id, from_timestamp=from_timestamp)
        )
        where = " AND ".join(["aggregate_type = ?", *clauses])
        sql = f"SELECT {EVENT_COLUMNS} FROM events WHERE {where} ORDER BY global_position"
        args = (aggregate_type, *params)
        rows: list[Any] = await self._run(lambda c: c.execute(sql, args).fetchall())
        decoder = PageDecoder(self.event_registry)
        return [decode_event(decoder, row) for row in rows]

    async def event_exists(self, event_id: UUID) -> bool:
        key = str(check_event_id(event_id))
        row = await self._run(
            lambda c: c.execute("SELECT 1 FROM events WHERE event_id = ?", (key,)).fetchone()
        )
        return row is not None

    async def get_event_position(self, event_id: UUID) -> int | None:
        key = str(check_event_id(event_id))
        sql = "SELECT global_position FROM events WHERE event_id = ?"
        row = await self._run(lambda c: c.execute(sql, (key,)).fetchone())
        return None if row is None else int(row[0])

    async def get_stream_version(self, aggregate_id: UUID, aggregate_type: str) -> int:
        check_stream_key(aggregate_id, aggregate_type)
        args = (str(aggregate_id), aggregate_type)
        row = await self._run(lambda c: c.execute(_STREAM_VERSION, args).fetchone())
        return int(row[0] or 0)

    async def get_global_position(self) -> int:
        row = await self._run(
            lambda c: c.execute("SELECT MAX(global_position) FROM events").fetchone()
        )
        return int(row[0] or 0)

    async def wait_for_events(self, after_position: int, timeout: float) -> bool:
        """Wait for an event past ``after_position``: woken at once by writers of this process,
        polling (5 ms growing to :attr:`max_poll_interval`) for writers in other processes."""
        timeout = check_wait(after_position, timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        delay = 0.005
        while True:
            future: asyncio.Future[None] = loop.create_future()
            self._shared.add_waiter(loop, future)
            try:
                if await self.get_global_position() > after_position:
                    return True
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(future, min(delay, remaining))
                delay = min(delay * 2, self.max_poll_interval)
            finally:
                if not future.done():
                    future.cancel()
                self._shared.remove_waiter(future)


def _insert(
    conn: sqlite3.Connection, aid: str, aggregate_type: str, items: list[PreparedEvent], now: int
) -> int:
    """Insert the events; returns the global position of the last one."""
    rows = [
        (
            str(e.event_id),
            aid,
            aggregate_type,
            e.aggregate_version,
            e.event_type,
            e.event_version,
            None if e.tenant_id is None else str(e.tenant_id),
            to_us(e.occurred_at),
            now,
            item.payload,
        )
        for item in items
        for e in (item.event,)
    ]
    if len(rows) == 1:
        position = conn.execute(_INSERT_EVENT, rows[0]).lastrowid
    else:
        conn.executemany(_INSERT_EVENT, rows)
        position = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
    return int(position or 0)


def _outbox_rows(aid: str, items: list[PreparedEvent], now: int) -> list[tuple[Any, ...]]:
    return [
        (
            str(uuid.uuid4()),
            str(item.event.event_id),
            item.event.event_type,
            aid,
            item.event.aggregate_type,
            None if item.event.tenant_id is None else str(item.event.tenant_id),
            item.payload,
            now,
        )
        for item in items
    ]


def _on_conflict(
    conn: sqlite3.Connection,
    aggregate_id: UUID,
    aggregate_type: str,
    expected: int,
    prepared: list[PreparedEvent],
    conflict: Exception,
) -> AppendResult:
    """After a version conflict or a constraint failure (the transaction is rolled back): the
    original result when the append is a retry of a stored one (one statement, in the
    append's thread hop), else its typed error."""
    ids = [item.event.event_id for item in prepared]
    marks = ", ".join("?" * len(ids))
    rows = conn.execute(
        "SELECT event_id, aggregate_id, aggregate_type, aggregate_version, global_position"
        f" FROM events WHERE event_id IN ({marks})",
        [str(event_id) for event_id in ids],
    ).fetchall()
    places = [StoredPlace(UUID(r[0]), UUID(r[1]), r[2], r[3], r[4]) for r in rows]
    original = original_result(aggregate_id, aggregate_type, expected, ids, places)
    if original is not None:
        return original
    if isinstance(conflict, OptimisticLockError):
        raise conflict
    current = conn.execute(_STREAM_VERSION, (str(aggregate_id), aggregate_type)).fetchone()[0]
    raise OptimisticLockError(aggregate_id, expected, current or 0, aggregate_type)


def _checked_path(database: str | os.PathLike[str]) -> str:
    """``database`` as a path string; ConfigurationError for what no file can be named."""
    try:
        path = os.fspath(database)
    except TypeError:
        raise ConfigurationError(
            f"database must be a path or ':memory:', got {type(database).__name__}"
        ) from None
    if not isinstance(path, str):
        raise ConfigurationError(f"database must be a str path, got {type(path).__name__}")
    if "\x00" in path:
        raise ConfigurationError(f"database path {path!r} contains a NUL character")
    return path
