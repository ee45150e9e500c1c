"""Conformance on bad input: each refused with a typed error, and nothing changed."""

from __future__ import annotations

from uuid import uuid4

import pytest

from .._exceptions import (
    DuplicateEventError,
    EventStoreError,
    InvalidArgumentError,
    InvalidEventError,
    PayloadTooLargeError,
    SerializationError,
    UnknownEventTypeError,
)
from ..stores._types import ReadOptions
from ._base import ConformanceBase, ids
from ._events import (
    AGGREGATE_TYPE,
    OTHER_AGGREGATE_TYPE,
    KitPayloadEvent,
    KitUnregisteredEvent,
    noted,
)
from ._roles import RoleBackend

__all__ = ["BadInputConformance"]

#: The largest ``max_event_bytes`` the kit builds an oversized event for; above it the kit
#: lowers the limit on the store instance for the test.
_LARGEST_BUILT = 4 * 1024 * 1024


class BadInputConformance(ConformanceBase):
    """Every kind of bad input to an append raises a subclass of EventStoreError and writes
    nothing; a bad read argument raises InvalidArgumentError."""

    async def test_bad_aggregate_id_and_type(self, backend: RoleBackend) -> None:
        """A non-UUID aggregate id or an empty / non-string aggregate type raises
        InvalidEventError and writes nothing.

        Fix: call ``prepare_append`` before any I/O.
        """
        aid = await self._seeded(backend)
        events = noted(aid, 1)
        for bad_id in (str(aid), None, 42):
            await self._refuse(
                backend, InvalidEventError, bad_id, AGGREGATE_TYPE, events, 2, check_id=aid
            )
        for bad_type in ("", None, 7):
            await self._refuse(backend, InvalidEventError, aid, bad_type, events, 2)

    async def test_bad_event_lists(self, backend: RoleBackend) -> None:
        """A bare event instead of a list, or a list holding a non-DomainEvent raises
        InvalidEventError and writes nothing (not even the valid events before it). (An empty
        list is no error: ``test_empty_batch``.)

        Fix: call ``prepare_append`` before any I/O.
        """
        aid = await self._seeded(backend)
        valid = noted(aid, 2, prefix="ok")
        await self._refuse(backend, InvalidEventError, aid, AGGREGATE_TYPE, valid[0], 2)
        as_dict = valid[1].model_dump(mode="json")
        await self._refuse(backend, InvalidEventError, aid, AGGREGATE_TYPE, [valid[0], as_dict], 2)
        await self._refuse(backend, InvalidEventError, aid, AGGREGATE_TYPE, [valid[0], None], 2)

    async def test_empty_batch(self, backend: RoleBackend) -> None:
        """Appending no events succeeds with the stream's current version and writes nothing
        (eventsource-py 0.5.0 did the same).

        Fix: nothing in the backend: :class:`EventStore` answers an empty append before
        the backend's ``append_events`` runs; an ``__init_subclass__`` of the backend must
        call ``super().__init_subclass__()``.
        """
        aid = await self._seeded(backend)
        position = await backend.events.get_global_position()
        result = await backend.events.append_events(aid, AGGREGATE_TYPE, [], 2)
        assert (result.success, result.new_version, result.events_written) == (True, 2, 0)
        result = await backend.events.append_events(uuid4(), AGGREGATE_TYPE, [], 0)
        assert (result.success, result.new_version) == (True, 0)
        assert await backend.events.get_global_position() == position

    async def test_event_of_another_aggregate(self, backend: RoleBackend) -> None:
        """An event whose aggregate_id differs from the append's, or whose aggregate_type is
        another type, raises InvalidEventError and writes nothing.

        Fix: call ``prepare_append`` before any I/O.
        """
        aid = await self._seeded(backend)
        (good,) = noted(aid, 1, prefix="ok")
        (foreign,) = noted(uuid4(), 1)
        await self._refuse(backend, InvalidEventError, aid, AGGREGATE_TYPE, [good, foreign], 2)
        (other_type,) = noted(aid, 1, aggregate_type=OTHER_AGGREGATE_TYPE)
        await self._refuse(backend, InvalidEventError, aid, AGGREGATE_TYPE, [good, other_type], 2)

    async def test_unregistered_event_type(self, backend: RoleBackend) -> None:
        """An event whose type the store's registry cannot decode raises UnknownEventTypeError
        (a KeyError) and writes nothing: it could never be read back.

        Fix: ``prepare_append`` checks ``store.event_registry.check_registered``.
        """
        aid = await self._seeded(backend)
        (good,) = noted(aid, 1, prefix="ok")
        stray = KitUnregisteredEvent(aggregate_id=aid)
        await self._refuse(backend, UnknownEventTypeError, aid, AGGREGATE_TYPE, [good, stray], 2)

    async def test_duplicate_event_ids(self, backend: RoleBackend) -> None:
        """An event id twice in one batch, or already stored (in this or another stream) in a
        batch that is no retry of a stored append, raises DuplicateEventError and writes
        nothing.

        Fix: ``prepare_append`` catches in-batch duplicates; map the event-id unique-key
        violation to DuplicateEventError and roll back the whole batch.
        """
        aid = await self._seeded(backend)
        stored = (await backend.events.get_events(aid, AGGREGATE_TYPE)).events
        (good,) = noted(aid, 1, prefix="ok")
        twice = [good, good.model_copy()]
        await self._refuse(backend, DuplicateEventError, aid, AGGREGATE_TYPE, twice, 2)
        again = stored[0].model_copy(update={"aggregate_version": 3})
        await self._refuse(backend, DuplicateEventError, aid, AGGREGATE_TYPE, [good, again], 2)
        await self._refuse(
            backend, DuplicateEventError, aid, AGGREGATE_TYPE, [good, again], -1, outbox=True
        )
        other = uuid4()
        moved = stored[1].model_copy(update={"aggregate_id": other})
        await self._refuse(
            backend, DuplicateEventError, other, AGGREGATE_TYPE, [moved], 0, check_id=other
        )
        assert not await backend.events.event_exists(good.event_id)

    async def test_unserialisable_payload(self, backend: RoleBackend) -> None:
        """An event holding a value JSON cannot encode raises SerializationError and writes
        nothing.

        Fix: serialise with ``prepare_append`` (``serialize_event``) before any I/O.
        """
        aid = await self._seeded(backend)
        (good,) = noted(aid, 1, prefix="ok")
        bad_payload = KitPayloadEvent(aggregate_id=aid, payload=object())
        bad_metadata = KitPayloadEvent(aggregate_id=aid, metadata={"handle": object()})
        for bad in (bad_payload, bad_metadata):
            await self._refuse(backend, SerializationError, aid, AGGREGATE_TYPE, [good, bad], 2)

    async def test_oversized_payload(self, backend: RoleBackend) -> None:
        """An event whose JSON exceeds the store's ``max_event_bytes`` raises
        PayloadTooLargeError (a SerializationError) and writes nothing, appended or added to
        the store's outbox; an event just under the limit is stored.

        Fix: ``prepare_append`` checks the size against ``store.max_event_bytes``; the outbox
        serialises with ``serialize_event(event, store.max_event_bytes)``.
        """
        store = backend.events
        if store.max_event_bytes > _LARGEST_BUILT:
            store.max_event_bytes = 64 * 1024
        limit = store.max_event_bytes
        aid = await self._seeded(backend)
        (good,) = noted(aid, 1, prefix="ok")

        def sized(size: int) -> KitPayloadEvent:
            return KitPayloadEvent(
                aggregate_id=aid, aggregate_type=AGGREGATE_TYPE, payload="x" * size
            )

        envelope = len(sized(0).model_dump_json())
        too_big = sized(limit - envelope + 1)
        await self._refuse(backend, PayloadTooLargeError, aid, AGGREGATE_TYPE, [good, too_big], 2)
        before = await backend.outbox.get_stats()
        with pytest.raises(PayloadTooLargeError):
            await backend.outbox.add_event(too_big)
        assert await backend.outbox.get_stats() == before
        fits = sized(limit - envelope - 64)
        await store.append_events(aid, AGGREGATE_TYPE, [fits], 2)
        (back,) = (await store.get_events(aid, AGGREGATE_TYPE, from_version=2)).events
        assert back == fits.with_position(3)

    async def test_bad_expected_version(self, backend: RoleBackend) -> None:
        """A bool, string, float or out-of-range expected version raises InvalidEventError and
        writes nothing (True is not version 1).

        Fix: ``prepare_append`` validates it with ``check_expected_version``.
        """
        aid = await self._seeded(backend)
        for bad in (True, False, "2", 2.0, None, -3):
            await self._refuse(backend, InvalidEventError, aid, AGGREGATE_TYPE, noted(aid, 1), bad)

    async def test_invalid_read_arguments(self, backend: RoleBackend) -> None:
        """Negative ``limit`` or ``from_position`` (other than -1, 0.5.0's "from the end") in
        ReadOptions, and a malformed stream id passed to read_stream, raise
        InvalidArgumentError.

        A plain ``"<uuid>"`` (eventsource-py 0.5.0's form) reads that aggregate's stream
        (:class:`EventStore` resolves it before the backend's ``read_stream`` runs).

        Fix: parse stream ids with ``parse_stream_id``.
        """
        aid = await self._seeded(backend)
        with pytest.raises(InvalidArgumentError):
            ReadOptions(limit=-1)
        with pytest.raises(InvalidArgumentError):
            ReadOptions(from_position=-5)
        for bad in ("not-a-stream-id", f"{aid}:", "x:KitItem"):
            with pytest.raises(InvalidArgumentError):
                async for _ in backend.events.read_stream(bad):
                    pass
        plain = [s.stream_position async for s in backend.events.read_stream(str(aid))]
        assert plain == [1, 2]

    async def test_store_usable_after_refusals(self, backend: RoleBackend) -> None:
        """After a series of refused appends, the next valid append succeeds at the expected
        version (no half-open transaction or stale lock was left behind).

        Fix: roll back on every error path; release locks in ``finally``.
        """
        aid = await self._seeded(backend)
        (good,) = noted(aid, 1, prefix="ok")
        for bad in ([good, good], [good, KitUnregisteredEvent(aggregate_id=aid)]):
            with pytest.raises(EventStoreError):
                await backend.events.append_events(aid, AGGREGATE_TYPE, bad, 2)
        stored = (await backend.events.get_events(aid, AGGREGATE_TYPE)).events
        with pytest.raises(DuplicateEventError):
            await backend.events.append_events(aid, AGGREGATE_TYPE, [good, stored[0]], 2)
        result = await backend.events.append_events(aid, AGGREGATE_TYPE, [good], 2)
        assert result.new_version == 3
        assert (
            ids((await backend.events.get_events(aid, AGGREGATE_TYPE)).events)[-1] == good.event_id
        )
