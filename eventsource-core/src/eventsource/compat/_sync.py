"""eventsource-py 0.5.0's ``SyncEventStoreAdapter``: an event store for synchronous code."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from datetime import datetime
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from .._exceptions import InvalidStateError, StorageUnavailableError
from ..events import DomainEvent
from ..stores._contract import EventStore
from ..stores._types import AppendResult, EventStream, ReadOptions, StoredEvent

__all__ = ["SyncEventStoreAdapter"]

T = TypeVar("T")


class SyncEventStoreAdapter:
    """Blocking wrappers around an :class:`EventStore`'s methods (``*_sync``).

    Each call runs the store's coroutine on ``loop`` (by default one private event loop in a
    daemon thread, shared by every adapter) and waits up to ``timeout`` seconds for it; a
    timeout raises :class:`StorageUnavailableError`. Pass ``loop=`` the loop the store was
    opened on when the store's connections belong to a loop (PostgreSQL), and call the
    adapter from other threads. Calling it from that loop's own thread raises
    :class:`InvalidStateError` (it would wait on itself).
    """

    _shared_loop: ClassVar[asyncio.AbstractEventLoop | None] = None
    _shared_thread: ClassVar[threading.Thread | None] = None
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        event_store: EventStore,
        timeout: float = 30.0,
        *,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self._store = event_store
        self._timeout = timeout
        self._loop = loop

    @property
    def wrapped_store(self) -> EventStore:
        """The store the calls go to."""
        return self._store

    @property
    def timeout(self) -> float:
        """The default timeout of each call, in seconds."""
        return self._timeout

    @classmethod
    def _private_loop(cls) -> asyncio.AbstractEventLoop:
        with cls._shared_lock:
            if cls._shared_loop is None or cls._shared_loop.is_closed():
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="eventsource-sync", daemon=True
                )
                thread.start()
                cls._shared_loop, cls._shared_thread = loop, thread
            return cls._shared_loop

    @classmethod
    def shutdown_executor(cls) -> None:
        """Stop and close the private event loop (a later call starts a new one)."""
        with cls._shared_lock:
            loop, cls._shared_loop = cls._shared_loop, None
            thread, cls._shared_thread = cls._shared_thread, None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()

    def _run(self, coro: Coroutine[Any, Any, T], timeout: float | None) -> T:
        loop = self._loop if self._loop is not None else self._private_loop()
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            coro.close()
            raise InvalidStateError(
                "SyncEventStoreAdapter called from its own event loop: await the store instead"
            )
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return future.result(self._timeout if timeout is None else timeout)
        except TimeoutError:
            future.cancel()
            raise StorageUnavailableError(
                f"event store call did not finish within {timeout or self._timeout}s"
            ) from None

    def append_events_sync(
        self,
        aggregate_id: UUID,
        aggregate_type: str,
        events: Sequence[DomainEvent],
        expected_version: int,
        *,
        timeout: float | None = None,
    ) -> AppendResult:
        """:meth:`EventStore.append_events`, blocking."""
        return self._run(
            self._store.append_events(aggregate_id, aggregate_type, list(events), expected_version),
            timeout,
        )

    def get_events_sync(
        self,
        aggregate_id: UUID,
        aggregate_type: str | None = None,
        from_version: int = 0,
        from_timestamp: datetime | None = None,
        to_timestamp: datetime | None = None,
        *,
        timeout: float | None = None,
    ) -> EventStream:
        """:meth:`EventStore.get_events`, blocking."""
        return self._run(
            self._store.get_events(
                aggregate_id, aggregate_type, from_version, from_timestamp, to_timestamp
            ),
            timeout,
        )

    def get_events_by_type_sync(
        self,
        aggregate_type: str,
        tenant_id: UUID | None = None,
        from_timestamp: datetime | None = None,
        *,
        timeout: float | None = None,
    ) -> list[DomainEvent]:
        """:meth:`EventStore.get_events_by_type`, blocking."""
        return self._run(
            self._store.get_events_by_type(aggregate_type, tenant_id, from_timestamp), timeout
        )

    def get_stream_version_sync(
        self, aggregate_id: UUID, aggregate_type: str, *, timeout: float | None = None
    ) -> int:
        """:meth:`EventStore.get_stream_version`, blocking."""
        return self._run(self._store.get_stream_version(aggregate_id, aggregate_type), timeout)

    def event_exists_sync(self, event_id: UUID, *, timeout: float | None = None) -> bool:
        """:meth:`EventStore.event_exists`, blocking."""
        return self._run(self._store.event_exists(event_id), timeout)

    def read_all_sync(
        self, options: ReadOptions | None = None, *, timeout: float | None = None
    ) -> list[StoredEvent]:
        """:meth:`EventStore.read_all` as a list, blocking."""

        async def collect() -> list[StoredEvent]:
            return [stored async for stored in self._store.read_all(options)]

        return self._run(collect(), timeout)

    def get_global_position_sync(self, *, timeout: float | None = None) -> int:
        """:meth:`EventStore.get_global_position`, blocking."""
        return self._run(self._store.get_global_position(), timeout)
