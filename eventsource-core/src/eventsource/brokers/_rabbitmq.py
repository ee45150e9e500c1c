"""RabbitMQ on aio-pika: a publisher with publisher confirms and persistent messages, and a
minimal queue consumer."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ..repositories import OutboxEntry
from ._clients import require
from ._consumer import BrokerConsumer, Delivery, EventHandler
from ._message import BrokerMessage, EntryRoute, safe_token
from ._publisher import BrokerPublisher

if TYPE_CHECKING:
    import aio_pika.abc

__all__ = ["DEFAULT_AMQP_URL", "RabbitMQConsumer", "RabbitMQPublisher", "default_routing_key"]

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def default_routing_key(entry: OutboxEntry) -> str:
    """``<aggregate type>.<event type>``, for example ``Order.OrderPlaced``."""
    return f"{safe_token(entry.aggregate_type)}.{safe_token(entry.event_type)}"


class RabbitMQPublisher(BrokerPublisher):
    """Publishes each entry to ``exchange`` (a durable ``exchange_type`` exchange, declared
    unless ``declare_exchange`` is False) with the routing key ``routing_key(entry)``
    (default :func:`default_routing_key`), as a persistent message whose ``message_id`` is
    the event id, and waits for the broker's publisher confirm.

    ``mandatory`` (default True) makes a message no queue is bound for a
    :class:`~eventsource.PublishRejectedError` instead of being dropped. RabbitMQ does not
    deduplicate: delivery is at-least-once; consumers deduplicate by ``message_id``.
    """

    broker = "rabbitmq"

    def __init__(
        self,
        url: str = DEFAULT_AMQP_URL,
        *,
        exchange: str = "eventsource",
        exchange_type: str = "topic",
        routing_key: EntryRoute = default_routing_key,
        declare_exchange: bool = True,
        mandatory: bool = True,
        connect_timeout: float = 10.0,
        confirm_timeout: float = 10.0,
    ) -> None:
        require("aio_pika")
        super().__init__(url, connect_timeout=connect_timeout, confirm_timeout=confirm_timeout)
        self.exchange = exchange
        self.exchange_type = exchange_type
        self.routing_key = routing_key
        self.declare_exchange = declare_exchange
        self.mandatory = mandatory
        self._connection: aio_pika.abc.AbstractConnection | None = None
        self._exchange: aio_pika.abc.AbstractExchange | None = None

    async def _open(self) -> None:
        import aio_pika

        self._connection = await aio_pika.connect(self.url, timeout=self.connect_timeout)
        channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
        if self.declare_exchange:
            self._exchange = await channel.declare_exchange(
                self.exchange, aio_pika.ExchangeType(self.exchange_type), durable=True
            )
        else:
            self._exchange = await channel.get_exchange(self.exchange, ensure=True)

    async def _close(self) -> None:
        connection, self._connection, self._exchange = self._connection, None, None
        if connection is not None:
            await connection.close()

    async def _send(self, entry: OutboxEntry, message: BrokerMessage) -> bool:
        import aio_pika

        exchange = self._exchange
        assert exchange is not None  # connected by __call__
        await exchange.publish(
            aio_pika.Message(
                message.body,
                headers=dict(message.headers),
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=message.message_id,
                correlation_id=message.headers.get("correlation-id"),
                type=entry.event_type,
                timestamp=entry.created_at,
                app_id="eventsource",
            ),
            routing_key=self.routing_key(entry),
            mandatory=self.mandatory,
            timeout=self.confirm_timeout,
        )
        return False

    def _is_refusal(self, exc: BaseException) -> bool:
        import aio_pika.exceptions

        return isinstance(
            exc, aio_pika.exceptions.DeliveryError | aio_pika.exceptions.ChannelClosed
        )

    def _reset_after(self, exc: BaseException) -> bool:
        import aio_pika.exceptions

        # A refusal by channel error (say, a missing exchange) closes the channel.
        return isinstance(exc, aio_pika.exceptions.ChannelClosed)


class RabbitMQConsumer(BrokerConsumer):
    """Consumes the durable ``queue`` (declared, and bound to ``exchange`` with each of
    ``bindings``, default ``#``: every routing key), at most ``prefetch`` unacknowledged
    messages at a time; each message is acknowledged after the handler returned, and handed
    back (requeued) when it raised."""

    broker = "rabbitmq"

    def __init__(
        self,
        url: str,
        handler: EventHandler,
        *,
        queue: str = "eventsource",
        exchange: str = "eventsource",
        exchange_type: str = "topic",
        bindings: tuple[str, ...] = ("#",),
        prefetch: int = 100,
        **options: Any,
    ) -> None:
        require("aio_pika")
        super().__init__(url, handler, **options)
        self.queue = queue
        self.exchange = exchange
        self.exchange_type = exchange_type
        self.bindings = bindings
        self.prefetch = prefetch
        self._connection: aio_pika.abc.AbstractConnection | None = None
        self._inbox: asyncio.Queue[aio_pika.abc.AbstractIncomingMessage] = asyncio.Queue()

    async def _open(self) -> None:
        import aio_pika

        self._connection = await aio_pika.connect(self.url)
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=self.prefetch)
        exchange = await channel.declare_exchange(
            self.exchange, aio_pika.ExchangeType(self.exchange_type), durable=True
        )
        queue = await channel.declare_queue(self.queue, durable=True)
        for binding in self.bindings:
            await queue.bind(exchange, routing_key=binding)
        await queue.consume(self._inbox.put)

    async def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()
        self._inbox = asyncio.Queue()

    async def _fetch(self, limit: int, timeout: float) -> list[Delivery]:
        try:
            first = await asyncio.wait_for(self._inbox.get(), timeout)
        except TimeoutError:
            return []
        messages = [first]
        while len(messages) < limit and not self._inbox.empty():
            messages.append(self._inbox.get_nowait())
        return [_delivery(message) for message in messages]


def _delivery(message: aio_pika.abc.AbstractIncomingMessage) -> Delivery:
    async def ack() -> None:
        await message.ack()

    async def nack() -> None:
        await message.nack(requeue=True)

    return Delivery(message.body, ack, nack)
