"""eventsource-py 0.5.0's event buses, by their 0.5.0 names.

- :class:`EventBus` (the interface), :data:`EventHandlerFunc`, :class:`AsyncEventHandler`,
  :class:`InMemoryEventBus` (in-process dispatch);
- :class:`RedisEventBus`, :class:`RabbitMQEventBus`, :class:`KafkaEventBus`, each with its
  ``*Config`` and ``*Stats``, over the publishers and consumers of :mod:`eventsource.brokers`;
- ``REDIS_AVAILABLE``, ``RABBITMQ_AVAILABLE``, ``KAFKA_AVAILABLE`` and the
  ``*NotAvailableError`` raised (an ``ImportError``) when a bus's client is missing;
  ``EventBusError`` is :class:`~eventsource.BrokerError`.

New code can use :mod:`eventsource.brokers` with :class:`~eventsource.runtime.OutboxRelay`
instead: a bus publishes after the append (an event stored but not sent when the broker is
down), the outbox relay publishes from the same transaction (see ``docs/brokers.md``).
"""

from ..brokers import KAFKA_AVAILABLE, RABBITMQ_AVAILABLE, REDIS_AVAILABLE
from ..exceptions import BrokerError as EventBusError
from ..exceptions import KafkaNotAvailableError, RabbitMQNotAvailableError, RedisNotAvailableError
from ._base import AsyncEventHandler, EventBus, EventHandlerFunc, FlexibleEventSubscriber
from ._brokers import (
    KafkaEventBus,
    KafkaEventBusConfig,
    KafkaEventBusStats,
    RabbitMQEventBus,
    RabbitMQEventBusConfig,
    RabbitMQEventBusStats,
    RedisEventBus,
    RedisEventBusConfig,
    RedisEventBusStats,
)
from ._memory import InMemoryEventBus

__all__ = [
    "KAFKA_AVAILABLE",
    "RABBITMQ_AVAILABLE",
    "REDIS_AVAILABLE",
    "AsyncEventHandler",
    "EventBus",
    "EventBusError",
    "EventHandlerFunc",
    "FlexibleEventSubscriber",
    "InMemoryEventBus",
    "KafkaEventBus",
    "KafkaEventBusConfig",
    "KafkaEventBusStats",
    "KafkaNotAvailableError",
    "RabbitMQEventBus",
    "RabbitMQEventBusConfig",
    "RabbitMQEventBusStats",
    "RabbitMQNotAvailableError",
    "RedisEventBus",
    "RedisEventBusConfig",
    "RedisEventBusStats",
    "RedisNotAvailableError",
]
