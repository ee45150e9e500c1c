"""The plugin: one hook, the event store; ``jsonl:///relative.jsonl``, ``jsonl:////abs.jsonl``.

A distribution would declare it in its ``pyproject.toml``::

    [project.entry-points."eventsource.backends"]
    jsonl = "eventsource_jsonl.plugin"
"""

from __future__ import annotations

import os

from eventsource.spi import (
    MAX_EVENT_BYTES,
    BackendURL,
    Capabilities,
    EventStoreSpec,
    InvalidBackendURLError,
    hookimpl,
    read_options,
)

from ._scratch import scratch_storage
from ._store import JsonlEventStore

__all__ = ["CAPABILITIES", "path_of", "same_store", "store_from_url"]

#: What the store can do: it persists, several stores (processes) may share one file, writers
#: queue on the file lock, and there is no outbox (it provides no outbox role).
CAPABILITIES = Capabilities(
    persistent=True,
    concurrent_connections=True,
    parallel_writers=False,
    transactional_outbox=False,
    live_notifications=False,
)


def path_of(url: BackendURL) -> str:
    """The file a ``jsonl://`` URL names: everything after ``jsonl:///`` is the path, so
    ``jsonl:///data/x.jsonl`` is ``data/x.jsonl`` (relative) and ``jsonl:////data/x.jsonl`` is
    ``/data/x.jsonl`` (absolute). A host has no meaning here."""
    if url.host:
        raise InvalidBackendURLError(
            f"{url}: a jsonl URL has no host; use jsonl:///relative.jsonl or jsonl:////abs.jsonl"
        )
    if not url.database:
        raise InvalidBackendURLError(f"{url}: name the file, e.g. jsonl:///events.jsonl")
    return url.database


def store_from_url(url: BackendURL) -> JsonlEventStore:
    """An unconnected store for a ``jsonl://`` URL; an unknown option is refused here."""
    options = read_options(url, (MAX_EVENT_BYTES,))
    return JsonlEventStore(path_of(url), **options)


def same_store(a: BackendURL, b: BackendURL) -> bool:
    """Two URLs name one store when they resolve to one file."""
    return os.path.realpath(path_of(a)) == os.path.realpath(path_of(b))


@hookimpl
def eventsource_event_stores() -> list[EventStoreSpec]:
    """The JSON-lines event store."""
    return [
        EventStoreSpec(
            name="jsonl",
            store_class=JsonlEventStore,
            from_url=store_from_url,
            capabilities=CAPABILITIES,
            description="One JSON-lines file, locked with flock: an example third-party store.",
            same_store=same_store,
            scratch_storage=scratch_storage,
        )
    ]
