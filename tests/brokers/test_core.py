"""What needs no broker: the messages built for an entry, decoding them back, brokers by URL,
the publisher plugin, lazy client imports and the errors naming the missing extra."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from eventsource import (
    BrokerNotInstalledError,
    ConfigurationError,
    InvalidBackendURLError,
    RabbitMQNotAvailableError,
    SerializationError,
    UnknownEventTypeError,
    open_backend,
)
from eventsource.brokers import (
    HEADERS,
    NatsJetStreamPublisher,
    RabbitMQPublisher,
    RedisStreamPublisher,
    decode_event,
    message_for,
    open_publisher,
)
from eventsource.events import EventRegistry
from eventsource.runtime import available_publishers, get_publisher

from ._events import BrOrderPlaced


async def _entry(event: BrOrderPlaced):  # type: ignore[no-untyped-def]
    async with open_backend("memory://brokers-core") as backend:
        outbox_id = await backend.outbox.add_event(event)
        return await backend.outbox.get_entry(outbox_id)


async def test_message_carries_id_key_headers_and_the_stored_document() -> None:
    tenant = uuid.uuid4()
    event = BrOrderPlaced(
        aggregate_id=uuid.uuid4(), sku="A", quantity=1, causation_id=uuid.uuid4(), tenant_id=tenant
    )
    entry = await _entry(event)
    message = message_for(entry)
    assert message.message_id == str(event.event_id)
    assert message.key == str(event.aggregate_id)
    assert set(message.headers) == set(HEADERS)
    assert message.headers["tenant-id"] == str(tenant)
    assert message.headers["outbox-id"] == str(entry.id)
    assert decode_event(message.body) == event
    plain = message_for(await _entry(BrOrderPlaced(aggregate_id=uuid.uuid4(), sku="B", quantity=2)))
    assert "causation-id" not in plain.headers and "tenant-id" not in plain.headers


def test_decoding_refuses_what_is_no_event() -> None:
    with pytest.raises(SerializationError, match="not JSON"):
        decode_event(b"{nope")
    with pytest.raises(SerializationError, match="not a JSON object"):
        decode_event(b"[1]")
    body = BrOrderPlaced(aggregate_id=uuid.uuid4(), sku="A", quantity=1).model_dump_json()
    with pytest.raises(UnknownEventTypeError):
        decode_event(body, EventRegistry())


def test_brokers_by_url_with_options_in_the_query() -> None:
    rabbit = open_publisher("amqp://guest:guest@h:5672/vhost?exchange=orders&mandatory=false")
    assert isinstance(rabbit, RabbitMQPublisher)
    assert (rabbit.exchange, rabbit.mandatory, rabbit.url) == (
        "orders",
        False,
        "amqp://guest:guest@h:5672/vhost",
    )
    redis = open_publisher(
        "redis://h:6379/2?stream=s&maxlen=1000&dedupe=no&health_check_interval=5"
    )
    assert isinstance(redis, RedisStreamPublisher)
    assert (redis.stream, redis.maxlen, redis.dedupe) == ("s", 1000, False)
    assert redis.url == "redis://h:6379/2?health_check_interval=5"  # the client's own option
    nats = open_publisher("nats://h:4222?stream=ORDERS&duplicate_window=600", confirm_timeout=3)
    assert isinstance(nats, NatsJetStreamPublisher)
    assert (nats.stream, nats.duplicate_window, nats.confirm_timeout) == ("ORDERS", 600.0, 3)
    with pytest.raises(InvalidBackendURLError, match="no broker for the URL scheme 'mqtt'"):
        open_publisher("mqtt://h")
    with pytest.raises(InvalidBackendURLError, match="maxlen='many' is not a int"):
        open_publisher("redis://h?maxlen=many")
    with pytest.raises(ConfigurationError, match="timeout"):
        RedisStreamPublisher(confirm_timeout=0)


def test_publishers_by_name_through_the_entry_point() -> None:
    assert {"broker", "kafka", "nats", "rabbitmq", "redis"} <= set(available_publishers())
    pub = get_publisher("rabbitmq", url="amqp://guest:guest@h:5672/", exchange="x")
    assert isinstance(pub, RabbitMQPublisher) and pub.exchange == "x"
    by_url = get_publisher("broker", url="nats://h:4222")
    assert isinstance(by_url, NatsJetStreamPublisher)


def test_client_libraries_are_imported_only_when_used() -> None:
    code = (
        "import sys, eventsource, eventsource.brokers, eventsource.bus\n"
        "from eventsource.runtime import available_publishers\n"
        "available_publishers()\n"
        "print(sorted(m for m in ('aio_pika', 'redis', 'nats', 'aiokafka') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_a_missing_client_names_the_extra() -> None:
    code = (
        "import sys\n"
        "sys.modules['aio_pika'] = None\n"
        "from eventsource.brokers import RabbitMQPublisher\n"
        "from eventsource import RabbitMQNotAvailableError\n"
        "try:\n"
        "    RabbitMQPublisher()\n"
        "except RabbitMQNotAvailableError as exc:\n"
        "    print(isinstance(exc, ImportError), exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == (
        "True the RabbitMQ broker needs 'aio_pika': pip install 'eventsource-core[rabbitmq]'"
    )
    assert issubclass(RabbitMQNotAvailableError, BrokerNotInstalledError)
