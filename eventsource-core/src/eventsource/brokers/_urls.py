"""Brokers chosen by URL: ``amqp://`` (RabbitMQ), ``redis://`` (Redis Streams), ``nats://``
(NATS JetStream), ``kafka://`` (Kafka); publisher and consumer options may ride along as
query parameters."""

from __future__ import annotations

import inspect
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..exceptions import InvalidBackendURLError
from ._consumer import BrokerConsumer, EventHandler
from ._kafka import KafkaConsumer, KafkaPublisher
from ._nats import NatsJetStreamConsumer, NatsJetStreamPublisher
from ._publisher import BrokerPublisher
from ._rabbitmq import RabbitMQConsumer, RabbitMQPublisher
from ._redis import RedisStreamConsumer, RedisStreamPublisher

__all__ = ["BROKER_SCHEMES", "open_consumer", "open_publisher"]

#: URL scheme -> (publisher class, consumer class).
BROKER_SCHEMES: dict[str, tuple[type[BrokerPublisher], type[BrokerConsumer]]] = {
    "amqp": (RabbitMQPublisher, RabbitMQConsumer),
    "amqps": (RabbitMQPublisher, RabbitMQConsumer),
    "redis": (RedisStreamPublisher, RedisStreamConsumer),
    "rediss": (RedisStreamPublisher, RedisStreamConsumer),
    "nats": (NatsJetStreamPublisher, NatsJetStreamConsumer),
    "tls": (NatsJetStreamPublisher, NatsJetStreamConsumer),
    "kafka": (KafkaPublisher, KafkaConsumer),
}


def _classes(url: str) -> tuple[type[BrokerPublisher], type[BrokerConsumer]]:
    scheme = urlsplit(url).scheme
    if scheme not in BROKER_SCHEMES:
        raise InvalidBackendURLError(
            f"no broker for the URL scheme {scheme!r} in {url!r}; "
            f"known: {', '.join(sorted(BROKER_SCHEMES))}"
        )
    return BROKER_SCHEMES[scheme]


def _split_options(url: str, cls: type[Any]) -> tuple[str, dict[str, Any]]:
    """``url`` without the query parameters that name keyword options of ``cls`` (converted
    to the type of the option's default), and those options."""
    parameters = inspect.signature(cls.__init__).parameters
    parts = urlsplit(url)
    kept: list[tuple[str, str]] = []
    options: dict[str, Any] = {}
    for name, text in parse_qsl(parts.query, keep_blank_values=True):
        parameter = parameters.get(name)
        if parameter is None or parameter.kind is not inspect.Parameter.KEYWORD_ONLY:
            kept.append((name, text))  # the client library's own (redis' ?db=..., say)
            continue
        options[name] = _convert(name, text, parameter.default)
    return urlunsplit(parts._replace(query=urlencode(kept))), options


def _convert(name: str, text: str, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            if text.lower() not in {"true", "false", "1", "0", "yes", "no"}:
                raise ValueError(text)
            return text.lower() in {"true", "1", "yes"}
        if isinstance(default, int | float):
            return type(default)(text)
    except ValueError:
        raise InvalidBackendURLError(
            f"URL option {name}={text!r} is not a {type(default).__name__}"
        ) from None
    if isinstance(default, str) or default is None:
        return text
    raise InvalidBackendURLError(f"URL option {name!r} cannot be given in a URL; pass it")


def open_publisher(url: str, **options: Any) -> BrokerPublisher:
    """The publisher for ``url``'s broker (not yet connected: it connects on first use)."""
    cls = _classes(url)[0]
    url, from_url = _split_options(url, cls)
    return cls(url, **{**from_url, **options})


def open_consumer(url: str, handler: EventHandler, **options: Any) -> BrokerConsumer:
    """The consumer for ``url``'s broker, handing each decoded event to ``handler``."""
    cls = _classes(url)[1]
    url, from_url = _split_options(url, cls)
    return cls(url, handler, **{**from_url, **options})
