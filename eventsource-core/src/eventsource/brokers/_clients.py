"""Whether each broker's client library is installed; they are imported only when a publisher
or consumer of that broker is used, so ``import eventsource`` stays light."""

from __future__ import annotations

import importlib.util

from ..exceptions import (
    BrokerNotInstalledError,
    KafkaNotAvailableError,
    NatsNotAvailableError,
    RabbitMQNotAvailableError,
    RedisNotAvailableError,
)

__all__ = [
    "KAFKA_AVAILABLE",
    "NATS_AVAILABLE",
    "RABBITMQ_AVAILABLE",
    "REDIS_AVAILABLE",
    "require",
]


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


#: Whether aio-pika, redis-py, nats-py and aiokafka can be imported (nothing is imported).
RABBITMQ_AVAILABLE = _installed("aio_pika")
REDIS_AVAILABLE = _installed("redis")
NATS_AVAILABLE = _installed("nats")
KAFKA_AVAILABLE = _installed("aiokafka")

_ERRORS: dict[str, type[BrokerNotInstalledError]] = {
    "aio_pika": RabbitMQNotAvailableError,
    "redis": RedisNotAvailableError,
    "nats": NatsNotAvailableError,
    "aiokafka": KafkaNotAvailableError,
}


def require(module: str) -> None:
    """Raise the broker's ``*NotAvailableError`` (naming the extra) unless ``module`` imports."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise _ERRORS[module]() from exc
