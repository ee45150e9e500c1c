"""Replaying parked events: decode a DLQ entry's event, hand it to its projection again, and
resolve the entry when that succeeds. An undecodable event's entry (:class:`UndecodableEvent`)
is decoded from its stored text, so it replays once its class is fixed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from .._exceptions import (
    EntryNotFoundError,
    EventDecodeError,
    EventSourceError,
    InvalidArgumentError,
    InvalidStateError,
    ReplayError,
)
from ..arguments import check_position
from ..events import DomainEvent, EventRegistry
from ..repositories._contracts import DLQRepository
from ..repositories._entries import DLQEntry, DLQStatus
from ..stores._contract import EventStore
from ..stores._types import ReadOptions, parse_stream_id
from ..values import check_identifier
from ._projection import PositionTrackingProjection, ProjectionLike
from ._shards import Shard, handling_shard
from ._undecodable import UndecodableEvent

__all__ = ["DLQReplayer", "EventSource", "ReplayResult"]

#: Where replay takes the event from: the entry's ``event_data``, the store, or the data and
#: then the store when the data cannot be decoded.
EventSource = Literal["auto", "data", "store"]


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """The outcome of replaying one DLQ entry."""

    dlq_id: int
    event_id: UUID
    ok: bool
    error: BaseException | None = None


class DLQReplayer:
    """Replays a projection's parked events and resolves them.

    ``registry`` decodes ``event_data`` (default: the store's registry); ``store`` is used to
    re-read an event by id when its data cannot be decoded (or with ``source="store"``).
    """

    def __init__(
        self,
        dlq: DLQRepository,
        store: EventStore | None = None,
        registry: EventRegistry | None = None,
    ) -> None:
        self.dlq = dlq
        self.store = store
        if registry is None:
            from ..events import default_registry

            registry = store.event_registry if store is not None else default_registry
        self.registry = registry

    async def entry(self, dlq_id: int) -> DLQEntry:
        """The entry ``dlq_id``; :class:`EntryNotFoundError` when there is none."""
        entry = await self.dlq.get_failed_event_by_id(dlq_id)
        if entry is None:
            raise EntryNotFoundError(f"no DLQ entry {dlq_id}")
        return entry

    async def load_event(self, entry: DLQEntry, source: EventSource = "auto") -> DomainEvent:
        """The parked event: decoded from ``event_data`` via the registry, or re-read by id.

        An undecodable event's entry is decoded from its ``raw_payload``; while that still
        fails (and so does the store's row) this raises :class:`EventDecodeError`. An entry
        whose data does not decode (or is not tried, ``source="store"``) and that names no
        event that can be read (an ``aggregate_id`` that is no UUID, a malformed aggregate
        type or stream id, an event no longer stored) raises :class:`ReplayError`.
        """
        poison = UndecodableEvent.from_event_data(entry.event_data)
        if poison is not None:
            return await self._load_undecodable(entry, poison, source)
        if source != "store":
            try:
                return self.registry.decode_dict(dict(entry.event_data))
            except (EventSourceError, ValueError) as exc:
                if source == "data" or self.store is None:
                    raise ReplayError(
                        entry.id, entry.event_id, f"its event_data does not decode: {exc}"
                    ) from exc
        return await self._read_by_id(entry)

    async def _load_undecodable(
        self, entry: DLQEntry, poison: UndecodableEvent, source: EventSource
    ) -> DomainEvent:
        """An undecodable event's entry: its stored text decoded again, else (``auto``) its row
        re-read from the store, which may have been repaired there."""
        if source == "store":
            return await self._reread_row(entry, poison)
        try:
            return poison.decode(self.registry)
        except EventDecodeError as exc:
            if source == "data" or self.store is None:
                raise
            still_undecodable = exc
        try:
            return await self._reread_row(entry, poison)
        except ReplayError:
            pass  # the row cannot be found: what the entry holds is all there is
        raise still_undecodable

    async def _read_by_id(self, entry: DLQEntry) -> DomainEvent:
        store = self._store_for(entry)
        data = entry.event_data
        raw_id = data.get("aggregate_id")
        if raw_id is not None:
            try:
                aggregate_id = UUID(str(raw_id))
            except ValueError:
                raise ReplayError(
                    entry.id, entry.event_id, f"its aggregate_id {raw_id!r:.80} is not a UUID"
                ) from None
            aggregate_type = data.get("aggregate_type") or None
            try:
                if aggregate_type is not None:  # checked here: not every store refuses it
                    check_identifier(aggregate_type, "aggregate_type")
                stream = await store.get_events(aggregate_id, aggregate_type)
            except InvalidArgumentError as exc:
                raise ReplayError(
                    entry.id, entry.event_id, f"its aggregate cannot be read: {exc}"
                ) from exc
            for event in stream.events:
                if event.event_id == entry.event_id:
                    return event
        async for stored in store.read_all():
            if stored.event_id == entry.event_id:
                return stored.event
        raise ReplayError(entry.id, entry.event_id, "the event is not in the store")

    async def _reread_row(self, entry: DLQEntry, poison: UndecodableEvent) -> DomainEvent:
        """The undecodable event's row read again (it may have been repaired in the store)."""
        store = self._store_for(entry)
        if poison.stream_id is not None and poison.stream_position is not None:
            try:
                _, aggregate_type = parse_stream_id(poison.stream_id)
                check_identifier(aggregate_type, "its aggregate type")
                after = check_position(  # -1 would be ReadOptions' "from the end"
                    poison.stream_position - 1, "ReadOptions.from_position", InvalidArgumentError
                )
                options = ReadOptions(from_position=after, limit=1)
                async for stored in store.read_stream(poison.stream_id, options):
                    if stored.event_id == entry.event_id:
                        return stored.event
            except InvalidArgumentError as exc:
                raise ReplayError(
                    entry.id,
                    entry.event_id,
                    f"its stream {poison.stream_id!r:.300} at position "
                    f"{poison.stream_position} cannot be read: {exc}",
                ) from exc
        raise ReplayError(
            entry.id,
            entry.event_id,
            f"the event is no longer at position {poison.stream_position} of stream "
            f"{poison.stream_id!r:.300}",
        )

    def _store_for(self, entry: DLQEntry) -> EventStore:
        if self.store is None:
            raise InvalidStateError(f"DLQ entry {entry.id}: no store to re-read its event from")
        return self.store

    async def replay(
        self,
        projection: ProjectionLike,
        dlq_id: int,
        *,
        resolution: str = "replayed",
        source: EventSource = "auto",
    ) -> ReplayResult:
        """Hand entry ``dlq_id``'s event to ``projection`` again.

        On success the entry is resolved with ``resolution``; on failure it goes back to
        ``failed`` with the new error and one more retry counted. An event that still cannot
        be decoded fails the same way, before the projection sees anything: the result's
        ``error`` is the :class:`EventDecodeError`. An entry whose event cannot be loaded at
        all fails with :class:`ReplayError` as the result's ``error`` and is left as it was.
        A resolved entry, or one of another projection, is refused with
        :class:`InvalidStateError`. An entry parked by a shard of ``projection``
        (``name#k/N``) is handled under that shard (:func:`current_shard` in the handler).
        """
        entry = await self.entry(dlq_id)
        shard = _check_replayable(entry, projection.name)
        try:
            event = await self.load_event(entry, source)
        except EventDecodeError as exc:
            await self._failed_again(entry, exc)
            return ReplayResult(entry.id, entry.event_id, ok=False, error=exc)
        except ReplayError as exc:
            return ReplayResult(entry.id, entry.event_id, ok=False, error=exc)
        await self.dlq.mark_retrying(entry.id)
        try:
            if isinstance(projection, PositionTrackingProjection):
                await projection.handle_at(event, None)
            elif shard is not None:
                with handling_shard(shard):
                    await projection.handle(event)
            else:
                await projection.handle(event)
        except Exception as exc:
            await self._failed_again(entry, exc)
            return ReplayResult(entry.id, entry.event_id, ok=False, error=exc)
        except BaseException:
            # Cancelled mid-replay: the entry is failed again, unchanged otherwise.
            await self.dlq.add_failed_event(
                entry.event_id,
                entry.projection_name,
                entry.event_type,
                dict(entry.event_data),
                error=entry.error_message,
                retry_count=entry.retry_count,
            )
            raise
        await self.dlq.mark_resolved(entry.id, resolution)
        return ReplayResult(entry.id, entry.event_id, ok=True)

    async def _failed_again(self, entry: DLQEntry, error: Exception) -> None:
        """Back to ``failed`` with ``error`` and one more retry counted."""
        await self.dlq.add_failed_event(
            entry.event_id,
            entry.projection_name,
            entry.event_type,
            dict(entry.event_data),
            error=error,
            retry_count=entry.retry_count + 1,
        )

    async def replay_all(
        self,
        projection: ProjectionLike,
        *,
        resolution: str = "replayed",
        limit: int = 1000,
        source: EventSource = "auto",
        shard: Shard | None = None,
    ) -> list[ReplayResult]:
        """Replay up to ``limit`` failed entries of ``projection`` and of its shards
        (``name#k/N``, each under its shard), oldest first; each gets its own result (one
        that fails does not stop the others). ``shard``: that shard's entries only."""
        if shard is not None:
            names = [shard.name_for(projection.name)]
        else:
            names = [projection.name] + [
                count.projection_name
                for count in await self.dlq.get_projection_failure_counts()
                if Shard.parse(count.projection_name, projection.name) is not None
            ]
        entries = [
            entry
            for name in names
            for entry in await self.dlq.get_failed_events(name, status="failed", limit=limit)
        ]
        entries = sorted(entries, key=lambda e: (e.first_failed_at, e.id))[:limit]
        return [
            await self.replay(projection, entry.id, resolution=resolution, source=source)
            for entry in entries
        ]

    async def resolve(self, dlq_id: int, resolution: str, *, force: bool = False) -> None:
        """Resolve entry ``dlq_id`` with a note, without replaying it.

        :class:`EntryNotFoundError` for an unknown entry; :class:`InvalidStateError` for one
        already resolved (its note kept), unless ``force`` (the note is replaced)."""
        entry = await self.entry(dlq_id)
        if entry.status is DLQStatus.RESOLVED and not force:
            raise InvalidStateError(
                f"DLQ entry {dlq_id} is already resolved ({entry.resolution!r})"
            )
        await self.dlq.mark_resolved(dlq_id, resolution)


def _check_replayable(entry: DLQEntry, projection_name: str) -> Shard | None:
    """The shard that parked ``entry`` (None: the projection itself); refused when resolved
    or of another projection."""
    if entry.status is DLQStatus.RESOLVED:
        raise InvalidStateError(
            f"DLQ entry {entry.id} is already resolved ({entry.resolution!r}); "
            "a resolved entry cannot be replayed"
        )
    if entry.projection_name == projection_name:
        return None
    shard = Shard.parse(entry.projection_name, projection_name)
    if shard is None:  # a shard's entries (``name#k/N``) replay into the projection too
        raise InvalidStateError(
            f"DLQ entry {entry.id} belongs to projection {entry.projection_name!r}, "
            f"not {projection_name!r}"
        )
    return shard
