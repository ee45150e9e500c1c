"""Where a store or repository gets its connections: a pool (its own or a caller's) or one
caller-owned connection, with failures translated to typed errors."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg

from eventsource.spi import (
    BackendURL,
    ConfigurationError,
    EventSourceError,
    StorageUnavailableError,
    parse_url,
)

from ._errors import is_connection_lost, translate_error, unavailable
from ._legacy import refuse_legacy
from ._options import PostgresOptions, connect_kwargs

__all__ = ["ConnectionSource", "url_of_session_factory"]

#: Errors of a schema without our tables or columns: perhaps one of eventsource-py 0.5.0.
_MISSING = (asyncpg.UndefinedTableError, asyncpg.UndefinedColumnError)

T = TypeVar("T")


def url_of_session_factory(source: Any) -> BackendURL | None:
    """The database URL behind a SQLAlchemy ``async_sessionmaker`` or ``AsyncEngine``.

    Duck-typed so SQLAlchemy is not a dependency: a sessionmaker keeps its engine in
    ``kw["bind"]``, and an engine has ``url.render_as_string()``.
    """
    kw = getattr(source, "kw", None)
    engine = kw.get("bind") if isinstance(kw, dict) else source
    url = getattr(engine, "url", None)
    render = getattr(url, "render_as_string", None)
    if render is None:
        return None
    return parse_url(str(render(hide_password=False)))


async def _keep_session(conn: Any) -> None:
    """Pool reset for our own pools: nothing to undo.

    asyncpg's default reset costs a round trip per release (``RESET ALL; UNLISTEN *; ...``).
    Our statements leave no session state (settings and advisory locks are transaction-local,
    LISTEN runs on a separate connection), and asyncpg still rolls back an open transaction
    before calling this.
    """


def _is_pool(obj: Any) -> bool:
    return isinstance(obj, asyncpg.Pool)


def _is_connection(obj: Any) -> bool:
    return hasattr(obj, "fetch") and hasattr(obj, "transaction") and not _is_pool(obj)


class ConnectionSource:
    """Hands out connections and runs operations on them.

    Built over a URL (opens and owns its pool), a caller's asyncpg pool, or a caller's
    connection (used as is: statements join whatever transaction the caller has open, and
    nothing here ever commits it).
    """

    def __init__(
        self,
        options: PostgresOptions,
        *,
        url: BackendURL | None = None,
        pool: Any = None,
        connection: Any = None,
    ) -> None:
        self.options = options
        self.url = url
        self.pool: Any = pool
        self.connection: Any = connection
        self.owns_pool = pool is None and connection is None
        self._kwargs = connect_kwargs(url) if url is not None else {}
        if self.owns_pool and url is None:
            raise ConfigurationError("a PostgreSQL store needs a URL, a pool or a connection")
        self._lock = asyncio.Lock()
        self._closed = False
        #: Incremented by every explicit :meth:`open` (a store's ``connect()``).
        self.generation = 0
        self.where = str(url) if url is not None else "a caller-provided pool/connection"

    @classmethod
    def wrap(cls, source: Any, options: PostgresOptions) -> ConnectionSource:
        """A source over a pool or connection object."""
        if _is_pool(source):
            return cls(options, pool=source)
        if _is_connection(source):
            return cls(options, connection=source)
        raise ConfigurationError(
            f"expected an asyncpg Pool or Connection, got {type(source).__name__}"
        )

    @property
    def is_open(self) -> bool:
        """True when connections can be handed out without opening a pool first."""
        return self.pool is not None or self.connection is not None

    @property
    def closed(self) -> bool:
        """True from :meth:`close` until the next explicit :meth:`open`: nothing is opened
        meanwhile, so a task still running against a closed store cannot leak a new pool or
        LISTEN connection."""
        return self._closed

    async def open(self) -> None:
        """Open the owned pool (idempotent; reopens after :meth:`close`); unreachable servers
        raise StorageUnavailableError."""
        self._closed = False
        self.generation += 1
        await self.ensure_open()

    async def ensure_open(self) -> None:
        """Open the owned pool on first use; StorageUnavailableError once closed."""
        self._check_not_closed()
        if self.is_open:
            return
        async with self._lock:
            self._check_not_closed()
            if self.is_open:
                return
            opts = self.options
            try:
                # A failed or cancelled create_pool closes the connections it opened.
                pool = await asyncpg.create_pool(
                    reset=_keep_session,
                    min_size=opts.pool_min,
                    max_size=opts.pool_max,
                    statement_cache_size=opts.statement_cache_size,
                    command_timeout=opts.command_timeout,
                    timeout=opts.connect_timeout,
                    server_settings=self._server_settings(),
                    **self._kwargs,
                )
            except Exception as exc:
                raise unavailable(exc, self.where, opts.connect_timeout) from exc
            if self._closed:  # closed while the pool was opening: nobody would close it
                pool.terminate()
                self._check_not_closed()
            self.pool = pool

    def _check_not_closed(self) -> None:
        if self._closed:
            raise StorageUnavailableError(
                f"the PostgreSQL store at {self.where} is closed (connect() reopens it)"
            )

    async def close(self) -> None:
        """Close the pool if this source opened it; idempotent. Until the next :meth:`open`,
        operations raise StorageUnavailableError instead of opening a new pool."""
        self._closed = True
        if not self.owns_pool:
            return
        pool, self.pool = self.pool, None
        if pool is not None:
            await pool.close()

    def _server_settings(self) -> dict[str, str]:
        """Session settings of the store's own connections."""
        cost = self.options.random_page_cost
        return {} if cost is None else {"random_page_cost": repr(cost)}

    async def connect_one(self) -> Any:
        """A new connection outside the pool (for LISTEN), or None without a URL."""
        if not self._kwargs:
            return None
        self._check_not_closed()
        return await asyncpg.connect(
            statement_cache_size=self.options.statement_cache_size,
            timeout=self.options.connect_timeout,
            **self._kwargs,
        )

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Any]:
        """A connection for one operation."""
        if self.connection is not None:
            yield self.connection
            return
        if self.pool is None or self._closed:
            await self.ensure_open()
        async with self.pool.acquire() as conn:
            yield conn

    async def run(self, op: Callable[[Any], Awaitable[T]], *, retry: bool = False) -> T:
        """Run ``op`` on a connection, translating failures to typed errors.

        A lost connection expires the pool's connections so the next operation gets fresh
        ones; with ``retry`` (idempotent operations only) ``op`` runs once more on a new one.
        """
        attempts = 2 if retry and self.connection is None else 1
        for attempt in range(attempts):
            started = False
            try:
                async with self.acquire() as conn:
                    started = True
                    return await op(conn)
            except EventSourceError:
                raise
            except Exception as exc:
                if not started:  # no connection to be had: the server is unreachable
                    raise unavailable(exc, self.where, self.options.connect_timeout) from exc
                lost = is_connection_lost(exc)
                if lost:
                    await self.expire()
                    if attempt + 1 < attempts:
                        continue
                if isinstance(exc, _MISSING):
                    await self._refuse_legacy()
                err = translate_error(exc, self.where)
                if err is None:
                    raise
                raise err from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _refuse_legacy(self) -> None:
        """After a missing table or column: raise LegacySchemaError if the schema is one of
        eventsource-py 0.5.0 (or an unfinished conversion of one); else return."""
        try:
            async with self.acquire() as conn:
                await refuse_legacy(conn, self.options, self.where)
        except EventSourceError:
            raise
        except Exception:
            return

    async def expire(self) -> None:
        """Replace the pool's connections on their next use (after a lost connection)."""
        if self.pool is not None:
            # Best effort: the next acquire reconnects a closed connection anyway.
            with contextlib.suppress(Exception):
                await self.pool.expire_connections()
