"""NATS JetStream on nats-py: a publisher that sets ``Nats-Msg-Id`` to the event id (JetStream
drops a repeat within the stream's duplicate window) and awaits each ack, and a minimal
durable pull consumer."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ..exceptions import ConfigurationError
from ..repositories import OutboxEntry
from ._clients import require
from ._consumer import BrokerConsumer, Delivery, EventHandler
from ._message import BrokerMessage, EntryRoute, safe_token
from ._publisher import BrokerPublisher

if TYPE_CHECKING:
    import nats.aio.client
    import nats.aio.msg
    import nats.js

__all__ = [
    "DEFAULT_NATS_URL",
    "DEFAULT_SUBJECT_PREFIX",
    "NatsJetStreamConsumer",
    "NatsJetStreamPublisher",
]

log = logging.getLogger("eventsource.brokers")

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
DEFAULT_SUBJECT_PREFIX = "eventsource"
DEFAULT_STREAM = "EVENTSOURCE"


async def ensure_stream(
    js: nats.js.JetStreamContext, name: str, subjects: str, duplicate_window: float
) -> None:
    """Create the stream ``name`` over ``subjects`` unless it exists (as it is, if it does)."""
    import nats.js.errors

    try:
        await js.stream_info(name)
    except nats.js.errors.NotFoundError:
        await js.add_stream(name=name, subjects=[subjects], duplicate_window=duplicate_window)


class NatsJetStreamPublisher(BrokerPublisher):
    """Publishes each entry to JetStream on the subject ``subject(entry)`` (default
    ``<subject_prefix>.<aggregate type>.<event type>``) with the header ``Nats-Msg-Id`` set to
    the event id, and waits for the stream's ack.

    JetStream keeps one message per ``Nats-Msg-Id`` within the stream's duplicate window, so
    a retry (by this or another worker) within it is stored once: an ack flagged duplicate
    counts as published. With ``ensure_stream`` (default True) the stream ``stream`` is
    created if missing, over ``<subject_prefix>.>``, with a ``duplicate_window`` (seconds,
    default 2 minutes as JetStream's own default; make it longer than your relay's lease).
    """

    broker = "nats"

    def __init__(
        self,
        url: str = DEFAULT_NATS_URL,
        *,
        stream: str = DEFAULT_STREAM,
        subject_prefix: str = DEFAULT_SUBJECT_PREFIX,
        subject: EntryRoute | None = None,
        ensure_stream: bool = True,
        duplicate_window: float = 120.0,
        connect_timeout: float = 10.0,
        confirm_timeout: float = 10.0,
    ) -> None:
        require("nats")
        super().__init__(url, connect_timeout=connect_timeout, confirm_timeout=confirm_timeout)
        if duplicate_window <= 0:
            raise ConfigurationError("duplicate_window must be > 0 seconds")
        self.stream = stream
        self.subject_prefix = subject_prefix
        self.subject = subject or self._default_subject
        self.ensure_stream = ensure_stream
        self.duplicate_window = duplicate_window
        self._nc: nats.aio.client.Client | None = None
        self._js: nats.js.JetStreamContext | None = None

    def _default_subject(self, entry: OutboxEntry) -> str:
        aggregate, event = safe_token(entry.aggregate_type), safe_token(entry.event_type)
        return f"{self.subject_prefix}.{aggregate}.{event}"

    async def _open(self) -> None:
        import nats

        self._nc = await nats.connect(
            self.url,
            connect_timeout=max(1, round(self.connect_timeout)),
            allow_reconnect=False,  # a lost connection fails the publish; the next reconnects
            error_cb=_log_error,
        )
        self._js = self._nc.jetstream(timeout=self.confirm_timeout)
        if self.ensure_stream:
            await ensure_stream(
                self._js, self.stream, f"{self.subject_prefix}.>", self.duplicate_window
            )

    async def _close(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and not nc.is_closed:
            await nc.close()

    async def _send(self, entry: OutboxEntry, message: BrokerMessage) -> bool:
        js = self._js
        assert js is not None  # connected by __call__
        headers = {"Nats-Msg-Id": message.message_id, **message.headers}
        ack = await js.publish(
            self.subject(entry), message.body, timeout=self.confirm_timeout, headers=headers
        )
        return bool(ack.duplicate)

    def _is_refusal(self, exc: BaseException) -> bool:
        import nats.js.errors

        # No stream listens on the subject, or the stream answered with an error.
        return isinstance(exc, nats.js.errors.NoStreamResponseError | nats.js.errors.APIError)


class NatsJetStreamConsumer(BrokerConsumer):
    """Pulls from the durable consumer ``durable`` of ``stream`` (the consumer created if
    missing, reading ``subject``; the stream too, over ``subject``, unless ``ensure_stream``
    is False) and acks each message after the handler returned; a message whose handler
    raised is nak'ed for redelivery."""

    broker = "nats"

    def __init__(
        self,
        url: str,
        handler: EventHandler,
        *,
        stream: str = DEFAULT_STREAM,
        durable: str = "eventsource",
        subject: str = f"{DEFAULT_SUBJECT_PREFIX}.>",
        ensure_stream: bool = True,
        **options: Any,
    ) -> None:
        require("nats")
        super().__init__(url, handler, **options)
        self.ensure_stream = ensure_stream
        self.stream = stream
        self.durable = durable
        self.subject = subject
        self._nc: nats.aio.client.Client | None = None
        self._sub: nats.js.JetStreamContext.PullSubscription | None = None

    async def _open(self) -> None:
        import nats

        self._nc = await nats.connect(self.url, error_cb=_log_error)
        js = self._nc.jetstream()
        if self.ensure_stream:
            await ensure_stream(js, self.stream, self.subject, 120.0)
        self._sub = await js.pull_subscribe(self.subject, durable=self.durable, stream=self.stream)

    async def _close(self) -> None:
        nc, self._nc, self._sub = self._nc, None, None
        if nc is not None and not nc.is_closed:
            await nc.close()

    async def _fetch(self, limit: int, timeout: float) -> list[Delivery]:
        assert self._sub is not None
        try:
            messages = await self._sub.fetch(limit, timeout=timeout)
        except TimeoutError:  # nats.errors.TimeoutError, or asyncio's at the deadline
            return []
        return [_delivery(message) for message in messages]


async def _log_error(exc: Exception) -> None:
    """nats-py's report of a connection error (the publish in flight raises on its own)."""
    log.warning("nats: connection error: %s", exc)


def _delivery(message: nats.aio.msg.Msg) -> Delivery:
    async def ack() -> None:
        await message.ack()

    async def nack() -> None:
        await message.nak()

    return Delivery(message.data, ack, nack)
