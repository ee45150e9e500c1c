"""Publishing outbox entries to real message brokers, and a minimal consumer for each.

- ``amqp://``: :class:`RabbitMQPublisher`, :class:`RabbitMQConsumer` (extra ``rabbitmq``);
- ``redis://``: :class:`RedisStreamPublisher`, :class:`RedisStreamConsumer` (extra ``redis``);
- ``nats://``: :class:`NatsJetStreamPublisher`, :class:`NatsJetStreamConsumer` (``nats``);
- ``kafka://``: :class:`KafkaPublisher`, :class:`KafkaConsumer` (extra ``kafka``).

:func:`open_publisher` / :func:`open_consumer` choose by URL.

A publisher is an outbox publisher (``await publisher(entry)``) that returns only after the
broker confirmed the message and raises a :class:`~eventsource.BrokerError` otherwise, so
:class:`~eventsource.runtime.OutboxRelay` retries it with its backoff and marks it failed
after its attempts; nothing is marked published that the broker did not confirm. Every
message carries the event id as its idempotency key and the headers in :data:`HEADERS`.
The client libraries are imported only when a publisher or consumer is built (install the
extra, for example ``pip install 'eventsource-core[rabbitmq]'``). ``docs/brokers.md`` has
the guarantees of each broker and an example.
"""

from ._clients import KAFKA_AVAILABLE, NATS_AVAILABLE, RABBITMQ_AVAILABLE, REDIS_AVAILABLE
from ._consumer import BrokerConsumer, Delivery, EventHandler
from ._kafka import KafkaConsumer, KafkaProducerLike, KafkaPublisher, kafka_record
from ._message import HEADERS, BrokerMessage, EntryRoute, decode_event, message_for
from ._nats import NatsJetStreamConsumer, NatsJetStreamPublisher
from ._publisher import BrokerPublisher, PublisherStats
from ._rabbitmq import RabbitMQConsumer, RabbitMQPublisher, default_routing_key
from ._redis import RedisStreamConsumer, RedisStreamPublisher
from ._urls import BROKER_SCHEMES, open_consumer, open_publisher

__all__ = [
    "BROKER_SCHEMES",
    "HEADERS",
    "KAFKA_AVAILABLE",
    "NATS_AVAILABLE",
    "RABBITMQ_AVAILABLE",
    "REDIS_AVAILABLE",
    "BrokerConsumer",
    "BrokerMessage",
    "BrokerPublisher",
    "Delivery",
    "EntryRoute",
    "EventHandler",
    "KafkaConsumer",
    "KafkaProducerLike",
    "KafkaPublisher",
    "NatsJetStreamConsumer",
    "NatsJetStreamPublisher",
    "PublisherStats",
    "RabbitMQConsumer",
    "RabbitMQPublisher",
    "RedisStreamConsumer",
    "RedisStreamPublisher",
    "decode_event",
    "default_routing_key",
    "kafka_record",
    "message_for",
    "open_consumer",
    "open_publisher",
]
