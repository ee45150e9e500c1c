"""Copy an event store (and its checkpoints) from one backend to another.

:func:`migrate_events` streams the source's events in global order and appends them to the
target with their ids, stream versions and order unchanged. Each append states the exact
version the target stream must be at, so a copy can never interleave wrongly, and a re-run
after an interruption skips what is already there and completes the copy without duplicates.
Nothing else should write to the target while a migration runs.

:func:`migrate_backend` opens two backends by URL, copies the events, then the checkpoints.
Events are copied as stored, field for field: a migration decodes each document as
:class:`GenericEvent` (falling back to its registered class only for a document that names its
fields by alias), so fields the current classes no longer declare are kept, and event classes
need not be importable.

A source may hold rows the target refuses (written by an older release, or around the library)
or that cannot be decoded at all. ``on_refused="stop"`` (the default) stops there with the
typed error, the copy so far kept and resumable; ``on_refused="skip"`` copies everything else
and lists each refused event in :attr:`MigrationReport.refused`, together with the later events
of its stream, which cannot be appended after the gap.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from pydantic import ConfigDict, ValidationError

from ._exceptions import (
    EntryNotFoundError,
    EventDecodeError,
    EventStoreError,
    InvalidEventError,
    OptimisticLockError,
    SerializationError,
    UnknownEventTypeError,
)
from .events import DomainEvent, EventRegistry, default_registry
from .plugins._backend import open_backend, resolve_url
from .plugins._manager import BackendRegistry, get_registry
from .plugins._url import BackendURL
from .repositories._contracts import CheckpointRepository
from .stores._contract import EventStore
from .stores._types import ReadOptions, StoredEvent

__all__ = [
    "CopyingEventRegistry",
    "GenericEvent",
    "LenientEventRegistry",
    "MigrationReport",
    "RefusedEvent",
    "migrate_backend",
    "migrate_checkpoints",
    "migrate_events",
    "same_store",
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


class CopyingEventRegistry(LenientEventRegistry):
    """A registry that decodes every document as :class:`GenericEvent`, keeping each stored
    field (also ones the current class no longer declares) for an exact copy; a document
    :class:`GenericEvent` cannot read (its class names fields by alias) decodes with its
    registered class."""

    def deserialize(
        self, payload: str | bytes, event_type: str, event_version: int | None = None
    ) -> DomainEvent:
        """The stored document as a :class:`GenericEvent`, or as its class when it must."""
        try:
            return GenericEvent.model_validate_json(payload)
        except ValidationError:
            return super().deserialize(payload, event_type, event_version)


#: What a migration does at a source event the target refuses or nobody can decode.
OnRefused = Literal["stop", "skip"]


@dataclass(frozen=True, slots=True)
class RefusedEvent:
    """A source event a migration did not copy, and why."""

    global_position: int
    stream_id: str | None
    event_id: UUID | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """The refusal as a plain dict (for JSON output)."""
        return {
            "global_position": self.global_position,
            "stream_id": self.stream_id,
            "event_id": None if self.event_id is None else str(self.event_id),
            "reason": self.reason,
        }


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
    #: Events not copied (``on_refused="skip"``), in source order.
    refused: tuple[RefusedEvent, ...] = ()

    @property
    def events_seen(self) -> int:
        """Events read from the source."""
        return self.events_copied + self.events_skipped + len(self.refused)

    def to_dict(self) -> dict[str, Any]:
        """The report as a plain dict (for JSON output)."""
        return {
            "events_copied": self.events_copied,
            "events_skipped": self.events_skipped,
            "streams": self.streams,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "last_position": self.last_position,
            "checkpoints_copied": self.checkpoints_copied,
            "refused": [r.to_dict() for r in self.refused],
        }


class _Copier:
    """Batches consecutive events of one stream and appends them at exact versions."""

    def __init__(self, target: EventStore, batch_size: int, on_refused: OnRefused) -> None:
        self.target = target
        self.batch_size = batch_size
        self.on_refused = on_refused
        self.versions: dict[str, int] = {}  # target stream versions, as far as we know
        self.batch: list[StoredEvent] = []
        self.copied = 0
        self.skipped = 0
        self.assume_empty = False
        self.refused: list[RefusedEvent] = []
        self.blocked: dict[str, int] = {}  # stream -> position of its refused event

    def refuse(self, stored: StoredEvent, reason: str) -> None:
        """Record ``stored`` as not copied; later events of its stream are blocked."""
        self.blocked.setdefault(stored.stream_id, stored.global_position)
        self.refused.append(
            RefusedEvent(stored.global_position, stored.stream_id, stored.event.event_id, reason)
        )

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
        blocked_at = self.blocked.get(stored.stream_id)
        if blocked_at is not None:
            self.refuse(stored, f"follows refused event at position {blocked_at} of its stream")
            return
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
        try:
            await self._append(batch)
        except (SerializationError, InvalidEventError) as exc:
            if self.on_refused == "stop" or isinstance(exc, OptimisticLockError):
                raise
            await self._append_one_by_one(batch)

    async def _append(self, batch: list[StoredEvent]) -> None:
        first = batch[0].event
        await self.target.append_events(
            aggregate_id=first.aggregate_id,
            aggregate_type=first.aggregate_type,
            events=[s.event for s in batch],
            expected_version=first.aggregate_version - 1,
        )
        self.versions[batch[0].stream_id] = batch[-1].event.aggregate_version
        self.copied += len(batch)

    async def _append_one_by_one(self, batch: list[StoredEvent]) -> None:
        """Copy a refused batch's events up to the refused one; refuse it and the rest."""
        for at, stored in enumerate(batch):
            try:
                await self._append([stored])
            except (SerializationError, InvalidEventError) as exc:
                if isinstance(exc, OptimisticLockError):
                    raise
                self.refuse(stored, f"{type(exc).__name__}: {exc}")
                for later in batch[at + 1 :]:
                    await self.add(later)
                return


async def migrate_events(
    source: EventStore,
    target: EventStore,
    *,
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
    on_refused: OnRefused = "stop",
) -> MigrationReport:
    """Copy every event of ``source`` to ``target`` in global order; see the module docs.

    Events keep their ids, stream versions and relative order. Consecutive events of one
    stream are appended together (up to ``batch_size``), each batch at the exact version the
    target stream must have, so it is atomic and cannot land twice. Events already in the
    target are skipped: re-run after an interruption to finish the copy. ``progress`` is
    called with the number of events handled so far after each batch.

    A source event the target refuses (:class:`SerializationError`,
    :class:`InvalidEventError`) or that cannot be decoded (:class:`EventDecodeError`) stops the
    copy with that error when ``on_refused`` is ``"stop"``; with ``"skip"`` it is listed in the
    report's ``refused``, with the later events of its stream, and the copy goes on.

    Raises :class:`EventStoreError` when the target holds different events in a stream, and
    the store's own errors (:class:`OptimisticLockError` if something else writes to the
    target meanwhile).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise EventStoreError(f"batch_size must be a positive int, not {batch_size!r}")
    if on_refused not in ("stop", "skip"):
        raise EventStoreError(f"on_refused must be 'stop' or 'skip', not {on_refused!r}")
    started = time.perf_counter()
    copier = _Copier(target, batch_size, on_refused)
    copier.assume_empty = await target.get_global_position() == 0
    last_position = 0
    reported = 0

    def handled() -> int:
        return copier.copied + copier.skipped + len(copier.refused)

    while True:
        try:
            async for stored in source.read_all(ReadOptions(from_position=last_position)):
                await copier.add(stored)
                last_position = stored.global_position
                if progress is not None and handled() - reported >= batch_size:
                    await copier.flush()
                    reported = handled()
                    progress(reported)
            break
        except EventDecodeError as exc:
            await copier.flush()
            if on_refused == "stop" or exc.global_position is None:
                raise
            copier.refused.append(
                RefusedEvent(exc.global_position, exc.stream_id, exc.event_id, str(exc))
            )
            if exc.stream_id is not None:
                copier.blocked.setdefault(exc.stream_id, exc.global_position)
            last_position = exc.global_position
    await copier.flush()
    if progress is not None and handled() != reported:
        progress(handled())
    return MigrationReport(
        events_copied=copier.copied,
        events_skipped=copier.skipped,
        streams=len(copier.versions),
        elapsed_seconds=time.perf_counter() - started,
        last_position=last_position,
        refused=tuple(copier.refused),
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
    on_refused: OnRefused = "stop",
) -> MigrationReport:
    """Open both backends by URL, copy the events (see :func:`migrate_events`), then the
    checkpoints. The source must exist (it is opened with ``create=False``: a missing one is
    a :class:`StoreNotFoundError` and nothing is created); the target's schema is created if
    needed. Outbox and DLQ entries are not copied. ``on_refused``: see
    :func:`migrate_events`."""
    source = resolve_url(source_url, env)
    target = resolve_url(target_url, env)
    if same_store(source, target):
        raise EventStoreError(
            f"source and target are the same database: {source} and {target} name one store"
        )
    # the target is built only once the source is open: a missing source touches nothing
    async with (
        open_backend(source, env=env, create=False) as source_backend,
        open_backend(target, env=env) as target_backend,
    ):
        for store in (source_backend.events, target_backend.events):
            store.event_registry = CopyingEventRegistry(store.event_registry)
        report = await migrate_events(
            source_backend.events,
            target_backend.events,
            batch_size=batch_size,
            progress=progress,
            on_refused=on_refused,
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
        refused=report.refused,
    )


def same_store(a: BackendURL, b: BackendURL, registry: BackendRegistry | None = None) -> bool:
    """True when two URLs name one store: the same backend, and its ``same_store`` hook (see
    :class:`~eventsource.spi.EventStoreSpec`) says so. Private in-memory databases never do."""
    stores = (registry or get_registry()).event_store_specs()
    spec_a, spec_b = stores.get(a.scheme.lower()), stores.get(b.scheme.lower())
    if spec_a is None or spec_b is None or spec_a.name != spec_b.name:
        return False  # an unknown scheme is reported when it is opened
    return spec_a.is_same_store(a, b)
