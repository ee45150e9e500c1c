"""A backend plugin that gives no scratch_storage: certify() must refuse it by name."""

from __future__ import annotations

from eventsource import MemoryEventStore
from eventsource.spi import EventStoreSpec, hookimpl


@hookimpl
def eventsource_event_stores() -> list[EventStoreSpec]:
    """A memory store under another scheme, without scratch storage."""
    return [
        EventStoreSpec(
            name="toyscratchless",
            store_class=MemoryEventStore,
            from_url=lambda url: MemoryEventStore(),
        )
    ]
