"""Every postgresql:// option and PostgreSQLEventStore keyword is typed and ranged when it is
parsed; ``connect_timeout`` bounds how long a silent server can keep a store waiting."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from typing import Any

import pytest

from eventsource import (
    ConfigurationError,
    InvalidBackendURLError,
    StorageUnavailableError,
    open_backend,
)
from eventsource_postgres import PostgreSQLEventStore
from eventsource_postgres._options import OPTION_SPECS, PostgresOptions

URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.mark.parametrize(
    ("query", "option"),
    [
        ("lock_timeout=nan", "lock_timeout"),
        ("lock_timeout=inf", "lock_timeout"),
        ("lock_timeout=0", "lock_timeout"),
        ("lock_timeout=2147484", "lock_timeout"),
        ("lock_warn_after=nan", "lock_warn_after"),
        ("poll_interval=nan", "poll_interval"),
        ("poll_interval=-1", "poll_interval"),
        ("command_timeout=inf", "command_timeout"),
        ("connect_timeout=0", "connect_timeout"),
        ("connect_timeout=nan", "connect_timeout"),
        ("connect_timeout=3601", "connect_timeout"),
        ("pool_min=-1", "pool_min"),
        ("pool_max=0", "pool_max"),
        ("pool_max=1.5", "pool_max"),
        ("pool_min=5&pool_max=2", "pool_min"),
        ("statement_cache_size=-1", "statement_cache_size"),
        ("max_event_bytes=-1", "max_event_bytes"),
        ("max_event_bytes=268435456", "max_event_bytes"),
        ("notify=sometimes", "notify"),
        ("group_commit=2", "group_commit"),
        ("schema=bad;drop", "schema"),
    ],
)
def test_bad_url_option_is_an_invalid_backend_url_error(query: str, option: str) -> None:
    with pytest.raises(InvalidBackendURLError, match=option) as caught:
        open_backend(f"{URL}?{query}")
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("lock_timeout", math.nan),
        ("lock_timeout", math.inf),
        ("lock_timeout", True),
        ("lock_timeout", "5"),
        ("poll_interval", math.nan),
        ("lock_warn_after", -1.0),
        ("connect_timeout", 0),
        ("max_event_bytes", -1),
        ("pool_max", 0),
        ("notify", "yes"),
    ],
)
def test_bad_keyword_is_a_configuration_error(keyword: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=keyword):
        PostgreSQLEventStore(URL, **{keyword: value})
    with pytest.raises(ConfigurationError, match=keyword):
        PostgresOptions(**{keyword: value})


def test_good_values_are_typed() -> None:
    store = PostgreSQLEventStore(f"{URL}?lock_timeout=2&connect_timeout=0.5&pool_min=0")
    assert store.options.lock_timeout == 2.0 and isinstance(store.options.lock_timeout, float)
    assert store.options.connect_timeout == 0.5 and store.options.pool_min == 0
    assert PostgreSQLEventStore(URL, connect_timeout=1).options.connect_timeout == 1.0


def test_connect_timeout_defaults_to_a_few_seconds() -> None:
    assert PostgresOptions().connect_timeout == 5.0
    assert {spec.name: spec.default for spec in OPTION_SPECS}["connect_timeout"] == 5.0


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A local TCP port that accepts connections and never says a word."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield port
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


@pytest.mark.parametrize("pool_min", [1, 0])
async def test_a_server_that_never_answers_fails_within_connect_timeout(
    silent_server: int, pool_min: int
) -> None:
    """pool_min=1 fails while the pool opens; pool_min=0 at the first operation's connection."""
    url = f"postgresql://postgres@127.0.0.1:{silent_server}/test?connect_timeout=0.3"
    store = PostgreSQLEventStore(f"{url}&pool_min={pool_min}")
    try:
        async with asyncio.timeout(20):  # bounded: asyncpg's own default would be 60 s
            with pytest.raises(StorageUnavailableError) as caught:
                await store.connect()
                await store.get_global_position()
    finally:
        await store.close()
    message = str(caught.value)
    assert f"127.0.0.1:{silent_server}" in message and "connect_timeout=0.3s" in message


async def test_backend_open_on_a_silent_server_is_storage_unavailable(silent_server: int) -> None:
    url = f"postgresql://postgres@127.0.0.1:{silent_server}/test?connect_timeout=0.2"
    async with asyncio.timeout(20):
        with pytest.raises(StorageUnavailableError, match=r"connect_timeout=0\.2s"):
            async with open_backend(url):
                pass
