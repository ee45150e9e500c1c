"""Copy an event store (and its checkpoints) from one backend to another.

:func:`migrate_backend` opens two backends by URL, copies the events, then (by choice) the
checkpoints, and verifies the copy (:class:`Verification`: counts and a checksum over the
ordered events of both sides). :func:`migrate_events` copies the events of two open stores.

Two ways to copy events, chosen by ``method`` (``"auto"``: the first that both stores allow):

- **bulk** (both stores have the ``bulk_transfer`` capability, :class:`~eventsource.spi.
  EventTransfer`; memory, SQLite and PostgreSQL do): rows go as stored, in batches of
  ``batch_size`` rows, one transaction each, at their global positions, stream versions and
  times, with their JSON text untouched; soft-deleted rows and deleted-stream marks too, so
  truncated and deleted streams copy exactly. Checkpoints then copy row for row (position,
  processed count, update time). A rerun, or a run after a kill, resumes after the target's
  highest position (the row there must be the source's), so nothing lands twice.
- **append** (any store): ``read_all`` and ``append_events`` at the exact version each stream
  must be at, so a copy can never interleave wrongly and a rerun skips what is there. The
  target numbers positions anew; soft-deleted rows and marks are not copied (``read_all``
  does not show them), and a truncated stream (first version above 1) cannot be appended.
  Events are decoded as :class:`GenericEvent` (falling back to their registered class only
  for a document that names its fields by alias), so fields the current classes no longer
  declare are kept, and event classes need not be importable. Checkpoints are set through
  ``update_checkpoint`` unless the target's already names the same event.

Nothing else should write to the target while a migration runs. On the bulk path an append
that lands meanwhile makes the next batch an :class:`ImportConflictError` ("target changed
during import", nothing of that batch written), never refused rows.

A source may hold rows the target refuses (written by an older release, or around the library)
or that cannot be decoded at all. ``on_refused="stop"`` (the default) stops there with the
typed error, the copy so far kept and resumable; ``on_refused="skip"`` copies everything else
and lists each refused event in :attr:`MigrationReport.refused`, together with the later events
of its stream, which cannot be copied after the gap (verification then fails: the copy is not
whole).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

from pydantic import ConfigDict, ValidationError

from ._exceptions import (
    ConfigurationError,
    EventDecodeError,
    EventStoreError,
    InvalidEventError,
    OptimisticLockError,
    SerializationError,
    StoreNotFoundError,
    UnknownEventTypeError,
)
from ._migration_bulk import bulk_copy, bulk_plan
from ._migration_progress import MigrationProgress, ProgressCallback, Tracker
from ._migration_roles import (
    count_snapshots,
    migrate_checkpoints,
    migrate_entries,
    migrate_snapshots,
    pending_entries,
)
from ._migration_verify import Verification, verify_copy
from .events import DomainEvent, EventRegistry, default_registry
from .plugins._backend import Backend, open_backend, resolve_url
from .plugins._manager import BackendRegistry, get_registry
from .plugins._url import BackendURL
from .stores._contract import EventStore
from .stores._transfer import EventTransfer
from .stores._types import ReadOptions, StoredEvent

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "INCLUDABLE",
    "CopyingEventRegistry",
    "GenericEvent",
    "LenientEventRegistry",
    "Method",
    "MigrationProgress",
    "MigrationReport",
    "RefusedEvent",
    "Verification",
    "choose_method",
    "migrate_backend",
    "migrate_checkpoints",
    "migrate_entries",
    "migrate_events",
    "migrate_snapshots",
    "same_store",
    "verify_copy",
]

#: How events are copied: ``"bulk"`` (stored rows, both stores ``bulk_transfer``),
#: ``"append"`` (``read_all`` + ``append_events``, any store), or ``"auto"`` (bulk if it can).
Method = Literal["auto", "bulk", "append"]

#: Rows per batch (one transaction each) unless told otherwise.
DEFAULT_BATCH_SIZE = 5000

#: What :func:`migrate_backend` can copy besides the events (``include=``).
INCLUDABLE: tuple[str, ...] = ("checkpoints", "outbox", "dlq", "snapshots")


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
    """What a migration did (with ``dry_run``: what it would do; nothing was written).

    ``events_skipped`` counts events the target already held (a resumed copy or a rerun);
    ``streams`` counts the distinct streams copied; ``last_position`` is the source's global
    position of the last event handled; ``method`` is ``"bulk"`` or ``"append"``;
    ``marks_copied`` counts deleted-stream marks (bulk only); ``verification`` compares both
    sides after the copy (None when not asked for, or on a dry run).
    """

    events_copied: int
    events_skipped: int
    streams: int
    elapsed_seconds: float
    last_position: int = 0
    checkpoints_copied: int = 0
    #: Events not copied (``on_refused="skip"``), in source order.
    refused: tuple[RefusedEvent, ...] = ()
    method: str = "append"
    marks_copied: int = 0
    dry_run: bool = False
    verification: Verification | None = None
    outbox_copied: int = 0
    dlq_copied: int = 0
    snapshots_copied: int = 0

    @property
    def events_seen(self) -> int:
        """Events read from the source."""
        return self.events_copied + self.events_skipped + len(self.refused)

    @property
    def rate(self) -> float:
        """Events copied per second."""
        return self.events_copied / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The report as a plain dict (for JSON output)."""
        return {
            "events_copied": self.events_copied,
            "events_skipped": self.events_skipped,
            "streams": self.streams,
            "elapsed_seconds": round(self.elapsed_seconds, 3),
            "events_per_second": round(self.rate, 1),
            "last_position": self.last_position,
            "checkpoints_copied": self.checkpoints_copied,
            "marks_copied": self.marks_copied,
            "outbox_copied": self.outbox_copied,
            "dlq_copied": self.dlq_copied,
            "snapshots_copied": self.snapshots_copied,
            "method": self.method,
            "dry_run": self.dry_run,
            "verification": None if self.verification is None else self.verification.to_dict(),
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


def _check_args(batch_size: int, on_refused: str, method: str) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise EventStoreError(f"batch_size must be a positive int, not {batch_size!r}")
    if on_refused not in ("stop", "skip"):
        raise EventStoreError(f"on_refused must be 'stop' or 'skip', not {on_refused!r}")
    if method not in ("auto", "bulk", "append"):
        raise EventStoreError(f"method must be 'auto', 'bulk' or 'append', not {method!r}")


def choose_method(source: EventStore, target: EventStore, method: Method = "auto") -> str:
    """``"bulk"`` or ``"append"``: what ``method`` means for these two stores. ``"bulk"``
    for stores that cannot is a :class:`ConfigurationError`."""
    both = isinstance(source, EventTransfer) and isinstance(target, EventTransfer)
    if method == "bulk" and not both:
        lacking = source if not isinstance(source, EventTransfer) else target
        raise ConfigurationError(
            f"{type(lacking).__name__} has no bulk transfer (capability bulk_transfer): "
            "copy with method='append'"
        )
    return "bulk" if both and method != "append" else "append"


async def migrate_events(
    source: EventStore,
    target: EventStore,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressCallback | None = None,
    on_refused: OnRefused = "stop",
    method: Method = "auto",
) -> MigrationReport:
    """Copy every event of ``source`` to ``target`` in global order; see the module docs.

    Events keep their ids, stream versions and relative order (bulk: their positions and
    times too). Each batch is atomic; rerun after an interruption to finish the copy, nothing
    lands twice. ``progress`` gets a :class:`MigrationProgress` after each batch (its
    ``total`` is known upfront on the bulk path).

    A source event the target refuses (:class:`SerializationError`,
    :class:`InvalidEventError`) or that cannot be decoded (:class:`EventDecodeError`, append
    path) stops the copy with that error when ``on_refused`` is ``"stop"``; with ``"skip"`` it
    is listed in the report's ``refused``, with the later events of its stream, and the copy
    goes on.

    Raises :class:`EventStoreError` when the target holds other events, and the store's own
    errors if something else writes to the target meanwhile (:class:`OptimisticLockError`
    on the append path, :class:`ImportConflictError` on the bulk path, with either
    ``on_refused``).
    """
    _check_args(batch_size, on_refused, method)
    if source is target:
        raise EventStoreError("source and target are the same store")
    tracker = Tracker(progress)
    if choose_method(source, target, method) == "bulk":
        assert isinstance(source, EventTransfer) and isinstance(target, EventTransfer)
        done = await bulk_copy(
            source,
            target,
            batch_size=batch_size,
            tracker=tracker,
            skip_refused=on_refused == "skip",
        )
        refused = sorted(done.refused, key=lambda item: item[0].global_position)
        return MigrationReport(
            events_copied=done.copied,
            events_skipped=done.present,
            streams=len(done.streams),
            elapsed_seconds=tracker.elapsed,
            last_position=done.last_position,
            refused=tuple(
                RefusedEvent(r.global_position, r.stream_id, r.event_id, why) for r, why in refused
            ),
            method="bulk",
            marks_copied=done.marks,
        )
    return await _append_copy(source, target, batch_size, tracker, on_refused)


async def _append_copy(
    source: EventStore, target: EventStore, batch_size: int, tracker: Tracker, on_refused: OnRefused
) -> MigrationReport:
    copier = _Copier(target, batch_size, on_refused)
    copier.assume_empty = await target.get_global_position() == 0
    last_position = 0
    reported = 0

    def handled() -> int:
        return copier.copied + copier.skipped + len(copier.refused)

    def report() -> None:
        tracker.copied = copier.copied
        tracker.report(handled())

    while True:
        try:
            async for stored in source.read_all(ReadOptions(from_position=last_position)):
                await copier.add(stored)
                last_position = stored.global_position
                if tracker.callback is not None and handled() - reported >= batch_size:
                    await copier.flush()
                    reported = handled()
                    report()
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
    if handled() != reported:
        report()
    return MigrationReport(
        events_copied=copier.copied,
        events_skipped=copier.skipped,
        streams=len(copier.versions),
        elapsed_seconds=tracker.elapsed,
        last_position=last_position,
        refused=tuple(copier.refused),
    )


def _check_include(include: Iterable[str]) -> frozenset[str]:
    if isinstance(include, str):
        include = [part.strip() for part in include.split(",") if part.strip()]
    chosen = frozenset(include)
    unknown = sorted(chosen - set(INCLUDABLE))
    if unknown:
        raise EventStoreError(
            f"cannot copy {', '.join(unknown)}: choose from {', '.join(INCLUDABLE)}"
        )
    return chosen


async def migrate_backend(
    source_url: str | BackendURL,
    target_url: str | BackendURL,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: ProgressCallback | None = None,
    env: Mapping[str, str] | None = None,
    on_refused: OnRefused = "stop",
    include: Iterable[str] = ("checkpoints",),
    method: Method = "auto",
    dry_run: bool = False,
    verify: bool = True,
) -> MigrationReport:
    """Open both backends by URL, copy the events (see :func:`migrate_events`), then what
    ``include`` names (``"checkpoints"``, the default; ``"outbox"``, ``"dlq"``: see
    :func:`migrate_entries`; ``"snapshots"``: see :func:`migrate_snapshots`), then verify
    (``verify``: the report's ``verification``).

    The source must exist (it is opened with ``create=False``: a missing one is a
    :class:`StoreNotFoundError` and nothing is created); the target's schema is created if
    needed. A source and target that name one store are refused (:func:`same_store`).
    ``dry_run`` opens the target only if it exists, writes nothing, and reports what a run
    would copy.
    """
    _check_args(batch_size, on_refused, method)
    chosen = _check_include(include)
    source = resolve_url(source_url, env)
    target = resolve_url(target_url, env)
    if same_store(source, target):
        raise EventStoreError(
            f"source and target are the same database: {source} and {target} name one store"
        )
    if dry_run:
        return await _plan(source, target, env, chosen, method)
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
            method=method,
        )
        checkpoints = 0
        if "checkpoints" in chosen:
            checkpoints = await migrate_checkpoints(
                source_backend.checkpoints,
                target_backend.checkpoints,
                exact=report.method == "bulk",
            )
        outbox = dlq = 0
        if "outbox" in chosen:
            outbox = await migrate_entries(source_backend.outbox, target_backend.outbox)
        if "dlq" in chosen:
            dlq = await migrate_entries(source_backend.dlq, target_backend.dlq)
        snapshots = 0
        if "snapshots" in chosen:
            snapshots = await migrate_snapshots(source_backend.snapshots, target_backend.snapshots)
        verification = (
            await verify_copy(source_backend.events, target_backend.events) if verify else None
        )
    return dataclasses.replace(
        report,
        checkpoints_copied=checkpoints,
        verification=verification,
        outbox_copied=outbox,
        dlq_copied=dlq,
        snapshots_copied=snapshots,
    )


async def _plan(
    source: BackendURL,
    target: BackendURL,
    env: Mapping[str, str] | None,
    chosen: frozenset[str],
    method: Method,
) -> MigrationReport:
    """What a run would copy; writes nothing (a missing target is taken as empty)."""
    tracker = Tracker(None)
    async with open_backend(source, env=env, create=False) as source_backend:
        try:
            async with open_backend(target, env=env, create=False) as target_backend:
                return await _plan_into(source_backend, target_backend, chosen, method, tracker)
        except StoreNotFoundError:
            return await _plan_into(source_backend, None, chosen, method, tracker)


async def _plan_into(
    source: Backend,
    target: Backend | None,
    chosen: frozenset[str],
    method: Method,
    tracker: Tracker,
) -> MigrationReport:
    events = source.events
    checkpoints = (
        len(await source.checkpoints.get_all_checkpoints()) if "checkpoints" in chosen else 0
    )
    outbox = await pending_entries(source, target, "outbox") if "outbox" in chosen else 0
    dlq = await pending_entries(source, target, "dlq") if "dlq" in chosen else 0
    snapshots = await count_snapshots(source) if "snapshots" in chosen else 0
    bulk = isinstance(events, EventTransfer) and (
        target is None or choose_method(events, target.events, method) == "bulk"
    )
    if bulk and method != "append":
        assert isinstance(events, EventTransfer)
        if target is None:
            to_copy, present = await events.count_rows(0), 0
        else:
            assert isinstance(target.events, EventTransfer)
            start, _, present = await bulk_plan(events, target.events)
            to_copy = await events.count_rows(start)
        marks = len(await events.export_marks())
        return MigrationReport(
            to_copy,
            present,
            0,
            tracker.elapsed,
            checkpoints_copied=checkpoints,
            method="bulk",
            marks_copied=marks,
            dry_run=True,
            outbox_copied=outbox,
            dlq_copied=dlq,
            snapshots_copied=snapshots,
        )
    copy, there = 0, 0
    async for stored in events.read_all():
        if target is not None and await target.events.event_exists(stored.event_id):
            there += 1
        else:
            copy += 1
    return MigrationReport(
        copy,
        there,
        0,
        tracker.elapsed,
        checkpoints_copied=checkpoints,
        dry_run=True,
        outbox_copied=outbox,
        dlq_copied=dlq,
        snapshots_copied=snapshots,
    )


def same_store(a: BackendURL, b: BackendURL, registry: BackendRegistry | None = None) -> bool:
    """True when two URLs name one store: the same backend, and its ``same_store`` hook (see
    :class:`~eventsource.spi.EventStoreSpec`) says so. Private in-memory databases never do."""
    stores = (registry or get_registry()).event_store_specs()
    spec_a, spec_b = stores.get(a.scheme.lower()), stores.get(b.scheme.lower())
    if spec_a is None or spec_b is None or spec_a.name != spec_b.name:
        return False  # an unknown scheme is reported when it is opened
    return spec_a.is_same_store(a, b)
