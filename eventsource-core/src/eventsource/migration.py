"""Copy an event store (and its checkpoints) from one backend to another.

:func:`migrate_events` streams the source's events in global order and appends them to the
target with their ids, stream versions and order unchanged. Each append states the exact
version the target stream must be at, so a copy can never interleave wrongly, and a re-run
after an interruption skips what is already there and completes the copy without duplicates.
Nothing else should write to the target while a migration runs.

:func:`migrate_backend` opens two backends by URL, copies the events, then the checkpoints.
Event classes need not be importable: events of types nobody registered are copied as
:class:`GenericEvent`, field for field.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import ConfigDict

from ._exceptions import EntryNotFoundError, EventStoreError, UnknownEventTypeError
from .events import DomainEvent, EventRegistry, default_registry
from .plugins._backend import open_backend, resolve_url
from .plugins._url import BackendURL
from .repositories._contracts import CheckpointRepository
from .stores._contract import EventStore
from .stores._types import StoredEvent

__all__ = [
    "GenericEvent",
    "LenientEventRegistry",
    "MigrationReport",
    "migrate_backend",
    "migrate_checkpoints",
    "migrate_events",
]


class GenericEvent(DomainEvent):
    """An event of a type no class is registered for; keeps every stored field."""

    __register__ = False
    model_config = ConfigDict(frozen=True, extra="allow")


class LenientEventRegistry(EventRegistry):
    """A registry that decodes unknown event types as :class:`GenericEvent`.

    Known types still decode to their classes (looked up in ``base``), so a copy keeps
    validating what it can; unknown ones pass through unchanged.
    """

    def __init__(self, base: EventRegistry | None = None) -> None:
        super().__init__()
        self.base = base if base is not None else default_registry

    def get(self, event_type: str, event_version: int | None = None) -> type[DomainEvent]:
        """The registered class, or :class:`GenericEvent` for an unknown type."""
        try:
            return self.base.get(event_type, event_version)
        except UnknownEventTypeError:
            return GenericEvent

    def check_registered(self, event: DomainEvent) -> None:
        """Every event can be decoded by this registry."""

    def __contains__(self, event_type: object) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class MigrationReport:
    """What a migration did.

    ``events_skipped`` counts events the target already held (a resumed copy);
    ``streams`` counts the distinct streams seen; ``last_position`` is the source's global
    position of the last event handled.
    """

    events_copied: int
    events_skipped: int
    streams: int
    elapsed_seconds: float
    last_position: int = 0
    checkpoints_copied: int = 0

    @property
    def events_seen(self) -> int:
        """Events read from the source."""
        return self.events_copied + self.events_skipped

    def to_dict(self) -> dict[str, Any]:
        """The report as a plain dict (for JSON output)."""
        return {
            "events_copied": self.events_copied,
            "events_skipped": self.events_skipped,
            "streams": self.streams,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "last_position": self.last_position,
            "checkpoints_copied": self.checkpoints_copied,
        }


class _Copier:
    """Batches consecutive events of one stream and appends them at exact versions."""

    def __init__(self, target: EventStore, batch_size: int) -> None:
        self.target = target
        self.batch_size = batch_size
        self.versions: dict[str, int] = {}  # target stream versions, as far as we know
        self.batch: list[StoredEvent] = []
        self.copied = 0
        self.skipped = 0
        self.assume_empty = False

    async def target_version(self, stored: StoredEvent) -> int:
        version = self.versions.get(stored.stream_id)
        if version is None:
            event = stored.event
            version = (
                0
                if self.assume_empty
                else await self.target.get_stream_version(event.aggregate_id, event.aggregate_type)
            )
            self.versions[stored.stream_id] = version
        return version

    async def add(self, stored: StoredEvent) -> None:
        """Queue ``stored`` for copying, or skip it when the target already has it."""
        version = await self.target_version(stored)
        event = stored.event
        if event.aggregate_version <= version:
            if not await self.target.event_exists(event.event_id):
                raise EventStoreError(
                    f"target stream {stored.stream_id} already has version "
                    f"{event.aggregate_version} but not event {event.event_id}: the target "
                    "holds other events and is not a copy of the source"
                )
            self.skipped += 1
            return
        if self.batch and (
            self.batch[-1].stream_id != stored.stream_id or len(self.batch) >= self.batch_size
        ):
            await self.flush()
        self.batch.append(stored)

    async def flush(self) -> None:
        """Append the queued events in one atomic batch."""
        if not self.batch:
            return
        batch, self.batch = self.batch, []
        first = batch[0].event
        await self.target.append_events(
            aggregate_id=first.aggregate_id,
            aggregate_type=first.aggregate_type,
            events=[s.event for s in batch],
            expected_version=first.aggregate_version - 1,
        )
        self.versions[batch[0].stream_id] = batch[-1].event.aggregate_version
        self.copied += len(batch)


async def migrate_events(
    source: EventStore,
    target: EventStore,
    *,
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> MigrationReport:
    """Copy every event of ``source`` to ``target`` in global order; see the module docs.

    Events keep their ids, stream versions and relative order. Consecutive events of one
    stream are appended together (up to ``batch_size``), each batch at the exact version the
    target stream must have, so it is atomic and cannot land twice. Events already in the
    target are skipped: re-run after an interruption to finish the copy. ``progress`` is
    called with the number of events handled so far after each batch.

    Raises :class:`EventStoreError` when the target holds different events in a stream, and
    the store's own errors (:class:`OptimisticLockError` if something else writes to the
    target meanwhile).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise EventStoreError(f"batch_size must be a positive int, not {batch_size!r}")
    started = time.perf_counter()
    copier = _Copier(target, batch_size)
    copier.assume_empty = await target.get_global_position() == 0
    last_position = 0
    reported = 0
    async for stored in source.read_all():
        await copier.add(stored)
        last_position = stored.global_position
        if progress is not None and copier.copied + copier.skipped - reported >= batch_size:
            await copier.flush()
            reported = copier.copied + copier.skipped
            progress(reported)
    await copier.flush()
    if progress is not None and copier.copied + copier.skipped != reported:
        progress(copier.copied + copier.skipped)
    return MigrationReport(
        events_copied=copier.copied,
        events_skipped=copier.skipped,
        streams=len(copier.versions),
        elapsed_seconds=time.perf_counter() - started,
        last_position=last_position,
    )


async def migrate_checkpoints(source: CheckpointRepository, target: CheckpointRepository) -> int:
    """Copy each projection's checkpoint; the target finds the position from the event id.

    Returns how many were copied. A target checkpoint that is further along stays (they never
    move backwards); checkpoints without an event, or whose event the target does not hold,
    are skipped (a checkpoint is never written without a position).
    """
    copied = 0
    for data in await source.get_all_checkpoints():
        if data.last_event_id is None or data.last_event_type is None:
            continue
        event_id: UUID = data.last_event_id
        try:
            await target.update_checkpoint(data.projection_name, event_id, data.last_event_type)
        except EntryNotFoundError:
            continue
        copied += 1
    return copied


async def migrate_backend(
    source_url: str | BackendURL,
    target_url: str | BackendURL,
    *,
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
    env: Mapping[str, str] | None = None,
) -> MigrationReport:
    """Open both backends by URL, copy the events (see :func:`migrate_events`), then the
    checkpoints. The source must exist (it is opened with ``create=False``: a missing one is
    a :class:`StoreNotFoundError` and nothing is created); the target's schema is created if
    needed. Outbox and DLQ entries are not copied."""
    source = resolve_url(source_url, env)
    target = resolve_url(target_url, env)
    if _same_database(source, target):
        raise EventStoreError(f"source and target are the same database: {source}")
    # the target is built only once the source is open: a missing source touches nothing
    async with (
        open_backend(source, env=env, create=False) as source_backend,
        open_backend(target, env=env) as target_backend,
    ):
        for store in (source_backend.events, target_backend.events):
            store.event_registry = LenientEventRegistry(store.event_registry)
        report = await migrate_events(
            source_backend.events, target_backend.events, batch_size=batch_size, progress=progress
        )
        checkpoints = await migrate_checkpoints(
            source_backend.checkpoints, target_backend.checkpoints
        )
    return MigrationReport(
        events_copied=report.events_copied,
        events_skipped=report.events_skipped,
        streams=report.streams,
        elapsed_seconds=report.elapsed_seconds,
        last_position=report.last_position,
        checkpoints_copied=checkpoints,
    )


def _same_database(a: BackendURL, b: BackendURL) -> bool:
    """True when two URLs name one database (private in-memory databases never do)."""
    if a.scheme != b.scheme:
        return False
    if a.database in (None, ":memory:") and a.host is None:
        return False  # memory:// and sqlite:///:memory: are private to each backend
    if a.scheme == "sqlite" and a.database and b.database:
        return os.path.realpath(a.database) == os.path.realpath(b.database)
    return (a.username, a.host, a.port, a.database) == (b.username, b.host, b.port, b.database)
