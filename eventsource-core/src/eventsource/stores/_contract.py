"""The event store contract every backend honours.

Guarantees (each is checked by :mod:`eventsource.testing`):

- **Atomic batches.** ``append_events`` writes all of its events or none.
- **One winner per expected version.** Of N concurrent appends of different events to one
  stream with the same exact expected version, exactly one succeeds; the others raise
  :class:`OptimisticLockError` and write nothing.
- **ANY never conflicts.** Appends with ``ExpectedVersion.ANY`` never fail because another
  writer appended concurrently; each gets the next stream positions.
- **Retries are idempotent.** An append whose events are all stored already, in its stream, at
  the versions it would have given them (a client retrying after a lost acknowledgement, with
  the same expected version, ``NO_STREAM`` or ``ANY``) writes nothing and returns the original
  append's :class:`AppendResult`; the same id in another stream or at other versions, or a
  batch of which only some events are stored, is a :class:`DuplicateEventError`. Backends
  check this only on a conflict (:func:`~eventsource.spi.original_result`), so a first append
  pays nothing for it; of N connections racing to append one batch, exactly one writes and all
  get the same result. The exact rule: :func:`~eventsource.spi.original_result`, and
  docs/appends.md.
- **A global order a reader can trust.** Every event gets a global position, unique and
  increasing in commit order: once a reader has seen position ``p``, no event with a position
  ``<= p`` commits later. A catch-up reader that resumes from the last position it saw never
  skips an event.
- **Bad input changes nothing.** Wrong types, empty batches, events of another aggregate,
  unregistered event types, duplicate ids, unserialisable or oversized payloads raise a
  subclass of :class:`EventStoreError` before anything is written. Read arguments outside
  the rules of :mod:`eventsource.arguments` (a position past 2**63 - 1, a naive datetime, a
  type name with a lone surrogate, an id as a string) raise :class:`InvalidArgumentError`
  naming the argument, on every backend alike: each method calls its door in
  :mod:`eventsource.spi` (``check_get_events``, ``check_read_options``, ...) first.
- **Streaming reads.** ``read_stream`` and ``read_all`` yield in pages and never hold a whole
  result set in memory.
- **Readers deliver up to an undecodable row and say where it is.** A stored event that cannot
  be decoded (a poison row: invalid JSON, nesting past the parser's limit, a document its class
  refuses, a type with no registered class) never hides the events before it: every reader
  yields them all, then raises :class:`EventDecodeError` naming the row from its own columns
  (global position, stream and stream position, event id, type and version), with the stored
  text as ``raw_payload`` and the decoding error as ``__cause__``. Each row is decoded as it
  is yielded (:func:`~eventsource.spi.decode_stored_event`), never a page ahead; a reader
  resuming from the row's position goes on after it. ``ReadOptions(lazy=True)`` allows a store
  to yield every row and decode on first access of ``.event`` instead (which then raises that
  error); a store may ignore it and decode as usual. ``get_events`` and
  ``get_events_by_type`` raise the same error.
- **Stream lifecycle (optional: capability ``stream_lifecycle``).** ``delete_stream`` (soft
  or hard), ``restore_stream``, ``truncate_stream`` and ``scavenge`` (retention per aggregate
  type): reads and ``load`` honour them, global positions are never reused, a delete is
  recorded by a :class:`~eventsource.StreamDeleted` event, and appending to a deleted stream
  is a :class:`StreamDeletedError` unless ``recreate=True``; the rules are in
  :mod:`eventsource.stores._lifecycle` and docs/lifecycle.md. A backend without it keeps the
  defaults here, which raise :class:`ConfigurationError`.
- **Opening without creating.** ``open(create=False)`` (``connect_existing``) opens only a
  store that exists and raises :class:`StoreNotFoundError` naming it otherwise, having created
  nothing.
"""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from .._event_documents import DocumentRules, rules_for, version_span
from .._exceptions import (
    ConfigurationError,
    DuplicateEventError,
    InvalidArgumentError,
    InvalidEventError,
    OptimisticLockError,
)
from .._options import MAX_EVENT_BYTES
from ..arguments import check_moment
from ..events import (
    DEFAULT_MAX_EVENT_BYTES,
    DomainEvent,
    EventRegistry,
    default_registry,
    encode_event,
)
from ..values import check_identifier
from ._arguments import check_event_id, check_wait
from ._legacy_calls import wrap_legacy_calls
from ._lifecycle import RetentionPolicy, check_retention, retention_before
from ._types import (
    AppendResult,
    EventStream,
    ExpectedVersion,
    ReadOptions,
    StoredEvent,
    check_expected_version,
)

__all__ = [
    "EventStore",
    "PreparedEvent",
    "check_stream_version",
    "prepare_append",
    "restamp",
]


class EventStore(abc.ABC):
    """Async event store: append with optimistic concurrency, read by stream or globally.

    Use it as an async context manager (``async with store:`` connects and closes); call
    :meth:`initialize` once to create the schema (idempotent), or :meth:`open` to do both, with
    ``create=False`` to refuse a store that does not exist yet (:class:`StoreNotFoundError`).
    ``event_registry`` decodes stored events; it defaults to
    :data:`eventsource.events.default_registry`.
    """

    #: Page size used by streaming reads.
    page_size: int = 1000

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        wrap_legacy_calls(cls)  # eventsource-py 0.5.0's empty appends and plain stream ids

    def __init__(
        self,
        *,
        event_registry: EventRegistry | None = None,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        self.event_registry = event_registry if event_registry is not None else default_registry
        self.max_event_bytes: int = MAX_EVENT_BYTES.check(max_event_bytes)

    # -- lifecycle -----------------------------------------------------------------------------

    async def connect(self) -> None:  # noqa: B027 - a no-op default is the right default
        """Open connections; idempotent. Stores that need no connection do nothing."""

    async def close(self) -> None:  # noqa: B027
        """Release connections; idempotent."""

    @abc.abstractmethod
    async def initialize(self) -> None:
        """Create the schema for all four roles if it does not exist (idempotent)."""

    async def connect_existing(self) -> None:
        """Connect only to a store that already exists; create nothing.

        Raises :class:`StoreNotFoundError` (its ``location`` names the file, schema or
        database) when there is no such store, or it holds no initialised eventsource schema;
        nothing is created, not even an empty file or schema, and nothing is left open. Used
        by :meth:`open` with ``create=False``. Backends override it; the default refuses with
        :class:`ConfigurationError`, as a backend that cannot tell would create the store.
        """
        raise ConfigurationError(
            f"{type(self).__name__} does not implement connect_existing(), so it cannot be "
            "opened with create=False (open it with create=True)"
        )

    async def open(self, *, create: bool = True) -> None:
        """Connect and make the schema ready: what :meth:`Backend.open` does with the store.

        With ``create`` (the default): :meth:`connect`, then :meth:`initialize`, creating a
        missing store. With ``create=False``: :meth:`connect_existing`, which raises
        :class:`StoreNotFoundError` for a missing store, having created nothing; then
        :meth:`initialize` (nothing to create; an older schema is upgraded). On any error the
        store is closed again.
        """
        try:
            if create:
                await self.connect()
            else:
                await self.connect_existing()
            await self.initialize()
        except BaseException:
            await self.close()
            raise

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- writing -------------------------------------------------------------------------------

    @abc.abstractmethod
    async def append_events(
        self,
        aggregate_id: UUID,
        aggregate_type: str,
        events: Sequence[DomainEvent],
        expected_version: int,
        *,
        outbox: bool = False,
        recreate: bool = False,
    ) -> AppendResult:
        """Append ``events`` to the aggregate's stream, atomically.

        A deleted stream (:meth:`delete_stream`) refuses appends with
        :class:`StreamDeletedError`; with ``recreate=True`` its old events are removed for good
        and the append starts the stream anew (version 0 before it). Backends without the
        ``stream_lifecycle`` capability ignore ``recreate``.

        ``expected_version`` is an exact version (0 = the stream must be new) or an
        :class:`ExpectedVersion` constant. Each stored event's ``aggregate_version`` is its
        stream position. With ``outbox=True`` an outbox entry for each event is written in the
        same transaction (the transactional outbox).

        A retry of an append that was stored (every event already stored in this stream at
        the versions this append would give them, the expectation one the original met)
        writes nothing and returns the original result, even though the stream has moved on.
        Any other batch holding an id that is stored raises :class:`DuplicateEventError`
        (nothing written), whatever the stream's version.

        Raises :class:`OptimisticLockError` (nothing written) when the version differs, and
        :class:`InvalidEventError` / :class:`SerializationError` /
        :class:`UnknownEventTypeError` for bad input (nothing written).
        """

    # -- stream lifecycle (optional) -----------------------------------------------------------

    def _no_lifecycle(self) -> ConfigurationError:
        return ConfigurationError(
            f"{type(self).__name__} does not support stream lifecycle (delete_stream, "
            "restore_stream, truncate_stream, scavenge)"
        )

    async def delete_stream(
        self, aggregate_id: UUID, aggregate_type: str, hard: bool = False
    ) -> int:
        """Delete the stream; returns how many events it removed (0: nothing to delete).

        Soft (the default): the events leave every read and the stream reads as new, until
        :meth:`restore_stream`. ``hard``: they are gone for good (also after a soft delete).
        Either removes the stream's outbox entries and snapshot and appends a
        :class:`~eventsource.StreamDeleted` event in the global order, in one transaction.
        A stream that has no events, or is deleted already (hard, or soft again), is left as
        it is.
        """
        raise self._no_lifecycle()

    async def restore_stream(self, aggregate_id: UUID, aggregate_type: str) -> int:
        """Bring back a soft-deleted stream's events, at their old positions and versions,
        and append a :class:`~eventsource.StreamRestored` event; returns how many came back
        (0: the stream is not deleted). A hard-deleted stream raises
        :class:`StreamDeletedError`."""
        raise self._no_lifecycle()

    async def truncate_stream(self, aggregate_id: UUID, aggregate_type: str, *, before: int) -> int:
        """Remove the stream's events with ``aggregate_version < before``, never its last
        event (``before`` is capped at the current version), and its snapshot if that is
        older than ``before - 1``; returns how many went. The stream's version stays. When
        events went, a :class:`~eventsource.StreamTruncated` is appended in the same
        transaction."""
        raise self._no_lifecycle()

    @property
    def retention(self) -> dict[str, RetentionPolicy]:
        """The policies :meth:`set_retention` gave this store object (not those stored in the
        database: :meth:`load_retention`)."""
        return dict(getattr(self, "_retention", {}))

    def set_retention(self, aggregate_type: str, policy: RetentionPolicy | None) -> None:
        """Keep streams of ``aggregate_type`` under ``policy`` (None: no retention) in this
        store object's next :meth:`scavenge` calls, over the stored policy of that type if
        there is one. Not stored: :meth:`save_retention` stores a policy for every process."""
        aggregate_type, policy = check_retention(aggregate_type, policy)
        current = dict(getattr(self, "_retention", {}))
        if policy is None:
            current.pop(aggregate_type, None)
        else:
            current[aggregate_type] = policy
        self._retention = current

    async def save_retention(self, aggregate_type: str, policy: RetentionPolicy | None) -> None:
        """Store ``policy`` for ``aggregate_type`` in the database (None: remove it), so every
        :meth:`scavenge` over this database, in any process, applies it."""
        aggregate_type, policy = check_retention(aggregate_type, policy)
        await self._write_retention(aggregate_type, policy)

    async def load_retention(self) -> dict[str, RetentionPolicy]:
        """The retention policies stored in the database, by aggregate type."""
        return dict(sorted((await self._read_retention()).items()))

    async def scavenge(
        self, *, now: datetime | None = None, aggregate_types: Iterable[str] | None = None
    ) -> int:
        """Apply the retention policies (those stored in the database, and over them those of
        :meth:`set_retention`; only those of ``aggregate_types`` if given): truncate every
        stream of a policy's type to what it keeps (as of ``now``, default the current time),
        each recorded by a :class:`~eventsource.StreamTruncated`; returns how many events
        went."""
        moment = datetime.now(UTC) if now is None else check_moment(now, "now")
        only = None
        if aggregate_types is not None:
            if isinstance(aggregate_types, str) or not isinstance(aggregate_types, Iterable):
                raise InvalidArgumentError("aggregate_types must be an iterable of type names")
            only = {check_retention(t, None)[0] for t in aggregate_types}
        policies = {**await self._read_retention(), **self.retention}
        if only is not None:
            policies = {t: p for t, p in policies.items() if t in only}
        removed = 0
        for aggregate_type, policy in sorted(policies.items()):
            extents = await self._stream_extents(aggregate_type, policy.cutoff(moment))
            for aggregate_id, first, last, newest_expired in extents:
                before = retention_before(policy, first, last, newest_expired)
                if before is not None:
                    removed += await self.truncate_stream(
                        aggregate_id, aggregate_type, before=before
                    )
        return removed

    async def _stored_versions(self) -> dict[tuple[str, int], int]:
        """How many stored events that reads show there are per stored ``(event_type,
        event_version)`` (as appended, before any upcaster): what
        :func:`~eventsource.upcasting.upcast_dry_run` counts. Backends implement it."""
        raise ConfigurationError(
            f"{type(self).__name__} cannot count its stored events by type and version"
        )

    async def _read_retention(self) -> dict[str, RetentionPolicy]:
        """The stored retention policies; backends with lifecycle implement it."""
        raise self._no_lifecycle()

    async def _write_retention(self, aggregate_type: str, policy: RetentionPolicy | None) -> None:
        """Store (or with None remove) the policy of ``aggregate_type`` (arguments checked);
        backends with lifecycle implement it."""
        raise self._no_lifecycle()

    async def _stream_extents(
        self, aggregate_type: str, cutoff: datetime | None
    ) -> list[tuple[UUID, int, int, int | None]]:
        """Per live stream of ``aggregate_type``: its id, first and last stored version, and
        the highest version whose ``occurred_at`` is before ``cutoff`` (None: none, or no
        cutoff). What :meth:`scavenge` decides from; backends with lifecycle implement it."""
        raise self._no_lifecycle()

    # -- reading -------------------------------------------------------------------------------

    @abc.abstractmethod
    async def get_events(
        self,
        aggregate_id: UUID,
        aggregate_type: str | None = None,
        from_version: int = 0,
        from_timestamp: datetime | None = None,
        to_timestamp: datetime | None = None,
    ) -> EventStream:
        """The aggregate's events with version > ``from_version``, in version order.

        ``from_timestamp`` / ``to_timestamp`` bound ``occurred_at``, both inclusive. ``version``
        of the result is the stream's current version, whatever the filters.
        """

    @abc.abstractmethod
    def read_stream(
        self, stream_id: str, options: ReadOptions | None = None
    ) -> AsyncIterator[StoredEvent]:
        """Stream one aggregate's events (``stream_id`` from :func:`stream_id_for`); raises
        :class:`EventDecodeError` at an undecodable row, after the events before it."""

    @abc.abstractmethod
    def read_all(self, options: ReadOptions | None = None) -> AsyncIterator[StoredEvent]:
        """Stream every event in global order, in pages; see :class:`ReadOptions`. Raises
        :class:`EventDecodeError` at an undecodable row, after the events before it."""

    @abc.abstractmethod
    async def get_events_by_type(
        self,
        aggregate_type: str,
        tenant_id: UUID | None = None,
        from_timestamp: datetime | None = None,
    ) -> list[DomainEvent]:
        """Every event of aggregates of ``aggregate_type``, in global order."""

    @abc.abstractmethod
    async def event_exists(self, event_id: UUID) -> bool:
        """True when an event with this id is stored."""

    async def get_event_position(self, event_id: UUID) -> int | None:
        """The global position of the event with this id, or None when none is stored.

        The default reads the log lazily (no payload decoded) until it finds the id; the
        built-in backends look it up by its index in one query. The position may be past
        what :meth:`read_all` shows yet (an append still being made durable)."""
        wanted = check_event_id(event_id)
        async for stored in self.read_all(ReadOptions(lazy=True)):
            if stored.event_id == wanted:
                return stored.global_position
        return None

    @abc.abstractmethod
    async def get_stream_version(self, aggregate_id: UUID, aggregate_type: str) -> int:
        """The stream's version (0 when it has no events)."""

    @abc.abstractmethod
    async def get_global_position(self) -> int:
        """The highest global position a reader can see now (0 for an empty store)."""

    async def wait_for_events(self, after_position: int, timeout: float) -> bool:
        """Wait until an event past ``after_position`` is readable, or ``timeout`` seconds.

        Returns True when there is something new to read. The default polls
        :meth:`get_global_position`; backends with notifications override it.
        """
        timeout = check_wait(after_position, timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        delay = 0.005
        while True:
            if await self.get_global_position() > after_position:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.1)


@dataclass(frozen=True, slots=True)
class PreparedEvent:
    """An event checked for appending, with its JSON document.

    ``version_span`` is where the digits of the document's top-level ``aggregate_version``
    are (1-based offset, length), as :func:`~eventsource.spi.version_span` finds them; (0, 0)
    when not known.
    """

    event: DomainEvent
    payload: str
    version_span: tuple[int, int] = (0, 0)


def prepare_append(
    store: EventStore,
    aggregate_id: UUID,
    aggregate_type: str,
    events: Sequence[DomainEvent],
    expected_version: int,
) -> tuple[int, list[PreparedEvent]]:
    """Check an append's arguments before any I/O; shared by every backend.

    An empty ``events`` is checked and returns an empty list (the wrapper of
    :mod:`._legacy_calls` answers an empty append before the backend sees it).

    Returns the validated expected version and the events, each stamped with
    ``aggregate_type`` when it had none, with its JSON document. Raises the contract's typed
    errors for bad input. Stream positions are stamped later by :func:`check_stream_version`'s
    caller through :func:`restamp`. Each event is checked and encoded once, in one pass; what
    is the same for the whole batch (the class's document rules) is looked up once.
    """
    if not isinstance(aggregate_id, UUID):
        raise InvalidEventError(f"aggregate_id must be a UUID, got {type(aggregate_id).__name__}")
    check_identifier(aggregate_type, "aggregate_type", InvalidEventError)
    expected = check_expected_version(expected_version)
    if isinstance(events, DomainEvent) or not isinstance(events, Sequence):
        raise InvalidEventError("events must be a list of DomainEvent")
    prepared: list[PreparedEvent] = []
    seen: set[object] = set()
    check_registered = store.event_registry.check_registered
    max_bytes = store.max_event_bytes
    rules_of: dict[type[DomainEvent], DocumentRules] = {}
    for event in events:
        if not isinstance(event, DomainEvent):
            raise InvalidEventError(f"expected a DomainEvent, got {type(event).__name__}")
        owner = event.aggregate_id
        if owner is not aggregate_id and owner != aggregate_id:
            raise InvalidEventError(
                f"event {event.event_type!r} belongs to aggregate {event.aggregate_id}, "
                f"not {aggregate_id}"
            )
        if not event.aggregate_type:
            event = event.model_copy(update={"aggregate_type": aggregate_type})
        elif event.aggregate_type != aggregate_type:
            raise InvalidEventError(
                f"event {event.event_type!r} has aggregate_type {event.aggregate_type!r}, "
                f"not {aggregate_type!r}"
            )
        event_id = event.event_id
        key = event_id.int if isinstance(event_id, UUID) else event_id  # an int hashes in C
        if key in seen:
            raise DuplicateEventError(event_id)
        seen.add(key)
        check_registered(event)
        cls = type(event)
        rules = rules_of.get(cls)
        if rules is None:
            rules = rules_of[cls] = rules_for(cls)
        text, at, length = encode_event(event, max_bytes, rules)
        prepared.append(PreparedEvent(event, text, (at, length)))
    return expected, prepared


def check_stream_version(
    aggregate_id: UUID, aggregate_type: str, expected_version: int, current_version: int
) -> None:
    """Raise :class:`OptimisticLockError` unless ``current_version`` satisfies the expectation."""
    if expected_version == ExpectedVersion.ANY:
        return
    if expected_version == ExpectedVersion.STREAM_EXISTS:
        ok = current_version > 0
    else:
        ok = current_version == expected_version
    if not ok:
        raise OptimisticLockError(aggregate_id, expected_version, current_version, aggregate_type)


def restamp(prepared: list[PreparedEvent], current_version: int) -> list[PreparedEvent]:
    """The events with ``aggregate_version`` set to their stream positions after
    ``current_version``; re-serialises only the events whose version changes (``prepared``
    itself when none does)."""
    for offset, item in enumerate(prepared, start=current_version + 1):
        if item.event.aggregate_version != offset:
            break
    else:
        return prepared  # the common case: stamped as the stream stands, nothing to copy
    out: list[PreparedEvent] = []
    for offset, item in enumerate(prepared, start=1):
        version = current_version + offset
        if item.event.aggregate_version == version:
            out.append(item)
        else:
            event = item.event.with_position(version)
            text = event.model_dump_json()
            marker = rules_for(type(event)).version_marker
            out.append(PreparedEvent(event, text, version_span(text, version, marker)))
    return out
