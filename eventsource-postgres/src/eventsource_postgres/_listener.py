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

    The connection is opened on first use (outside the pool when the store has a URL, else
    taken from the pool for good). When it drops, waiters fall back to polling until the next
    wait re-opens it.
    """

    def __init__(self, source: ConnectionSource, channel: str) -> None:
        self.source = source
        self.channel = channel
        self.position = 0
        self._conn: Any = None
        self._pooled = False
        self._changed = asyncio.Event()
        self._lock = asyncio.Lock()

    @property
    def is_listening(self) -> bool:
        """True while the LISTEN connection is up."""
        return self._conn is not None and not self._conn.is_closed()

    async def start(self) -> bool:
        """Open the connection and LISTEN (idempotent); False when that fails."""
        if self.is_listening:
            return True
        async with self._lock:
            if self.is_listening:
                return True
            try:
                conn = await self.source.connect_one()
                self._pooled = conn is None
                if conn is None:
                    if self.source.pool is None:
                        await self.source.open()
                    if self.source.pool is None:  # a caller's connection: no room to listen
                        return False
                    conn = await self.source.pool.acquire()
                await conn.add_listener(self.channel, self._on_notify)
                conn.add_termination_listener(self._on_terminated)
            except Exception as exc:
                log.warning("LISTEN on %s failed, polling instead: %s", self.channel, exc)
                return False
            self._conn = conn
            return True

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        try:
            position = int(payload)
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
        """Stop listening and release the connection; idempotent."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(Exception):
            if not conn.is_closed():
                await conn.remove_listener(self.channel, self._on_notify)
            if self._pooled and self.source.pool is not None:
                await self.source.pool.release(conn)
            else:
                await conn.close()
        self._wake()
