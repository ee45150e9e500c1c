"""The broker publishers as a publisher plugin (entry-point group ``eventsource.publishers``):
``"rabbitmq"``, ``"redis"``, ``"nats"``, ``"kafka"``, and ``"broker"`` choosing by ``url``.

Nothing is imported from a client library until a publisher is built."""

from __future__ import annotations

from typing import Any

from ..spi import PublisherSpec, hookimpl

__all__ = ["eventsource_publishers"]


def _factory(name: str) -> Any:
    def build(**options: Any) -> Any:
        from . import _urls

        if name == "broker":
            return _urls.open_publisher(**options)
        schemes = {"rabbitmq": "amqp", "redis": "redis", "nats": "nats", "kafka": "kafka"}
        cls = _urls.BROKER_SCHEMES[schemes[name]][0]
        return cls(**options)

    return build


@hookimpl
def eventsource_publishers() -> list[PublisherSpec]:
    """The broker publishers (each needs its extra: ``eventsource-core[rabbitmq]``, ...)."""
    return [
        PublisherSpec("broker", _factory("broker"), "the broker named by url= (amqp, redis, ...)"),
        PublisherSpec("kafka", _factory("kafka"), "Kafka via aiokafka (eventsource-core[kafka])"),
        PublisherSpec(
            "nats", _factory("nats"), "NATS JetStream via nats-py (eventsource-core[nats])"
        ),
        PublisherSpec(
            "rabbitmq", _factory("rabbitmq"), "RabbitMQ via aio-pika (eventsource-core[rabbitmq])"
        ),
        PublisherSpec(
            "redis", _factory("redis"), "Redis Streams via redis-py (eventsource-core[redis])"
        ),
    ]
