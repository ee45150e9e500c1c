"""A deliberately broken third-party backend: the JSON-lines store under the scheme
``brokenjsonl``, whose ``event_exists`` never finds an event. ``eventsource conformance`` must
report exactly the kit tests that rely on it as failed, each with the kit's fix hint.

Registered as a plugin module (``certify(..., plugins=["broken_jsonl"])``), as an
``eventsource.backends`` entry point would load it.
"""

from __future__ import annotations

import dataclasses
from uuid import UUID

from eventsource_jsonl import JsonlEventStore, plugin

from eventsource.spi import BackendURL, EventStoreSpec, check_event_id, hookimpl


class ForgetfulJsonlStore(JsonlEventStore):
    """Forgets every event it is asked about (the bug the kit must catch)."""

    async def event_exists(self, event_id: UUID) -> bool:
        check_event_id(event_id)
        return False


def _from_url(url: BackendURL) -> ForgetfulJsonlStore:
    return ForgetfulJsonlStore(plugin.path_of(url))


@hookimpl
def eventsource_event_stores() -> list[EventStoreSpec]:
    """The broken store, as ``brokenjsonl://``."""
    (spec,) = plugin.eventsource_event_stores()
    return [
        dataclasses.replace(
            spec, name="brokenjsonl", store_class=ForgetfulJsonlStore, from_url=_from_url
        )
    ]
