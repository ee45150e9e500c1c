"""``PostgreSQLEventStore``: the event store on an asyncpg pool.

Global order: every append takes a per-schema transaction-level advisory lock and assigns
positions ``max + 1`` under it, so positions are gapless and increase in commit order; a
reader resuming from the last position it saw never skips an event. Appends that queue in one
store while another is in flight share a transaction (group commit, ``_group_commit``). See
docs/postgresql.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from datetime import datetime
from itertools import chain
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg

from eventsource.spi import (
    AppendResult,
    BackendURL,
    ConfigurationError,
    ConnectionLostError,
    DomainEvent,
    DuplicateEventError,
    EventRegistry,
    EventStore,
    EventStream,
    EventTransfer,
    ExpectedVersion,
    OptimisticLockError,
    PageDecoder,
    PreparedEvent,
    RawEvent,
    ReadDirection,
    ReadOptions,
    RetentionPolicy,
    SerializationError,
    ShardReads,
    StorageError,
    StoredEvent,
    StoredPlace,
    StreamDeletedError,
    StreamMark,
    check_event_id,
    check_export_args,
    check_get_events,
    check_get_events_by_type,
    check_import_marks,
    check_import_rows,
    check_lifecycle_key,
    check_read_options,
    check_shard,
    check_stream_key,
    check_truncate,
    check_wait,
    original_result,
    parse_stream_id,
    parse_url,
    prepare_append,
    rules_for,
    version_span,
)

from . import _lifecycle as lifecycle
from . import _transfer as transfer
from ._connections import ConnectionSource, url_of_session_factory
from ._diagnostics import InFlightAppend, fetch_in_flight_appends
from ._errors import STREAM_DELETED, VERSION_CONFLICT, is_connection_lost, is_unstorable_text
from ._existence import require_store
from ._group_commit import GroupCommit, RunAlone
from ._listener import Listener
from ._options import KNOWN_OPTIONS, PostgresOptions
from ._reads import STREAM_ID, decode_stored, page_query, shard_of_row
from ._schema import CLEAR_STALE_MARKS_SQL, FLUSH_SQL, READ_BOUND, create_schema

__all__ = ["PostgreSQLEventStore"]

#: A mark older than this (seconds, by the server's clock) is cleared by the reader that
#: meets it: its writer died or stalled between its commit and its flush.
STALE_MARK_AFTER = 0.05
#: How often (seconds) a read that reaches the end looks for stale marks.
_STALE_CHECK_EVERY = 0.5
#: What READ_BOUND reads as on a schema without append_marks.
_UNBOUNDED = "9223372036854775807"
#: How soon a waiter looks again while events past the readable head wait for their flush
#: (doubling each time, up to the second figure).
_HELD_POLL = 0.001
_HELD_POLL_MAX = 0.032


def _may_defer(conn: Any) -> bool:
    """Whether an append on ``conn`` may defer its flush: only in a transaction of its own
    (in a caller's open transaction the commit is the caller's, and so is its flush)."""
    return not conn.is_in_transaction()


log = logging.getLogger("eventsource_postgres")
_UUID_IN_DETAIL = re.compile(r"=\(([0-9a-fA-F-]{36})\)")


class _Retry(Exception):
    """The append met a concurrent writer it can retry after (ANY) or must report."""


class _NotInitialized(Exception):
    """The schema is missing."""


class _FlushFailed(Exception):
    """An append committed with its flush deferred, and the flush failed: whether it is
    durable is found out, and its flush redone, on another connection."""


async def _flush(conn: Any, sql: str) -> None:
    """The flush owed by a deferred append (``FLUSH_SQL``); any failure is :class:`_FlushFailed`
    (a cancelled caller leaves the mark to the readers, who clear it once it is stale)."""
    try:
        await conn.execute(sql)
    except Exception as exc:
        raise _FlushFailed from exc


class _AppendArgs(NamedTuple):
    """The arguments of ``eventsource_append``, in order."""

    aggregate_id: UUID
    aggregate_type: str
    expected: int
    stamped_from: int
    event_ids: list[UUID]
    event_types: list[str]
    event_versions: list[int]
    tenant_ids: list[UUID | None]
    occurred_at: list[datetime]
    payloads: list[str]
    outbox: bool
    notify: bool
    lock_timeout_ms: int
    version_at: list[int]
    version_len: list[int]


_NOT_INITIALIZED = (
    asyncpg.UndefinedTableError,
    asyncpg.UndefinedFunctionError,
    asyncpg.InvalidSchemaNameError,
)


class PostgreSQLEventStore(EventStore, ShardReads, EventTransfer):
    """Event store in PostgreSQL, on an asyncpg pool shared with the backend's repositories.

    ``source`` is a URL (``postgresql://user@host/db?pool_max=20&schema=myapp``), a
    :class:`BackendURL`, an asyncpg pool (not closed by the store), or a SQLAlchemy
    ``async_sessionmaker``/``AsyncEngine`` whose URL is used to open our own pool (SQLAlchemy
    itself is not used). Keyword options override the URL's; see :class:`PostgresOptions`.
    The store connects on first use; ``auto_initialize`` creates a missing schema then.
    """

    def __init__(
        self,
        source: Any = None,
        *,
        schema: str | None = None,
        pool_min: int | None = None,
        pool_max: int | None = None,
        notify: bool | None = None,
        lock_timeout: float | None = None,
        lock_warn_after: float | None = None,
        poll_interval: float | None = None,
        max_event_bytes: int | None = None,
        group_commit: bool | None = None,
        connect_timeout: float | None = None,
        event_registry: EventRegistry | None = None,
        auto_initialize: bool = True,
    ) -> None:
        overrides: dict[str, Any] = {
            "connect_timeout": connect_timeout,
            "schema": schema,
            "pool_min": pool_min,
            "pool_max": pool_max,
            "notify": notify,
            "lock_timeout": lock_timeout,
            "lock_warn_after": lock_warn_after,
            "poll_interval": poll_interval,
            "max_event_bytes": max_event_bytes,
            "group_commit": group_commit,
        }
        url: BackendURL | None = None
        pool: Any = None
        if isinstance(source, str):
            url = parse_url(source)
        elif isinstance(source, BackendURL):
            url = source
        elif isinstance(source, asyncpg.Pool):
            pool = source
        elif source is not None:
            url = url_of_session_factory(source)
            if url is None:
                raise ConfigurationError(
                    "PostgreSQLEventStore needs a postgresql:// URL, an asyncpg pool or a "
                    f"SQLAlchemy async_sessionmaker, got {type(source).__name__}"
                )
            # SQLAlchemy URLs may carry driver arguments: keep only our own options.
            url = BackendURL(
                **{
                    **{f: getattr(url, f) for f in ("scheme", "driver", "username", "password")},
                    "host": url.host,
                    "port": url.port,
                    "database": url.database,
                    "options": {k: v for k, v in url.options.items() if k in KNOWN_OPTIONS},
                    "raw": url.raw,
                }
            )
        else:
            raise ConfigurationError("PostgreSQLEventStore needs a URL, a pool or a sessionmaker")
        if url is not None:
            options = PostgresOptions.from_url(url, **overrides)
        else:
            options = PostgresOptions(**{k: v for k, v in overrides.items() if v is not None})
        super().__init__(event_registry=event_registry, max_event_bytes=options.max_event_bytes)
        self.options = options
        self.auto_initialize = auto_initialize
        self._source = ConnectionSource(options, url=url, pool=pool)
        self._s = options.quoted_schema
        self._listener = Listener(self._source, options.channel)
        self._initialized = False
        self._warnings: set[asyncio.Task[None]] = set()
        # the last argument: whether the append may defer its WAL flush (see _schema._DEFER)
        self._append_sql = (
            f"SELECT current_version, last_position, flush_owed FROM {self._s}.eventsource_append("
            "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
        )
        self._batch_sql = (
            f"SELECT current_version, last_position, duplicate_id, flush_owed FROM "
            f"{self._s}.eventsource_append_batch("
            "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        )
        self._flush_sql = FLUSH_SQL.format(s=self._s)
        self._bound = READ_BOUND.format(s=self._s)
        self._clear_stale_sql = CLEAR_STALE_MARKS_SQL.format(s=self._s)
        #: Seconds (server clock) after which a mark is stale, cleared by the reader that
        #: meets it (tests set 0 to clear at once, or a large value to keep a mark held).
        self.stale_mark_after = STALE_MARK_AFTER
        self._stale_checked_at = float("-inf")
        self._trusted_after = -1  # the position a waiter last returned for on trust alone
        self._head_sql = (
            f"SELECT (SELECT coalesce(max(global_position), 0) FROM {self._s}.events), "
            f"nullif({self._bound}, {_UNBOUNDED}), "
            f"(SELECT min(marked_at) < clock_timestamp() - make_interval(secs => $1) "
            f"FROM {self._s}.append_marks)"
        )
        self._group: GroupCommit[_AppendArgs, Any] | None = None
        if options.group_commit:
            self._group = GroupCommit(
                self._append_once, self._append_batch, lock_timeout=options.lock_timeout
            )
        self._batching = self._group is not None

    @classmethod
    def from_url(cls, url: BackendURL | str) -> PostgreSQLEventStore:
        """An unconnected store for a ``postgresql://`` URL (the plugin's factory)."""
        return cls(url)

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def source(self) -> ConnectionSource:
        """Where this store (and repositories built over it) get connections."""
        return self._source

    @property
    def pool(self) -> Any:
        """The asyncpg pool (None before :meth:`connect` when the store opens its own)."""
        return self._source.pool

    @property
    def schema(self) -> str:
        """The PostgreSQL schema holding this store's tables."""
        return self.options.schema

    async def connect(self) -> None:
        """Open the pool (idempotent)."""
        await self._source.open()

    async def connect_existing(self) -> None:
        """Open the pool and check that the schema holds an initialised store; create nothing.

        A missing schema, or one without the eventsource tables, raises
        :class:`StoreNotFoundError` naming it. Such a store never creates its schema later
        either (``auto_initialize`` is turned off).
        """
        self.auto_initialize = False
        await self.connect()
        await self._source.run(
            lambda conn: require_store(conn, self.options, self._source.where), retry=True
        )

    async def close(self) -> None:
        """Stop listening and close the pool if the store opened it; idempotent."""
        for task in list(self._warnings):
            task.cancel()
        await self._listener.close()
        await self._source.close()

    async def initialize(self) -> None:
        """Create the schema, tables and append functions, or upgrade an older schema
        (idempotent, concurrency-safe)."""
        await self._source.run(lambda conn: create_schema(conn, self.options, self._source.where))
        self._initialized = True
        self._batching = self._group is not None

    @property
    def group_commit(self) -> GroupCommit[Any, Any] | None:
        """The group committer (its ``batches``, ``batched_appends`` and ``largest_batch``
        count the shared transactions), or None with ``group_commit=false``."""
        return self._group

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
        if recreate:  # a delete between this and the append makes the append refused again
            await self._source.run(
                lambda c: lifecycle.clear_for_recreate(
                    c, self._s, self.options.lock_key, aggregate_id, aggregate_type
                )
            )
        args = self._append_args(aggregate_id, aggregate_type, expected, prepared, outbox)
        loop = asyncio.get_running_loop()
        timer = loop.call_later(
            self.options.lock_warn_after, self._warn_slow_append, aggregate_id, aggregate_type
        )
        try:
            return await self._append(aggregate_id, aggregate_type, expected, prepared, args)
        finally:
            timer.cancel()

    def _append_args(
        self,
        aggregate_id: UUID,
        aggregate_type: str,
        expected: int,
        prepared: list[PreparedEvent],
        outbox: bool,
    ) -> _AppendArgs:
        events = [p.event for p in prepared]
        first = events[0].aggregate_version
        stamped_from = first - 1
        for offset, event in enumerate(events):
            if event.aggregate_version != first + offset:
                stamped_from = -1  # never a real version: the function re-stamps every event
                break
        # prepare_append found each document's version span (never (0, 0) for a document it
        # made); a PreparedEvent built elsewhere without one is looked at here
        spans = [
            p.version_span
            if p.version_span[0]
            else version_span(
                p.payload, p.event.aggregate_version, rules_for(type(p.event)).version_marker
            )
            for p in prepared
        ]
        return _AppendArgs(
            aggregate_id,
            aggregate_type,
            expected,
            stamped_from,
            [e.event_id for e in events],
            [e.event_type for e in events],
            [e.event_version for e in events],
            [e.tenant_id for e in events],
            [e.occurred_at for e in events],
            [p.payload for p in prepared],
            outbox,
            self.options.notify,
            max(1, int(self.options.lock_timeout * 1000)),
            [at for at, _ in spans],
            [length for _, length in spans],
        )

    async def _append(
        self,
        aggregate_id: UUID,
        aggregate_type: str,
        expected: int,
        prepared: list[PreparedEvent],
        args: _AppendArgs,
    ) -> AppendResult:
        initialized_here = False
        for _attempt in range(5):
            try:
                if self._group is not None and self._batching:
                    row = await self._group.append(args)
                else:
                    row = await self._append_once(args)
            except _Retry:
                continue  # ANY met a writer that bypassed the lock: positions are fresh now
            except _NotInitialized:
                if not self.auto_initialize or initialized_here:
                    raise ConfigurationError(
                        f"schema {self.schema!r} is not initialized: call initialize()"
                    ) from None
                await self.initialize()
                initialized_here = True
                continue
            except (OptimisticLockError, DuplicateEventError) as error:
                conflict: Exception = error
            except ConnectionLostError:
                committed = await self._committed(args)
                if committed is not None:
                    return committed
                raise
            except _FlushFailed as failed:
                committed = await self._committed(args)
                if committed is not None:
                    return committed
                cause = failed.__cause__
                raise StorageError(
                    f"an append to {aggregate_type} {aggregate_id} committed with its flush "
                    f"deferred, the flush failed ({cause!r}), and it could not be confirmed "
                    "on another connection: its outcome is unknown (a retry with the same "
                    "event ids gets its result if it is stored)"
                ) from cause
            else:
                n = len(prepared)
                return AppendResult(True, row[0] + n, row[1], n)
            # Only on a conflict (never before an append): a retry of a stored append gets the
            # original result; DuplicateEventError when it holds stored ids but is no retry.
            original = original_result(
                aggregate_id, aggregate_type, expected, args.event_ids, await self._places(args)
            )
            if original is None:
                raise conflict
            return original
        raise OptimisticLockError(
            aggregate_id,
            expected,
            await self.get_stream_version(aggregate_id, aggregate_type),
            aggregate_type,
        )

    async def _append_once(self, args: _AppendArgs) -> Any:
        """One append in its own transaction: the row (current_version, last_position)."""

        async def op(conn: Any) -> Any:
            try:
                row = await conn.fetchrow(self._append_sql, *args, _may_defer(conn))
            except asyncpg.PostgresError as exc:
                mapped = self._append_error(
                    exc, args.aggregate_id, args.aggregate_type, args.expected
                )
                if mapped is exc:
                    raise
                raise mapped from exc
            if row[2]:
                await _flush(conn, self._flush_sql)  # durable before it is reported
            return row

        return await self._source.run(op)

    async def _append_batch(self, appends: list[_AppendArgs], lock_timeout: float) -> list[Any]:
        """Several appends in one transaction (group commit): per append, its row as
        :meth:`_append_once` returns it, or its OptimisticLockError / DuplicateEventError
        (which its caller's task, in :meth:`_append`, then checks for a retry of a stored
        append: a refused append never fails the others, nor delays the next batch).

        Raises a batch-wide failure (lost connection, lock timeout: every caller gets it) or
        :class:`RunAlone` when the batch failed for what may be one append's fault.
        """
        args = (
            [a.aggregate_id for a in appends],
            [a.aggregate_type for a in appends],
            [a.expected for a in appends],
            [a.stamped_from for a in appends],
            [len(a.event_ids) for a in appends],
            [a.outbox for a in appends],
            list(chain.from_iterable(a.event_ids for a in appends)),
            list(chain.from_iterable(a.event_types for a in appends)),
            list(chain.from_iterable(a.event_versions for a in appends)),
            list(chain.from_iterable(a.tenant_ids for a in appends)),
            list(chain.from_iterable(a.occurred_at for a in appends)),
            list(chain.from_iterable(a.payloads for a in appends)),
            self.options.notify,
            max(1, int(lock_timeout * 1000)),
            list(chain.from_iterable(a.version_at for a in appends)),
            list(chain.from_iterable(a.version_len for a in appends)),
        )

        async def op(conn: Any) -> Any:
            try:
                rows = await conn.fetch(self._batch_sql, *args, _may_defer(conn))
            except asyncpg.PostgresError as exc:
                if is_connection_lost(exc) or isinstance(exc, asyncpg.LockNotAvailableError):
                    raise  # the same for every append of the batch
                if isinstance(exc, _NOT_INITIALIZED):
                    raise _NotInitialized from exc
                raise RunAlone from exc  # e.g. a writer that bypassed the lock: nothing written
            if rows and rows[0][3]:
                await _flush(conn, self._flush_sql)  # durable before any is reported
            return rows

        for attempt in range(2):
            try:
                rows = await self._source.run(op)
                break
            except _NotInitialized:
                if attempt == 0 and self.auto_initialize:
                    await self.initialize()  # creates a missing schema, upgrades an older one
                    continue
                if not self.auto_initialize:
                    self._batching = False
                    log.warning(
                        "schema %r has no eventsource_append_batch (missing, or an older "
                        "schema version): group commit is off until initialize()",
                        self.schema,
                    )
                raise RunAlone from None  # each append alone reports or initializes
        outcomes: list[Any] = []
        for append, row in zip(appends, rows, strict=True):
            if row[1] is not None:
                outcomes.append(row)
            elif row[2] is not None:
                outcomes.append(DuplicateEventError(row[2]))
            else:
                outcomes.append(
                    OptimisticLockError(
                        append.aggregate_id, append.expected, row[0], append.aggregate_type
                    )
                )
        return outcomes

    def _append_error(
        self, exc: asyncpg.PostgresError, aggregate_id: UUID, aggregate_type: str, expected: int
    ) -> BaseException:
        if exc.sqlstate == STREAM_DELETED:
            hard = getattr(exc, "detail", None) == "true"
            return StreamDeletedError(aggregate_id, aggregate_type, hard=hard)
        if exc.sqlstate == VERSION_CONFLICT:
            actual = int(getattr(exc, "detail", None) or 0)
            return OptimisticLockError(aggregate_id, expected, actual, aggregate_type)
        if isinstance(exc, asyncpg.UniqueViolationError):
            constraint = getattr(exc, "constraint_name", None)
            if constraint == "events_event_id_key":
                found = _UUID_IN_DETAIL.search(getattr(exc, "detail", None) or "")
                return DuplicateEventError(UUID(found.group(1)) if found else None)
            return _Retry()
        if isinstance(exc, _NOT_INITIALIZED):
            return _NotInitialized()
        if is_unstorable_text(exc):
            return SerializationError(
                f"an event appended to {aggregate_type} {aggregate_id} cannot be stored in "
                f"PostgreSQL: "
                f"{exc.args[0] if exc.args else exc}"
            )
        error: BaseException = exc
        return error

    async def _places(self, args: _AppendArgs) -> list[StoredPlace]:
        """Where the append's event ids are stored (one read, retried on a lost connection)."""
        rows = await self._fetch(
            "SELECT event_id, aggregate_id, aggregate_type, aggregate_version, global_position "
            f"FROM {self._s}.events WHERE event_id = ANY($1::uuid[])",
            args.event_ids,
        )
        return [StoredPlace(*row) for row in rows]

    async def _committed(self, args: _AppendArgs) -> AppendResult | None:
        """After a lost connection: the append's result if it did commit, else None. A commit
        found is flushed first (it may have deferred its flush and lost the connection before
        it ran)."""
        try:
            places = await self._places(args)
            result = original_result(
                args.aggregate_id, args.aggregate_type, args.expected, args.event_ids, places
            )
            if result is not None:
                await self._source.run(lambda conn: conn.execute(self._flush_sql))
            return result
        except Exception:  # unreachable, or stored elsewhere: this append did not commit
            return None

    def _warn_slow_append(self, aggregate_id: UUID, aggregate_type: str) -> None:
        async def warn() -> None:
            try:
                holders = await self.in_flight_appends()
            except Exception as exc:
                holders = []
                log.debug("could not list in-flight appends: %s", exc)
            holder = next((h for h in holders if h.holding), None)
            log.warning(
                "append to %s %s has waited %.1fs for the global-order lock of schema %r; "
                "held by %s",
                aggregate_type,
                aggregate_id,
                self.options.lock_warn_after,
                self.schema,
                "nobody (committing)"
                if holder is None
                else f"pid {holder.pid} ({holder.state}, transaction open "
                f"{holder.transaction_seconds:.1f}s): {holder.query!r}",
            )

        task = asyncio.ensure_future(warn())
        self._warnings.add(task)
        task.add_done_callback(self._warnings.discard)

    async def in_flight_appends(self) -> list[InFlightAppend]:
        """Transactions holding or waiting for this schema's append lock, holder first.

        A holder whose transaction has been open for long stalls every writer (and so every
        live reader): this is how to find it. Appends log a warning naming it after
        ``lock_warn_after`` seconds.
        """
        return await self._source.run(
            lambda conn: fetch_in_flight_appends(conn, self.options.lock_key), retry=True
        )

    # -- stream lifecycle ----------------------------------------------------------------------

    async def _record(self, conn: Any, event: DomainEvent) -> None:
        """Append a lifecycle event to its system stream, in the caller's transaction."""
        _, prepared = prepare_append(
            self, event.aggregate_id, event.aggregate_type, [event], ExpectedVersion.ANY
        )
        args = self._append_args(
            event.aggregate_id, event.aggregate_type, ExpectedVersion.ANY, prepared, False
        )
        await conn.fetchrow(self._append_sql, *args, False)

    async def _lifecycle(self, op: Any) -> int:
        if not self._initialized and self.auto_initialize:
            await self.initialize()
        count: int = await self._source.run(op)
        return count

    async def delete_stream(
        self, aggregate_id: UUID, aggregate_type: str, hard: bool = False
    ) -> int:
        aid, atype = check_lifecycle_key(aggregate_id, aggregate_type)
        key = self.options.lock_key
        return await self._lifecycle(
            lambda c: lifecycle.delete_stream(c, self._s, key, aid, atype, hard, self._record)
        )

    async def restore_stream(self, aggregate_id: UUID, aggregate_type: str) -> int:
        aid, atype = check_lifecycle_key(aggregate_id, aggregate_type)
        key = self.options.lock_key
        return await self._lifecycle(
            lambda c: lifecycle.restore_stream(c, self._s, key, aid, atype, self._record)
        )

    async def truncate_stream(self, aggregate_id: UUID, aggregate_type: str, *, before: int) -> int:
        aid, atype, first_kept = check_truncate(aggregate_id, aggregate_type, before)
        key = self.options.lock_key
        return await self._lifecycle(
            lambda c: lifecycle.truncate_stream(
                c, self._s, key, aid, atype, first_kept, self._record
            )
        )

    async def _stored_versions(self) -> dict[tuple[str, int], int]:
        if not self._initialized and self.auto_initialize:
            await self.initialize()
        rows = await self._source.run(
            lambda c: c.fetch(
                f"SELECT event_type, event_version, count(*) FROM {self._s}.events GROUP BY 1, 2"
            ),
            retry=True,
        )
        return {(r[0], int(r[1])): int(r[2]) for r in rows}

    async def _read_retention(self) -> dict[str, RetentionPolicy]:
        if not self._initialized and self.auto_initialize:
            await self.initialize()
        policies: dict[str, RetentionPolicy] = await self._source.run(
            lambda c: lifecycle.read_retention(c, self._s), retry=True
        )
        return policies

    async def _write_retention(self, aggregate_type: str, policy: RetentionPolicy | None) -> None:
        if not self._initialized and self.auto_initialize:
            await self.initialize()
        await self._source.run(
            lambda c: lifecycle.write_retention(c, self._s, aggregate_type, policy)
        )

    async def _stream_extents(
        self, aggregate_type: str, cutoff: datetime | None
    ) -> list[tuple[UUID, int, int, int | None]]:
        extents: list[tuple[UUID, int, int, int | None]] = await self._source.run(
            lambda c: lifecycle.stream_extents(c, self._s, aggregate_type, cutoff), retry=True
        )
        return extents

    # -- bulk transfer (eventsource migrate) ---------------------------------------------------

    async def transfer_position(self) -> int:
        position: int = await self._source.run(
            lambda c: transfer.transfer_position(c, self._s), retry=True
        )
        return position

    async def count_rows(self, after_position: int = 0) -> int:
        after, _ = check_export_args(after_position, 1)
        count: int = await self._source.run(
            lambda c: transfer.count_rows(c, self._s, after), retry=True
        )
        return count

    async def export_rows(self, after_position: int, limit: int) -> list[RawEvent]:
        after, count = check_export_args(after_position, limit)
        rows: list[RawEvent] = await self._source.run(
            lambda c: transfer.export_rows(c, self._s, after, count), retry=True
        )
        return rows

    async def export_marks(self) -> list[StreamMark]:
        marks: list[StreamMark] = await self._source.run(
            lambda c: transfer.export_marks(c, self._s), retry=True
        )
        return marks

    async def import_rows(self, rows: Sequence[RawEvent]) -> int:
        # the json column refuses what is not JSON (an InvalidEventError from _transfer)
        checked = check_import_rows(rows, 0, self.max_event_bytes, parse=False)
        if not checked:
            return 0
        options = self.options
        channel = options.channel if options.notify else None
        return await self._lifecycle(
            lambda c: transfer.import_rows(
                c, self._s, options.schema, options.lock_key, channel, checked
            )
        )

    async def import_marks(self, marks: Sequence[StreamMark]) -> int:
        checked = check_import_marks(marks)
        key = self.options.lock_key
        return await self._lifecycle(lambda c: transfer.import_marks(c, self._s, key, checked))

    # -- reading -------------------------------------------------------------------------------

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        rows: list[Any] = await self._source.run(lambda conn: conn.fetch(sql, *args), retry=True)
        return rows

    async def _fetchval(self, sql: str, *args: Any) -> Any:
        return await self._source.run(lambda conn: conn.fetchval(sql, *args), retry=True)

    async def _read(self, method: str, sql: str, *args: Any, earlier: str | None = None) -> Any:
        """``conn.<method>(sql, *args)`` for a read bounded by :data:`READ_BOUND`; on a schema
        of an earlier version (not upgraded: it has no ``append_marks``, and its appends never
        defer a flush) ``earlier`` instead, by default the same read unbounded."""

        async def op(conn: Any) -> Any:
            try:
                return await getattr(conn, method)(sql, *args)
            except asyncpg.UndefinedTableError as exc:
                if "append_marks" not in str(exc):
                    raise
                unbounded = sql.replace(self._bound, _UNBOUNDED) if earlier is None else earlier
                return await getattr(conn, method)(unbounded, *args)

        return await self._source.run(op, retry=True)

    async def get_events(
        self,
        aggregate_id: UUID,
        aggregate_type: str | None = None,
        from_version: int = 0,
        from_timestamp: datetime | None = None,
        to_timestamp: datetime | None = None,
    ) -> EventStream:
        check_get_events(aggregate_id, aggregate_type, from_version, from_timestamp, to_timestamp)
        where = ["aggregate_id = $1"]
        args: list[Any] = [aggregate_id]
        if aggregate_type is not None:
            args.append(aggregate_type)
            where.append(f"aggregate_type = ${len(args)}")
        filtered = bool(from_version) or from_timestamp is not None or to_timestamp is not None
        base = " AND ".join(where)
        conditions = list(where)
        fargs = list(args)
        if from_version:
            fargs.append(from_version)
            conditions.append(f"aggregate_version > ${len(fargs)}::bigint")  # may pass 2**31
        if from_timestamp is not None:
            fargs.append(from_timestamp)
            conditions.append(f"occurred_at >= ${len(fargs)}")
        if to_timestamp is not None:
            fargs.append(to_timestamp)
            conditions.append(f"occurred_at <= ${len(fargs)}")
        rows = await self._fetch(
            "SELECT payload, event_type, event_version, aggregate_version, aggregate_type, "
            f"global_position, {STREAM_ID}, event_id "
            f"FROM {self._s}.events WHERE {' AND '.join(conditions)} ORDER BY global_position",
            *fargs,
        )
        decode = PageDecoder(self.event_registry)
        events = [decode(r[0], r[1], r[2], r[5], r[6], r[3], r[7]) for r in rows]
        if filtered:
            head = await self._source.run(
                lambda conn: conn.fetchrow(
                    f"SELECT max(aggregate_version), min(aggregate_type) "
                    f"FROM {self._s}.events WHERE {base}",
                    *args,
                ),
                retry=True,
            )
            version, found_type = head[0] or 0, head[1]
        else:
            version = max((r[3] for r in rows), default=0)
            found_type = rows[0][4] if rows else None
        return EventStream(aggregate_id, aggregate_type or found_type or "", events, version)

    async def read_stream(
        self, stream_id: str, options: ReadOptions | None = None
    ) -> AsyncIterator[StoredEvent]:
        aggregate_id, aggregate_type = parse_stream_id(stream_id)
        options = check_read_options(options)
        base = (("aggregate_id", aggregate_id), ("aggregate_type", aggregate_type))
        pages = self._pages(options, "aggregate_version", base)
        async with contextlib.aclosing(pages):
            async for rows in pages:
                for stored in decode_stored(self.event_registry, rows, options.lazy):
                    yield stored

    async def read_all(self, options: ReadOptions | None = None) -> AsyncIterator[StoredEvent]:
        options = check_read_options(options)
        pages = self._pages(options, "global_position", ())
        async with contextlib.aclosing(pages):
            async for rows in pages:
                # decoded one row at a time as taken (lazily: on access of .event)
                for stored in decode_stored(self.event_registry, rows, options.lazy):
                    yield stored

    async def read_all_shard(
        self, shard: int, shards: int, options: ReadOptions | None = None
    ) -> AsyncIterator[StoredEvent]:
        index, count = check_shard(shard, shards)
        options = check_read_options(options)
        base = ((shard_of_row(count), index),)  # evaluated by the server: other rows stay there
        pages = self._pages(options, "global_position", base)
        async with contextlib.aclosing(pages):
            async for rows in pages:
                for stored in decode_stored(self.event_registry, rows, options.lazy):
                    yield stored

    async def _pages(
        self, options: ReadOptions, key: str, base: Sequence[tuple[str, Any]]
    ) -> AsyncGenerator[list[Any], None]:
        # Keyset pagination; each page is one short query on a pooled connection, so a long
        # read neither holds a connection nor a snapshot. Commit order == position order, so
        # resuming after the last position seen never skips an event. The next page is fetched
        # while this one is decoded and consumed.
        cursor = options.from_position
        remaining = options.limit
        column = 1 if key == "aggregate_version" else 0
        size = self.page_size if remaining is None else min(self.page_size, remaining)
        if size <= 0:
            return
        pending: asyncio.Task[list[Any]] | None = None
        ordered = key == "global_position"
        forward = options.direction is ReadDirection.FORWARD
        if ordered and not forward:
            await self._release_stale_marks()  # a read from the head: the head must move on
        try:
            rows = await self._page(options, key, base, cursor, size)
            while True:
                if rows:
                    full = len(rows) == size
                    if remaining is not None:
                        remaining -= len(rows)
                        size = min(self.page_size, remaining)
                    cursor = rows[-1][column]
                    if full and size > 0:
                        pending = asyncio.ensure_future(
                            self._page(options, key, base, cursor, size)
                        )
                    yield rows
                    if size <= 0:
                        return
                    if pending is not None:
                        rows, pending = await pending, None
                        continue
                # The end of the log, or of what may be read: marks left by writers that
                # never flushed would hold the rest back for good, so they go first.
                if not (ordered and forward and await self._release_stale_marks()):
                    return
                rows = await self._page(options, key, base, cursor, size)
                if not rows:
                    return
        finally:
            if pending is not None:
                # The reader stopped early: drop the read-ahead, and retrieve its error if it
                # already failed (else asyncio logs "exception was never retrieved").
                pending.cancel()
                if pending.done() and not pending.cancelled():
                    pending.exception()

    async def _page(
        self,
        options: ReadOptions,
        key: str,
        base: Sequence[tuple[str, Any]],
        cursor: int | None,
        size: int,
    ) -> list[Any]:
        sql, args = page_query(self._s, options, cursor, key=key, base=base)
        rows: list[Any] = await self._read("fetch", sql, *args, size)
        return rows

    async def get_events_by_type(
        self,
        aggregate_type: str,
        tenant_id: UUID | None = None,
        from_timestamp: datetime | None = None,
    ) -> list[DomainEvent]:
        check_get_events_by_type(aggregate_type, tenant_id, from_timestamp)
        args: list[Any] = [aggregate_type]
        where = ["aggregate_type = $1"]
        if tenant_id is not None:
            args.append(tenant_id)
            where.append(f"tenant_id = ${len(args)}")
        if from_timestamp is not None:
            args.append(from_timestamp)
            where.append(f"occurred_at >= ${len(args)}")
        rows = await self._read(
            "fetch",
            "SELECT payload, event_type, event_version, global_position, "
            f"{STREAM_ID}, aggregate_version, event_id FROM {self._s}.events "
            f"WHERE {' AND '.join(where)} AND global_position < {self._bound} "
            "ORDER BY global_position",
            *args,
        )
        decode = PageDecoder(self.event_registry)
        return [decode(r[0], r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows]

    async def event_exists(self, event_id: UUID) -> bool:
        check_event_id(event_id)
        return bool(
            await self._fetchval(
                f"SELECT EXISTS (SELECT 1 FROM {self._s}.events WHERE event_id = $1)", event_id
            )
        )

    async def get_event_position(self, event_id: UUID) -> int | None:
        check_event_id(event_id)
        value = await self._fetchval(
            f"SELECT global_position FROM {self._s}.events WHERE event_id = $1", event_id
        )
        return None if value is None else int(value)

    async def get_stream_version(self, aggregate_id: UUID, aggregate_type: str) -> int:
        check_stream_key(aggregate_id, aggregate_type)
        value = await self._fetchval(
            f"SELECT coalesce(max(aggregate_version), 0) FROM {self._s}.events "
            "WHERE aggregate_id = $1 AND aggregate_type = $2",
            aggregate_id,
            aggregate_type,
        )
        return int(value)

    async def get_global_position(self) -> int:
        # the readable head: short of an append whose flush is still owed
        head, held, stale = await self._head()
        if await self._clear_if_stale(held, stale):
            head, _, _ = await self._head()
        return head

    async def _release_stale_marks(self) -> bool:
        """Clear the marks that hold readers back if they are stale; whether it did. Looks at
        most once per :data:`_STALE_CHECK_EVERY` seconds (a stale mark is rare: a writer that
        died between its commit and its flush), so a reader at the head pays no round trip
        per read for it."""
        now = asyncio.get_running_loop().time()
        if now - self._stale_checked_at < _STALE_CHECK_EVERY:
            return False
        self._stale_checked_at = now
        _, held, stale = await self._head()
        return await self._clear_if_stale(held, stale)

    async def _clear_if_stale(self, held: bool, stale: bool) -> bool:
        """Clear the stale marks when a stale one holds readers back; whether it did."""
        if held and stale:
            await self._clear_stale_marks()
            return True
        return False

    async def _head(self) -> tuple[int, bool, bool]:
        """The readable head; whether events past it wait for their flush; whether a mark
        holding them back is stale (its writer gone or stuck past :data:`STALE_MARK_AFTER`)."""
        row = await self._read(
            "fetchrow",
            self._head_sql,
            self.stale_mark_after,
            earlier=f"SELECT coalesce(max(global_position), 0), NULL, $1::float8 < 0 "
            f"FROM {self._s}.events",
        )
        head, bound, stale = int(row[0]), row[1], bool(row[2])
        if bound is None or bound > head:
            return head, False, False
        return int(bound) - 1, True, stale

    async def _clear_stale_marks(self) -> None:
        """Clear marks left by writers that never flushed: this synchronous commit flushes
        their commits (WAL is flushed in order), so their events may be read."""
        await self._source.run(
            lambda conn: conn.execute(self._clear_stale_sql, self.stale_mark_after), retry=True
        )

    async def wait_for_events(self, after_position: int, timeout: float) -> bool:
        """Wait for an event past ``after_position``: woken by NOTIFY from appends, with a
        position check every ``poll_interval`` seconds (all there is with ``notify=false``)."""
        timeout = check_wait(after_position, timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        listening = self.options.notify and await self._listener.start()
        listener = self._listener
        # A shared channel also carries other schemas' positions: only a wakeup, then a check.
        # On our own, an announced position is trusted unless an append that deferred its
        # flush announced it (or one below it): then the readable head is checked.
        trusted = listening and not self.options.channel_is_shared
        held_poll = _HELD_POLL
        while True:
            signal = listener.signal()  # before the checks: a NOTIFY during them still wakes us
            # trusted once per position: a caller back with the same position found nothing
            # (an announcement missed while the listener was down), so the head is checked
            fresh = after_position != self._trusted_after
            if trusted and fresh and listener.readable > after_position:
                self._trusted_after = after_position
                return True
            head, held, stale = await self._head()
            listener.seen_readable(head)
            if head > after_position:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            if held:  # events past the head wait for their writer's flush: moments
                if not await self._clear_if_stale(held, stale):
                    await asyncio.sleep(min(remaining, held_poll))
                    held_poll = min(held_poll * 2, _HELD_POLL_MAX)
                continue
            step = min(remaining, self.options.poll_interval)
            if listening and listener.is_listening:
                await listener.wait(step, signal)
            else:
                await asyncio.sleep(step)
                if listening:
                    await listener.start()

    def __repr__(self) -> str:
        return f"<PostgreSQLEventStore {self._source.where} schema={self.schema!r}>"
