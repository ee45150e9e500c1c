"""The memory backend, certified by the conformance kit."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import pytest

from eventsource import MemoryEventStore, open_backend
from eventsource.testing import BackendConformance, BackendOpener


class TestMemoryBackend(BackendConformance):
    """Every kit test against ``memory://NAME`` (one fresh name per test)."""

    @pytest.fixture
    def backend_opener(self) -> BackendOpener:
        url = f"memory://kit-{uuid4().hex}"
        return lambda: open_backend(url)

    @pytest.fixture
    def missing_store_opener(self) -> BackendOpener:
        url = f"memory://kit-missing-{uuid4().hex}"
        return lambda: open_backend(url)


async def test_waits_that_time_out_or_are_cancelled_leave_no_waiter_behind() -> None:
    """An idle follower calls wait_for_events again after every timeout: a wait that ends
    without an append (timeout or cancel) must not leave its future in the shared state."""
    store = MemoryEventStore()
    for _ in range(20):
        assert not await store.wait_for_events(0, 0.001)
    waiter = asyncio.ensure_future(store.wait_for_events(0, 10))
    await asyncio.sleep(0.01)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert store.state.waiters == []
