"""A dedicated LISTEN connection that wakes readers when an append commits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from ._connections import ConnectionSource

__all__ = ["Listener"]

log = logging.getLogger("eventsource_postgres")


class Listener:
    """Tracks the highest position announced on the schema's channel.

    An append that deferred its flush announces ``last:first``: its events are not readable
    until its flush, so :attr:`readable` stays below ``first`` until a check of the store's
    head (:meth:`seen_readable`) shows them readable.

    The connection is opened on first use (outside the pool when the store has a URL, else
    taken from the pool for good). When it drops, waiters fall back to polling until the next
    wait re-opens it. After :meth:`close` nothing re-opens it until the source is explicitly
    opened again (the store's ``connect()``), and a connection that was still being opened when
    the listener closed (or whose task was cancelled meanwhile) is closed rather than left to
    the garbage collector.
    """

    def __init__(self, source: ConnectionSource, channel: str) -> None:
        self.source = source
        self.channel = channel
        self.position = 0
        self._held: set[int] = set()  # first positions of deferred appends not yet readable
        self._conn: Any = None
        self._pooled = False
        self._closed_in: int | None = None  # the source's generation when close() ran
        self._changed = asyncio.Event()
        self._lock = asyncio.Lock()

    @property
    def is_listening(self) -> bool:
        """True while the LISTEN connection is up."""
        return self._conn is not None and not self._conn.is_closed()

    @property
    def closed(self) -> bool:
        """True after :meth:`close` until the source is opened again."""
        return self._closed_in == self.source.generation

    async def start(self) -> bool:
        """Open the connection and LISTEN (idempotent); False when that fails or the listener
        is closed."""
        if self.is_listening:
            return True
        if self.closed:
            return False
        async with self._lock:
            if self.is_listening:
                return True
            if self.closed:
                return False
            conn: Any = None
            pooled = False
            try:
                conn = await self.source.connect_one()
                if conn is None:
                    if self.source.pool is None:
                        await self.source.ensure_open()
                    if self.source.pool is None:  # a caller's connection: no room to listen
                        return False
                    pooled = True
                    conn = await self.source.pool.acquire()
                await conn.add_listener(self.channel, self._on_notify)
                conn.add_termination_listener(self._on_terminated)
            except BaseException as exc:
                # Failed, or cancelled (the waiting task was): the connection is nobody's.
                if conn is not None:
                    await self._discard(conn, pooled)
                if not isinstance(exc, Exception):
                    raise
                log.warning("LISTEN on %s failed, polling instead: %s", self.channel, exc)
                return False
            if self.closed:  # closed while connecting: close() could not see this one
                await self._discard(conn, pooled)
                return False
            self._conn, self._pooled = conn, pooled
            return True

    async def _discard(self, conn: Any, pooled: bool) -> None:
        """Close (or give back to the pool) a connection that is not, or no longer, ours."""
        if not pooled:
            conn.terminate()  # synchronous: nothing to interrupt, even in a cancelled task
            return
        pool = self.source.pool
        try:
            with contextlib.suppress(Exception):
                if not conn.is_closed():
                    await conn.remove_listener(self.channel, self._on_notify)
        finally:
            if pool is None:
                conn.terminate()
            else:
                with contextlib.suppress(Exception):
                    await pool.release(conn)  # asyncpg shields the release from cancellation

    @property
    def readable(self) -> int:
        """The highest announced position known to be readable (a hint: notifications can
        be missed while the connection is down)."""
        return min(self.position, min(self._held) - 1) if self._held else self.position

    def seen_readable(self, head: int) -> None:
        """The store's readable head was ``head``: deferred appends below it are flushed."""
        if self._held:
            self._held = {first for first in self._held if first > head}

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        last, _, first = payload.partition(":")
        try:
            position = int(last)
            if first:
                self._held.add(int(first))
        except ValueError:
            return
        if position > self.position:
            self.position = position
            self._wake()

    def _on_terminated(self, conn: Any) -> None:
        if conn is self._conn:
            self._conn = None
        self._wake()

    def _wake(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def signal(self) -> asyncio.Event:
        """The event the next notification sets. Take it *before* checking the position, so
        a notification that arrives during the check is not lost."""
        return self._changed

    async def wait(self, timeout: float, signal: asyncio.Event | None = None) -> None:
        """Return once ``signal`` (default: the next notification, or connection loss) is
        set, or after ``timeout``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for((signal or self._changed).wait(), timeout)

    async def close(self) -> None:
        """Stop listening and release the connection; idempotent. Waiters wake up, and nothing
        listens again until the source is opened again."""
        self._closed_in = self.source.generation
        conn, self._conn = self._conn, None
        self._wake()
        if conn is None:
            return
        if not self._pooled:
            try:
                await conn.close()  # asyncpg aborts the connection if this fails or is cancelled
            except Exception as exc:
                log.debug("closing the LISTEN connection failed: %s", exc)
            return
        await self._discard(conn, True)
