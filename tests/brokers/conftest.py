"""The real brokers: RabbitMQ 127.0.0.1:5672 (guest/guest), Redis 127.0.0.1:6379, NATS with
JetStream 127.0.0.1:4222 (override with EVENTSOURCE_TEST_AMQP_URL, ..._REDIS_URL,
..._NATS_URL). Outside CI an unreachable broker skips its tests with a hint; with ``CI=true``
it fails them (``.ci/run`` starts the brokers that are down)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from eventsource import Backend, open_backend

URLS = {
    "rabbitmq": os.environ.get("EVENTSOURCE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
    "redis": os.environ.get("EVENTSOURCE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
    "nats": os.environ.get("EVENTSOURCE_TEST_NATS_URL", "nats://127.0.0.1:4222"),
}
HINTS = {
    "rabbitmq": "rabbitmq-server -detached",
    "redis": "redis-server --daemonize yes",
    "nats": "nats-server -js (see .ci/run)",
}


def broker_url(name: str) -> str:
    """The broker's URL; skips (or fails under CI=true) when nothing listens there."""
    url = URLS[name]
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=2):
            pass
    except OSError as exc:
        where = f"{parts.hostname}:{parts.port}"
        message = f"{name} is not reachable at {where} ({exc}); start it: {HINTS[name]}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture
def rabbitmq_url() -> str:
    return broker_url("rabbitmq")


@pytest.fixture
def redis_url() -> str:
    return broker_url("redis")


@pytest.fixture
def nats_url() -> str:
    return broker_url("nats")


@pytest.fixture
def name() -> str:
    """A fresh name for this test's exchange, queue, stream or subject."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
async def backend(tmp_path: Path) -> AsyncIterator[Backend]:
    """A fresh SQLite outbox in a file."""
    async with open_backend(f"sqlite:///{tmp_path / 'outbox.db'}") as opened:
        yield opened


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
