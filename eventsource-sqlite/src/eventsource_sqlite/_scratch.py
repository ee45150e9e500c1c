"""Scratch storage for ``eventsource conformance sqlite:///...``: a temporary directory per
kit test beside the file the URL names (the file itself is never opened), removed after it;
``sqlite:///:memory:`` certifies private in-memory databases."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from eventsource.spi import BackendURL, Capabilities, ScratchStorage, StorageUnavailableError

from ._store import SQLiteEventStore

if TYPE_CHECKING:
    from eventsource.testing import RawEventRow

__all__ = ["MEMORY_CAPABILITIES", "SCRATCH_PREFIX", "scratch_storage", "write_raw_event"]

#: The prefix of the temporary directories (one per kit test).
SCRATCH_PREFIX = ".eventsource-kit-"

#: ``:memory:``: every connection is a private database, so nothing is shared or persistent.
MEMORY_CAPABILITIES = Capabilities(
    persistent=False,
    concurrent_connections=False,
    parallel_writers=False,
    transactional_outbox=True,
    live_notifications=False,
    projection_leases=True,
    outbox_aggregate_order=True,
    stream_lifecycle=True,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_INSERT = (
    "INSERT INTO events (event_id, aggregate_id, aggregate_type, aggregate_version, event_type,"
    " event_version, tenant_id, occurred_at, stored_at, payload)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


async def write_raw_event(backend: Any, row: RawEventRow) -> int:
    """The kit's ``raw_event_writer``: ``row`` inserted with plain SQL on the open store's
    connection, around ``append_events``; its global position."""
    store = backend.events
    if not isinstance(store, SQLiteEventStore):
        raise TypeError(f"not a SQLite store: {store!r}")
    cursor = await store.connection.execute(
        _INSERT,
        (
            str(row.event_id),
            str(row.aggregate_id),
            row.aggregate_type,
            row.aggregate_version,
            row.event_type,
            row.event_version,
            None if row.tenant_id is None else str(row.tenant_id),
            (row.occurred_at - _EPOCH) // _US,
            (datetime.now(UTC) - _EPOCH) // _US,
            row.payload,
        ),
    )
    position = cursor.lastrowid
    await cursor.close()
    store.shared.notify()
    return int(position or 0)


def _directory(url: BackendURL) -> str:
    """Where the temporary directories go: the directory the URL names, or the one holding
    the file it names."""
    database = url.database or ""
    path = os.path.abspath(database)
    where = path if os.path.isdir(path) or database.endswith("/") else os.path.dirname(path)
    if not os.path.isdir(where):
        raise StorageUnavailableError(
            f"{url}: directory {where!r} does not exist (the kit's files go there)"
        )
    return where


@contextlib.asynccontextmanager
async def scratch_storage(url: BackendURL) -> AsyncIterator[ScratchStorage]:
    """A fresh ``kit.db`` in a new temporary directory (``missing.db`` beside it is never
    created by the kit unless asked), with the URL's options; the directory is removed after."""
    database = url.database or ":memory:"
    if database == ":memory:" or database.startswith("file:"):
        yield ScratchStorage(
            url=dataclasses.replace(url, database=":memory:").render(hide_password=False),
            capabilities=MEMORY_CAPABILITIES,
            raw_event_writer=write_raw_event,
        )
        return
    directory = tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=_directory(url))
    try:
        yield ScratchStorage(
            url=_at(url, os.path.join(directory, "kit.db")),
            missing_url=_at(url, os.path.join(directory, "missing.db")),
            raw_event_writer=write_raw_event,
        )
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _at(url: BackendURL, path: str) -> str:
    return dataclasses.replace(url, database=path).render(hide_password=False)
