"""The base of every broker consumer: fetch messages, decode each event through the registry,
hand it to the handler and acknowledge it only after the handler returned."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import ClassVar, Self

from ..events import DomainEvent, EventRegistry
from ..exceptions import ConfigurationError
from ._message import decode_event

__all__ = ["BrokerConsumer", "Delivery", "EventHandler"]

#: What a consumer hands each event to; the message is acknowledged after it returns.
EventHandler = Callable[[DomainEvent], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One received message: its body and how to acknowledge it or hand it back."""

    body: bytes
    ack: Callable[[], Awaitable[None]]
    nack: Callable[[], Awaitable[None]]


class BrokerConsumer(ABC):
    """Hands a broker's messages to ``handler``, each event decoded through ``registry``
    (default: the default registry, upcasters included).

    A message is acknowledged only after ``handler`` returned, so a consumer that dies
    mid-message gets it again (delivery is at-least-once: deduplicate by ``event.event_id``
    where it matters). When the handler, or decoding, raises, that message and the rest of
    its batch are handed back to the broker (not acknowledged) and the error propagates
    from :meth:`consume`.
    """

    broker: ClassVar[str] = ""

    def __init__(
        self,
        url: str,
        handler: EventHandler,
        *,
        registry: EventRegistry | None = None,
        batch_size: int = 100,
    ) -> None:
        if batch_size < 1:
            raise ConfigurationError("batch_size must be >= 1")
        self.url = url
        self.handler = handler
        self.registry = registry
        self.batch_size = batch_size
        self.handled = 0
        self._stop = asyncio.Event()
        self._opened = False

    async def consume(self, limit: int | None = None, *, idle_timeout: float = 1.0) -> int:
        """Handle messages until ``limit`` were handled or none arrived for ``idle_timeout``
        seconds; returns how many were handled."""
        if not self._opened:
            await self._open()
            self._opened = True
        handled = 0
        while limit is None or handled < limit:
            if self._stop.is_set():
                break
            wanted = self.batch_size if limit is None else min(self.batch_size, limit - handled)
            batch = await self._fetch(wanted, idle_timeout)
            if not batch:
                break
            for index, delivery in enumerate(batch):
                try:
                    await self.handler(decode_event(delivery.body, self.registry))
                except BaseException:
                    for rest in batch[index:]:
                        await rest.nack()
                    raise
                await delivery.ack()
                handled += 1
                self.handled += 1
        return handled

    async def run(self, *, poll_interval: float = 1.0) -> None:
        """Consume until :meth:`stop`."""
        self._stop.clear()
        while not self._stop.is_set():
            await self.consume(self.batch_size, idle_timeout=poll_interval)

    def stop(self) -> None:
        """Make :meth:`run` (and :meth:`consume`) return after the current batch."""
        self._stop.set()

    async def close(self) -> None:
        """Close the connection."""
        if self._opened:
            self._opened = False
            await self._close()

    async def __aenter__(self) -> Self:
        await self._open()
        self._opened = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @abstractmethod
    async def _open(self) -> None:
        """Connect, and declare the queue, group or consumer this reads from."""

    @abstractmethod
    async def _close(self) -> None:
        """Close what :meth:`_open` opened."""

    @abstractmethod
    async def _fetch(self, limit: int, timeout: float) -> list[Delivery]:
        """Up to ``limit`` messages, waiting at most ``timeout`` seconds for the first."""
