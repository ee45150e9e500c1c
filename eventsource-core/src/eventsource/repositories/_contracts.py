"""Contracts of the checkpoint, outbox and dead-letter-queue repositories.

Guarantees (checked by :mod:`eventsource.testing`):

- **Checkpoints never move backwards.** An update whose event sits at a lower global position
  than the stored checkpoint is ignored; an update that cannot name a position (an event id
  the store does not hold, without ``global_position``) is refused, never a reset.
- **No outbox entry is handed to two workers at once.** ``get_pending_events`` claims the
  entries it returns for a lease; until the lease runs out or the entry is released, no other
  call returns it. A crashed worker's claims come back after their lease.
- **Ordered claims keep one aggregate in order.** ``get_pending_events(...,
  per_aggregate_order=True)`` hands out only the oldest pending entry of each aggregate, so
  two callers never hold entries of one aggregate at once and its entries are published in
  the order they were added (capability ``outbox_aggregate_order``).
- **The repositories never commit a caller's transaction.** A repository built over a
  connection the caller is using inside a transaction writes within that transaction. (How a
  caller hands over its connection is backend-specific, so the kit cannot check this one; each
  backend's own tests do, e.g. ``tests/sqlite/test_concurrency.py`` and
  ``tests/postgres/test_repositories.py``.)
- **An outbox entry whose stored payload cannot be decoded** (written around the library, say)
  is never handed out: ``get_pending_events`` marks it failed with the decoding error and
  returns the others; ``get_entry`` raises :class:`SerializationError` for it.
- **A DLQ entry records the traceback of the error it was given**, not whatever exception
  happens to be in flight.
- **Bad arguments change nothing.** An id of the wrong type (an outbox id as a string, a DLQ
  id as ``"1"`` or past 2**63 - 1), a duration that is not a ``timedelta`` from 0 to 1000
  years, a queried name outside the identifier rules or ``event_types`` given as one ``str``
  raise :class:`InvalidArgumentError` naming the argument before any I/O, on every backend:
  each method calls its door in :mod:`eventsource.spi` (``check_dlq_id``,
  ``check_outbox_id``, ``check_lease``, ``check_older_than``, ...; rules in
  :mod:`eventsource.arguments`).
"""

from __future__ import annotations

import abc
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any
from uuid import UUID

from .._exceptions import (
    ConfigurationError,
    EntryNotFoundError,
    InvalidArgumentError,
    SerializationError,
)
from ..arguments import check_position
from ..clock import SYSTEM_CLOCK, Clock
from ..events import DomainEvent
from ..values import MAX_VERSION, check_identifier, clean_text, encode_json
from ._arguments import check_outbox_ids
from ._checkpoint_positions import check_checkpoint_update
from ._entries import (
    CheckpointData,
    DLQEntry,
    DLQStats,
    DLQStatus,
    ErrorDetails,
    LagMetrics,
    OutboxEntry,
    OutboxStats,
    OutboxStatus,
    ProjectionFailureCount,
)
from ._legacy_args import accept_legacy_arguments

__all__ = [
    "DEFAULT_LEASE",
    "CheckpointRepository",
    "DLQRepository",
    "OutboxRepository",
    "check_dlq_status",
    "check_limit",
    "check_projection_name",
    "prepare_failed_event",
    "storable_note",
]

#: How long ``get_pending_events`` claims entries for unless told otherwise.
DEFAULT_LEASE = timedelta(seconds=60)


def check_dlq_status(status: object) -> DLQStatus:
    """``status`` as a :class:`DLQStatus`; :class:`InvalidArgumentError` (a ValueError)
    naming the valid statuses for anything else. Shared by every backend's ``get_failed_events``."""
    if isinstance(status, str):
        try:
            return DLQStatus(status)
        except ValueError:
            pass
    valid = ", ".join(s.value for s in DLQStatus)
    raise InvalidArgumentError(f"unknown DLQ status {status!r}; expected one of: {valid}")


def check_outbox_status(status: object) -> OutboxStatus:
    """``status`` as an :class:`OutboxStatus`; :class:`InvalidArgumentError` naming the valid
    statuses for anything else. Shared by every backend's ``list_entries``."""
    if isinstance(status, str):
        try:
            return OutboxStatus(status)
        except ValueError:
            pass
    valid = ", ".join(s.value for s in OutboxStatus)
    raise InvalidArgumentError(f"unknown outbox status {status!r}; expected one of: {valid}")


def check_limit(limit: object) -> int:
    """``limit`` if it is an int from 0 to 2**63 - 1; :class:`InvalidArgumentError` (a
    ValueError) otherwise."""
    return check_position(limit, "limit", InvalidArgumentError)


def check_projection_name(name: object) -> str:
    """``name`` if it is a valid identifier (:func:`eventsource.values.check_identifier`);
    :class:`InvalidArgumentError` otherwise. Shared by every backend's checkpoint and DLQ
    methods."""
    return check_identifier(name, "projection_name")


def storable_note(text: object, what: str) -> str:
    """``text`` (an outbox error, a DLQ resolution) made storable on every backend with
    :func:`eventsource.values.clean_text`; :class:`InvalidArgumentError` unless a string."""
    if not isinstance(text, str):
        raise InvalidArgumentError(f"{what} must be a string, got {type(text).__name__}")
    return clean_text(text)


def prepare_failed_event(
    event_id: object,
    projection_name: object,
    event_type: object,
    event_data: object,
    error: BaseException | str,
    retry_count: object = 1,
) -> tuple[str, ErrorDetails]:
    """Check ``add_failed_event``'s arguments before any I/O; shared by every backend.

    Returns ``event_data`` as portable JSON text (:func:`eventsource.values.encode_json`) and
    the error's storable details. Raises :class:`InvalidArgumentError` for a bad projection
    name or event type and :class:`SerializationError` for data outside the portable domain.
    """
    if not isinstance(event_id, UUID):
        raise InvalidArgumentError(f"event_id must be a UUID, got {type(event_id).__name__}")
    check_projection_name(projection_name)
    check_identifier(event_type, "event_type")
    if isinstance(retry_count, bool) or not isinstance(retry_count, int):
        raise InvalidArgumentError(f"retry_count must be an int, got {retry_count!r:.40}")
    if not 0 <= retry_count <= MAX_VERSION:
        raise InvalidArgumentError(f"retry_count must be from 0 to {MAX_VERSION}")
    text = encode_json(event_data, "DLQ event_data")  # type: ignore[arg-type]
    return text, ErrorDetails.of(error)


class CheckpointRepository(abc.ABC):
    """Where each projection is in the global order."""

    @abc.abstractmethod
    async def get_checkpoint(self, projection_name: str) -> UUID | None:
        """The id of the last event the projection handled, or None."""

    @abc.abstractmethod
    async def get_checkpoint_data(self, projection_name: str) -> CheckpointData | None:
        """The projection's whole checkpoint record, or None."""

    async def get_position(self, projection_name: str) -> int | None:
        """The global position of the last event the projection handled, or None."""
        data = await self.get_checkpoint_data(projection_name)
        return None if data is None else data.global_position

    @abc.abstractmethod
    async def update_checkpoint(
        self,
        projection_name: str,
        event_id: UUID,
        event_type: str,
        global_position: int | None = None,
    ) -> None:
        """Record that the projection handled this event.

        When ``global_position`` is not given the backend looks the event up in its store; an
        event id it does not hold raises :class:`EntryNotFoundError` naming the event and the
        projection. A given position must be the event's own when the store holds the event
        (else :class:`InvalidArgumentError`) and is recorded as given when it does not. A
        position that is not an int in ``1 .. 2**63 - 1`` (or a bool), or an event id that is
        not a UUID, raises :class:`InvalidArgumentError`. Every refusal leaves the checkpoint
        unchanged. An update to a lower position than the stored one is ignored: checkpoints
        never move backwards. Backends share these rules through
        :func:`check_checkpoint_update` and :func:`resolve_checkpoint_position`.
        """

    @abc.abstractmethod
    async def reset_checkpoint(self, projection_name: str) -> None:
        """Forget the projection's checkpoint (it will start from the beginning)."""

    async def move_checkpoint(
        self, projection_name: str, event_id: UUID, event_type: str, global_position: int
    ) -> None:
        """Set the projection's checkpoint to this event, backwards too (``eventsource
        checkpoints reset --to``), as a fresh record (one event processed).

        The position is checked as :meth:`update_checkpoint` checks it; a refusal leaves the
        checkpoint unchanged. The built-in backends write it in one statement; this default,
        for a backend that does not override it, resets and then updates (two writes): it
        checks the arguments first, but a refusal that needs the stored event (an id stored
        at another position) or a crash between the writes leaves no checkpoint, so override
        it."""
        check_checkpoint_update(event_id, global_position)
        await self.reset_checkpoint(projection_name)
        await self.update_checkpoint(projection_name, event_id, event_type, global_position)

    @abc.abstractmethod
    async def get_lag_metrics(
        self, projection_name: str, event_types: Sequence[str] | None = None
    ) -> LagMetrics | None:
        """How far the projection is behind the newest event of ``event_types`` (all if None).

        None when the projection has no checkpoint.
        """

    @abc.abstractmethod
    async def get_all_checkpoints(self) -> list[CheckpointData]:
        """Every projection's checkpoint, by projection name."""

    # -- eventsource-py 0.5.0 compatibility (docs/migrating-from-eventsource-py.md) -------------

    async def save_position(
        self, subscription_id: str, position: int, event_id: UUID, event_type: str
    ) -> None:
        """:meth:`update_checkpoint` with the event's global position (0.5.0's name)."""
        await self.update_checkpoint(subscription_id, event_id, event_type, position)


def load_stored_document(raw: Any, what: str) -> dict[str, Any]:
    """A stored JSON object (an outbox or DLQ payload column) as a dict.

    Raises :class:`SerializationError` naming ``what`` when it is not valid JSON, not an
    object, or holds a value Python's JSON reader refuses (an integer too long to parse).
    """
    if isinstance(raw, dict):
        return raw
    try:
        data = json.loads(raw)
    except (ValueError, TypeError, RecursionError) as exc:
        raise SerializationError(f"{what}: the stored payload cannot be decoded: {exc}") from None
    if not isinstance(data, dict):
        raise SerializationError(
            f"{what}: the stored payload is a JSON {type(data).__name__}, not an object"
        )
    return data


async def hand_out_claims(
    rows: Sequence[Any],
    entry: Callable[[Any], OutboxEntry],
    mark_failed: Callable[[UUID, str], Awaitable[None]],
) -> list[OutboxEntry]:
    """The claimed ``rows`` (whose first column is the entry id) as entries, in order; a row
    whose payload ``entry`` cannot decode (:class:`SerializationError`) is marked failed with
    the reason instead of being handed out."""
    entries: list[OutboxEntry] = []
    for row in rows:
        try:
            entries.append(entry(row))
        except SerializationError as exc:
            await mark_failed(UUID(str(row[0])), str(exc))
    return entries


class OutboxRepository(abc.ABC):
    """Events waiting to be published to other systems.

    :attr:`clock` is where the outbox reads "now" for claim leases, ``retry_after``, publish
    times and cleanup (``open_backend(url, clock=...)`` sets it; the system clock by
    default), so a lease test can run on a :class:`~eventsource.clock.ManualClock`. A backend
    whose database keeps the time itself (PostgreSQL's ``clock_timestamp()``) may use that
    while :attr:`clock` is a :class:`~eventsource.clock.SystemClock`.
    """

    #: The clock the outbox's leases and timestamps are read from.
    clock: Clock = SYSTEM_CLOCK

    @abc.abstractmethod
    async def add_event(self, event: DomainEvent) -> UUID:
        """Add ``event`` to the outbox as pending; returns the entry id.

        Written on the repository's connection and inside the caller's transaction if one is
        open; never commits a transaction it did not begin.
        """

    @abc.abstractmethod
    async def get_pending_events(
        self,
        limit: int = 100,
        *,
        worker_id: str | None = None,
        lease: timedelta = DEFAULT_LEASE,
        per_aggregate_order: bool = False,
    ) -> list[OutboxEntry]:
        """Claim up to ``limit`` pending entries, oldest first, for ``lease``.

        A claimed entry is returned to no other caller until it is published, released, marked
        failed, or its lease runs out.

        With ``per_aggregate_order`` (backends with the ``outbox_aggregate_order``
        capability; others may refuse the argument), only the **oldest pending entry of each
        aggregate** (same ``aggregate_id``, in the order the entries were added) can be
        claimed: an entry is never handed out while an earlier entry of its aggregate is still
        pending, whether claimed by anyone, released for a retry that is not yet due, or
        unclaimed. So across all callers at most one entry per aggregate is out at a time,
        and entries of one aggregate are published in add order, while different aggregates
        spread over callers. A published or failed entry no longer holds its aggregate back:
        a retried entry blocks the later ones until it is published or :meth:`mark_failed`
        (the escape for a stuck aggregate; the later entries then go on without it). Every
        caller of one outbox must claim with the same setting for the order to hold.
        """

    @abc.abstractmethod
    async def mark_published(self, outbox_id: UUID) -> None:
        """Mark the entry published. Raises :class:`EntryNotFoundError` for an unknown id."""

    async def mark_published_many(self, outbox_ids: Sequence[UUID]) -> int:
        """Mark several entries published, in one transaction where the backend can; returns
        how many were found and marked (unknown ids are skipped, not an error).

        The default marks them one by one; backends override it with one statement.
        """
        marked = 0
        for outbox_id in check_outbox_ids(outbox_ids):
            try:
                await self.mark_published(outbox_id)
            except EntryNotFoundError:
                continue
            marked += 1
        return marked

    @abc.abstractmethod
    async def release(
        self,
        outbox_id: UUID,
        error: str | None = None,
        *,
        retry_after: timedelta | None = None,
    ) -> None:
        """Give a claimed entry back as pending (after ``retry_after``); with ``error``, count
        a failed attempt and record the error."""

    @abc.abstractmethod
    async def mark_failed(self, outbox_id: UUID, error: str) -> None:
        """Give up on the entry: it is no longer pending and records ``error``."""

    @abc.abstractmethod
    async def get_entry(self, outbox_id: UUID) -> OutboxEntry:
        """One entry by id. Raises :class:`EntryNotFoundError` for an unknown id."""

    @abc.abstractmethod
    async def get_stats(self) -> OutboxStats:
        """Counts by status and the age of the oldest pending entry."""

    @abc.abstractmethod
    async def cleanup_published(self, older_than: timedelta = timedelta(days=7)) -> int:
        """Delete entries published more than ``older_than`` ago; returns how many.

        Also takes 0.5.0's ``days=N`` (or a plain int), see :mod:`._legacy_args`."""

    # -- for operators (eventsource outbox list / retry); optional for third-party backends ---

    async def list_entries(self, status: str = "pending", limit: int = 100) -> list[OutboxEntry]:
        """Up to ``limit`` entries with ``status`` (``pending``, ``failed`` or ``published``),
        oldest first, claiming none. A backend without it raises :class:`ConfigurationError`."""
        check_outbox_status(status)
        check_limit(limit)
        raise ConfigurationError(f"{type(self).__name__} cannot list outbox entries")

    async def retry_failed(self, outbox_id: UUID | None = None) -> int:
        """Give failed entries back as pending, to be published again now: ``outbox_id``, or
        every failed entry when None; their retry count and last error are kept. Returns how
        many. An unknown id raises :class:`EntryNotFoundError`, an entry that is not failed
        :class:`InvalidStateError` (nothing changed). A backend without it raises
        :class:`ConfigurationError`."""
        raise ConfigurationError(f"{type(self).__name__} cannot retry failed outbox entries")

    # -- eventsource-py 0.5.0 compatibility (docs/migrating-from-eventsource-py.md) -------------

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        accept_legacy_arguments(cls)

    async def list_pending_events(self, limit: int = 100) -> list[OutboxEntry]:
        """:meth:`get_pending_events` (0.5.0's alias; claims them too)."""
        return await self.get_pending_events(limit)

    async def increment_retry(self, outbox_id: UUID, error: str | None = None) -> None:
        """Count a failed publish of a claimed entry and give it back as pending: 0.5.0's
        name for :meth:`release` with an error (one is recorded when none is given)."""
        await self.release(outbox_id, error if error else "publish failed (no error given)")


class DLQRepository(abc.ABC):
    """Events a projection could not handle, parked with their error."""

    @abc.abstractmethod
    async def add_failed_event(
        self,
        event_id: UUID,
        projection_name: str,
        event_type: str,
        event_data: dict[str, Any],
        error: BaseException | str,
        retry_count: int = 1,
    ) -> int:
        """Park an event for a projection; returns the DLQ id.

        Recording the same event for the same projection again updates its entry (error,
        retry count, last failure time, status back to failed) and returns the same id.
        """

    @abc.abstractmethod
    async def get_failed_events(
        self,
        projection_name: str | None = None,
        status: str = "failed",
        limit: int = 100,
    ) -> list[DLQEntry]:
        """Entries with ``status`` (of one projection, or all), oldest failure first.

        An unknown ``status``, or a ``limit`` that is negative or not an int, raises
        :class:`InvalidArgumentError` (see :func:`check_dlq_status`, :func:`check_limit`).
        """

    @abc.abstractmethod
    async def get_failed_event_by_id(self, dlq_id: int) -> DLQEntry | None:
        """One entry, or None."""

    @abc.abstractmethod
    async def mark_retrying(self, dlq_id: int) -> None:
        """Mark the entry as being retried. Raises :class:`EntryNotFoundError`."""

    @abc.abstractmethod
    async def mark_resolved(self, dlq_id: int, resolution: str) -> None:
        """Resolve the entry with a note. Raises :class:`EntryNotFoundError`."""

    @abc.abstractmethod
    async def get_failure_stats(self) -> DLQStats:
        """Counts by status."""

    @abc.abstractmethod
    async def get_projection_failure_counts(self) -> list[ProjectionFailureCount]:
        """Unresolved failures per projection, most failures first."""

    @abc.abstractmethod
    async def delete_resolved_events(self, older_than: timedelta = timedelta(days=30)) -> int:
        """Delete entries resolved more than ``older_than`` ago; returns how many.

        Also takes 0.5.0's ``older_than_days=N`` (or a plain int), see :mod:`._legacy_args`."""

    # -- eventsource-py 0.5.0 compatibility (docs/migrating-from-eventsource-py.md) -------------

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        accept_legacy_arguments(cls)  # also mark_resolved(dlq_id, resolved_by=...)

    async def list_failed_events(
        self, projection_name: str | None = None, status: str = "failed", limit: int = 100
    ) -> list[DLQEntry]:
        """:meth:`get_failed_events` (0.5.0's alias)."""
        return await self.get_failed_events(projection_name, status, limit)

    async def get_failed_event(self, dlq_id: int) -> DLQEntry | None:
        """:meth:`get_failed_event_by_id` (0.5.0's alias)."""
        return await self.get_failed_event_by_id(dlq_id)
