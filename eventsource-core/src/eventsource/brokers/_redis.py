"""Redis Streams on redis-py's asyncio client: a publisher that ``XADD``\\ s each entry once
(the event id is the idempotency key, checked in the same atomic script), and a minimal
consumer-group consumer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..exceptions import ConfigurationError
from ..repositories import OutboxEntry
from ._clients import require
from ._consumer import BrokerConsumer, Delivery, EventHandler
from ._message import BrokerMessage, EntryRoute
from ._publisher import BrokerPublisher

if TYPE_CHECKING:
    import redis.asyncio
    import redis.commands.core

__all__ = ["DEFAULT_REDIS_URL", "DEFAULT_STREAM", "RedisStreamConsumer", "RedisStreamPublisher"]

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_STREAM = "eventsource:events"

# KEYS[1] the stream, KEYS[2] the event's dedupe key; ARGV[1] MAXLEN (0: none), ARGV[2] the
# dedupe window in seconds, ARGV[3] '~' or '=', ARGV[4..] the fields. Atomic: a second XADD
# of one event id within the window is not made (its first stream id is returned, flagged
# as a duplicate), and the key is only set once the XADD succeeded.
_XADD_ONCE = """
local seen = redis.call('GET', KEYS[2])
if seen then return {seen, 1} end
local id
if tonumber(ARGV[1]) > 0 then
  id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[3], ARGV[1], '*', unpack(ARGV, 4))
else
  id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 4))
end
redis.call('SET', KEYS[2], id, 'EX', ARGV[2])
return {id, 0}
"""


class RedisStreamPublisher(BrokerPublisher):
    """Appends each entry to the stream ``stream`` (or ``stream(entry)``) with ``XADD``: the
    fields are the headers (``event-id``, ``event-type``, ...) and ``data`` (the event's JSON).

    With ``dedupe`` (default True) the ``XADD`` runs in a script that first checks the key
    ``<dedupe_prefix><event id>`` and sets it after adding, atomically: an event is added at
    most once within ``dedupe_window`` seconds (default one day), whichever worker or retry
    sends it, so the stream holds each event exactly once. ``maxlen`` caps the stream
    (``MAXLEN ~``, which trims whole internal nodes and is cheap; ``approximate=False`` for
    ``MAXLEN =``); 0 keeps everything.
    """

    broker = "redis"

    def __init__(
        self,
        url: str = DEFAULT_REDIS_URL,
        *,
        stream: str | EntryRoute = DEFAULT_STREAM,
        maxlen: int = 0,
        approximate: bool = True,
        dedupe: bool = True,
        dedupe_window: int = 86_400,
        dedupe_prefix: str = "eventsource:dedupe:",
        connect_timeout: float = 10.0,
        confirm_timeout: float = 10.0,
    ) -> None:
        require("redis")
        super().__init__(url, connect_timeout=connect_timeout, confirm_timeout=confirm_timeout)
        if maxlen < 0 or dedupe_window < 1:
            raise ConfigurationError("maxlen must be >= 0 and dedupe_window >= 1 second")
        self.stream = stream
        self.maxlen = maxlen
        self.approximate = approximate
        self.dedupe = dedupe
        self.dedupe_window = dedupe_window
        self.dedupe_prefix = dedupe_prefix
        self._client: redis.asyncio.Redis | None = None
        self._script: redis.commands.core.AsyncScript | None = None

    async def _open(self) -> None:
        import redis.asyncio

        client = redis.asyncio.Redis.from_url(
            self.url,
            socket_connect_timeout=self.connect_timeout,
            socket_timeout=self.confirm_timeout,
        )
        self._client = client
        await client.ping()
        self._script = client.register_script(_XADD_ONCE)

    async def _close(self) -> None:
        client, self._client, self._script = self._client, None, None
        if client is not None:
            await client.aclose()

    async def _send(self, entry: OutboxEntry, message: BrokerMessage) -> bool:
        client = self._client
        assert client is not None  # connected by __call__
        stream = self.stream if isinstance(self.stream, str) else self.stream(entry)
        fields: dict[Any, Any] = dict(message.headers)
        fields["data"] = message.body
        if not self.dedupe:
            if self.maxlen:
                await client.xadd(stream, fields, maxlen=self.maxlen, approximate=self.approximate)
            else:
                await client.xadd(stream, fields)
            return False
        assert self._script is not None
        flat = [item for pair in fields.items() for item in pair]
        _, duplicate = await self._script(
            keys=[stream, f"{self.dedupe_prefix}{message.message_id}"],
            args=[self.maxlen, self.dedupe_window, "~" if self.approximate else "=", *flat],
        )
        return bool(duplicate)

    def _is_refusal(self, exc: BaseException) -> bool:
        import redis.exceptions

        return isinstance(exc, redis.exceptions.ResponseError)


class RedisStreamConsumer(BrokerConsumer):
    """Reads ``stream`` as ``consumer`` of the consumer group ``group`` (created, from the
    stream's start, if missing) and ``XACK``\\ s each message after the handler returned; a
    message whose handler raised stays pending in the group."""

    broker = "redis"

    def __init__(
        self,
        url: str,
        handler: EventHandler,
        *,
        stream: str = DEFAULT_STREAM,
        group: str = "eventsource",
        consumer: str = "consumer-1",
        **options: Any,
    ) -> None:
        require("redis")
        super().__init__(url, handler, **options)
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self._client: redis.asyncio.Redis | None = None

    async def _open(self) -> None:
        import redis.asyncio
        import redis.exceptions

        self._client = redis.asyncio.Redis.from_url(self.url)
        try:
            await self._client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.exceptions.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    async def _fetch(self, limit: int, timeout: float) -> list[Delivery]:
        client = self._client
        assert client is not None
        answer: Any = await client.xreadgroup(
            self.group, self.consumer, {self.stream: ">"}, count=limit, block=int(timeout * 1000)
        )
        deliveries = []
        for _stream, messages in answer or []:
            for message_id, fields in messages:
                deliveries.append(self._delivery(client, message_id, fields[b"data"]))
        return deliveries

    def _delivery(self, client: redis.asyncio.Redis, message_id: bytes, body: bytes) -> Delivery:
        async def ack() -> None:
            await client.xack(self.stream, self.group, message_id)

        async def nack() -> None:
            return None  # left pending in the group, for XAUTOCLAIM or a restart

        return Delivery(body, ack, nack)
