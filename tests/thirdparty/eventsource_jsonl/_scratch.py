"""Scratch storage, so that ``eventsource conformance jsonl:///dir/`` can certify the store from
a URL: a temporary directory per kit test beside the file the URL names, removed after it."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from eventsource.spi import BackendURL, ScratchStorage, StorageUnavailableError

from ._store import JsonlEventStore, Row

if TYPE_CHECKING:
    from eventsource.testing import RawEventRow

__all__ = ["scratch_storage", "write_raw"]


async def write_raw(backend: Any, row: RawEventRow) -> int:
    """The kit's raw_event_writer: the row as a line, unchecked."""
    store = backend.events
    assert isinstance(store, JsonlEventStore)
    return store.write_row(
        Row(
            global_position=0,
            event_id=row.event_id,
            aggregate_id=row.aggregate_id,
            aggregate_type=row.aggregate_type,
            version=row.aggregate_version,
            event_type=row.event_type,
            event_version=row.event_version,
            tenant_id=row.tenant_id,
            occurred_at=row.occurred_at,
            stored_at=row.occurred_at,
            payload=row.payload,
        )
    )


def _directory(url: BackendURL) -> str:
    """The directory the URL names, or the one holding the file it names."""
    path = os.path.abspath(url.database or ".")
    where = path if os.path.isdir(path) else os.path.dirname(path)
    if not os.path.isdir(where):
        raise StorageUnavailableError(f"{url}: directory {where!r} does not exist")
    return where


@contextlib.asynccontextmanager
async def scratch_storage(url: BackendURL) -> AsyncIterator[ScratchStorage]:
    """``events.jsonl`` in a fresh directory beside the URL's file (``missing.jsonl`` is never
    created unless the kit asks); the directory is removed after the test."""
    directory = tempfile.mkdtemp(prefix=".jsonl-kit-", dir=_directory(url))

    def at(name: str) -> str:
        return dataclasses.replace(url, database=os.path.join(directory, name)).render()

    try:
        yield ScratchStorage(
            url=at("events.jsonl"), missing_url=at("missing.jsonl"), raw_event_writer=write_raw
        )
    finally:
        shutil.rmtree(directory, ignore_errors=True)
