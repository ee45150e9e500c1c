"""A backend plugin whose ``event_exists`` never answers: certify() must report the test as
failed on the kit's timeout, not hang. Certified from ``toyhang://`` (private memory)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from uuid import UUID

from eventsource import MemoryEventStore
from eventsource.spi import BackendURL, Capabilities, EventStoreSpec, ScratchStorage, hookimpl


class HangingStore(MemoryEventStore):
    """Waits for ever when asked whether an event exists."""

    async def event_exists(self, event_id: UUID) -> bool:
        await asyncio.Event().wait()
        return False


@contextlib.asynccontextmanager
async def scratch(url: BackendURL) -> AsyncIterator[ScratchStorage]:
    """Each store is private: nothing to create or remove."""
    yield ScratchStorage(url="toyhang://")


@hookimpl
def eventsource_event_stores() -> list[EventStoreSpec]:
    """The hanging store, as ``toyhang://``."""
    return [
        EventStoreSpec(
            name="toyhang",
            store_class=HangingStore,
            from_url=lambda url: HangingStore(),
            capabilities=Capabilities(persistent=False, concurrent_connections=False),
            scratch_storage=scratch,
        )
    ]
