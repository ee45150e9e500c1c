"""The base of every broker publisher: connect lazily, send one entry and wait for the broker's
confirm, turn the client library's errors into :class:`~eventsource.BrokerError`\\ s, and
reconnect after a failure."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from types import TracebackType
from typing import ClassVar, Self

from ..exceptions import (
    BrokerError,
    BrokerUnavailableError,
    ConfigurationError,
    PublishRejectedError,
)
from ..repositories import OutboxEntry
from ._message import BrokerMessage, message_for

__all__ = ["BrokerPublisher", "PublisherStats"]

log = logging.getLogger("eventsource.brokers")


class PublisherStats:
    """A publisher's counters: messages confirmed, duplicates the broker reported (already
    stored, so counted as published), failures, and connections opened."""

    __slots__ = ("connects", "duplicates", "failures", "published")

    def __init__(self) -> None:
        self.published = 0
        self.duplicates = 0
        self.failures = 0
        self.connects = 0

    def as_dict(self) -> dict[str, int]:
        """The counters by name."""
        return {name: getattr(self, name) for name in self.__slots__}


class BrokerPublisher(ABC):
    """An outbox publisher for one broker: ``await publisher(entry)`` returns only once the
    broker confirmed the message, and raises a :class:`~eventsource.BrokerError` otherwise
    (:class:`~eventsource.BrokerUnavailableError` when it could not be reached or did not
    answer within ``confirm_timeout``, :class:`~eventsource.PublishRejectedError` when it
    refused), so the relay retries with its backoff and marks the entry failed after its
    attempts. After a failure the connection is dropped and opened again on the next call.

    Use it as an async context manager (or call :meth:`close`); it connects on first use.
    """

    #: The broker's name, as in error messages and :attr:`BrokerError.broker`.
    broker: ClassVar[str] = ""

    def __init__(self, url: str, *, connect_timeout: float = 10.0, confirm_timeout: float = 10.0):
        if connect_timeout <= 0 or confirm_timeout <= 0:
            raise ConfigurationError("connect_timeout and confirm_timeout must be > 0 seconds")
        self.url = url
        self.connect_timeout = connect_timeout
        self.confirm_timeout = confirm_timeout
        self.stats = PublisherStats()
        self._connected = False
        self._lock = asyncio.Lock()

    async def __call__(self, entry: OutboxEntry) -> None:
        """Publish ``entry`` and wait for the broker's confirm (see the class docstring)."""
        message = message_for(entry)
        if not self._connected:
            await self.connect()
        try:
            # Each client bounds the wait for its confirm by confirm_timeout itself (one
            # timer fewer per message than an asyncio.timeout here).
            duplicate = await self._send(entry, message)
        except Exception as exc:
            self.stats.failures += 1
            error = self._error(exc)
            if isinstance(error, BrokerUnavailableError) or self._reset_after(exc):
                await self._drop()
            if error is exc:
                raise
            raise error from exc
        self.stats.published += 1
        if duplicate:
            self.stats.duplicates += 1

    async def connect(self) -> None:
        """Open the connection (and declare what the publisher needs) if it is not open."""
        async with self._lock:
            if self._connected:
                return
            try:
                async with asyncio.timeout(self.connect_timeout):
                    await self._open()
            except Exception as exc:
                await self._drop_unlocked()
                error = self._error(exc)
                if error is exc:
                    raise
                raise error from exc
            self._connected = True
            self.stats.connects += 1

    async def close(self) -> None:
        """Close the connection; the next publish opens a new one."""
        await self._drop()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _drop(self) -> None:
        async with self._lock:
            await self._drop_unlocked()

    async def _drop_unlocked(self) -> None:
        self._connected = False
        try:
            await self._close()
        except Exception as exc:  # a connection that is already broken may fail to close
            log.debug("%s: closing a broken connection failed: %s", self.broker, exc)

    def _error(self, exc: BaseException) -> BaseException:
        """``exc`` as a BrokerError (BrokerErrors and our own errors pass unchanged)."""
        if isinstance(exc, BrokerError | ConfigurationError):
            return exc
        if isinstance(exc, TimeoutError):
            return BrokerUnavailableError(
                f"no answer within the timeout ({type(exc).__name__})", broker=self.broker
            )
        if self._is_refusal(exc):
            return PublishRejectedError(_describe(exc), broker=self.broker)
        return BrokerUnavailableError(_describe(exc), broker=self.broker)

    def _reset_after(self, exc: BaseException) -> bool:
        """Whether a refusal also leaves the connection unusable (override per broker)."""
        return False

    @abstractmethod
    async def _open(self) -> None:
        """Connect and declare what is needed; raise the client's error when that fails."""

    @abstractmethod
    async def _close(self) -> None:
        """Close whatever :meth:`_open` opened (it may be half open or broken)."""

    @abstractmethod
    async def _send(self, entry: OutboxEntry, message: BrokerMessage) -> bool:
        """Send ``message`` and wait for the broker's confirm, at most ``confirm_timeout``
        seconds; True when the broker reports it as a duplicate of one it already holds."""

    @abstractmethod
    def _is_refusal(self, exc: BaseException) -> bool:
        """Whether the client's ``exc`` means the broker answered and refused."""


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
