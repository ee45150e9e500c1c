"""Conformance of idempotent appends: a retried append returns the original result.

A client whose acknowledgement was lost appends the same events again. The store recognises
the retry by the event ids (all stored, in this stream, at the versions this append would
give them, with an expectation the original met), writes nothing and answers with the
original :class:`AppendResult`; any other batch holding a stored id is a DuplicateEventError
(see :func:`eventsource.spi.original_result`).
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID, uuid4

import pytest

from .._exceptions import DuplicateEventError, OptimisticLockError
from ..events import DomainEvent
from ..stores._types import AppendResult, ExpectedVersion
from ._base import ConformanceBase, ids, race, raise_unexpected, read_all_list
from ._events import AGGREGATE_TYPE, OTHER_AGGREGATE_TYPE, noted
from ._roles import RoleBackend, RoleOpener

__all__ = ["IdempotentAppendConformance"]

_FIX = (
    "Fix: on a conflict (a failed version check, or the event-id unique key), look up where "
    "the batch's ids are stored and answer with eventsource.spi.original_result."
)


class IdempotentAppendConformance(ConformanceBase):
    """Retries of a stored append: the original result, nothing written; any other batch
    holding a stored id: DuplicateEventError, nothing written; raced across connections."""

    async def _stream(self, backend: RoleBackend, expectation: str) -> tuple[UUID, int]:
        """A stream and the expected version that suits it for ``expectation``."""
        aid = uuid4()
        if expectation == "new":
            return aid, ExpectedVersion.NO_STREAM
        await backend.events.append_events(aid, AGGREGATE_TYPE, noted(aid, 1, prefix="s"), 0)
        return aid, {
            "exact": 1,
            "any": ExpectedVersion.ANY,
            "exists": ExpectedVersion.STREAM_EXISTS,
        }[expectation]

    async def test_retry_returns_the_original_result(self, backend: RoleBackend) -> None:
        """Appending a stored batch again with the same expectation (an exact version,
        NO_STREAM, ANY or STREAM_EXISTS) returns a result equal to the first append's and
        writes nothing: no event, no version, no global position, no outbox entry. The
        retry's events are copies of the originals: only their ids are compared.

        Fix: an exact-version retry fails its version check (the stream moved on by its own
        events) and an ANY retry hits the event-id unique key; on either conflict, look up
        the ids and return ``original_result(...)`` instead of raising.
        """
        outbox = self.caps(backend).transactional_outbox
        for expectation in ("exact", "new", "any", "exists"):
            aid, expected = await self._stream(backend, expectation)
            batch = noted(aid, 3, prefix=f"{expectation}-")
            store = backend.events
            first = await store.append_events(aid, AGGREGATE_TYPE, batch, expected, outbox=outbox)
            copies = [event.model_copy() for event in batch]
            async with self.unchanged(backend, aid):
                for _ in range(2):
                    again = await store.append_events(
                        aid, AGGREGATE_TYPE, copies, expected, outbox=outbox
                    )
                    assert again == first, (
                        f"a retry with expectation {expectation!r} returned {again}, not the "
                        f"original {first}. {_FIX}"
                    )

    async def test_retry_after_the_stream_moved_on(self, backend: RoleBackend) -> None:
        """After other appends moved the stream on, a retry of an earlier append (same
        expected version, NO_STREAM or ANY) still returns that append's result, not the
        stream's current version, and writes nothing. A retry of the first events of a stored
        batch gets what their own append would have returned.

        Fix: compare the batch with where its ids are stored (``original_result``), not with
        the stream's current version.
        """
        store = backend.events
        for expectation in ("exact", "new", "any"):
            aid, expected = await self._stream(backend, expectation)
            batch = noted(aid, 2, prefix="first-")
            first = await store.append_events(aid, AGGREGATE_TYPE, batch, expected)
            await store.append_events(
                aid, AGGREGATE_TYPE, noted(aid, 2, prefix="later-"), ExpectedVersion.ANY
            )
            async with self.unchanged(backend, aid):
                again = await store.append_events(aid, AGGREGATE_TYPE, batch, expected)
                assert again == first, (
                    f"a retry with expectation {expectation!r} after later appends returned "
                    f"{again}, not the original {first}. {_FIX}"
                )
                part = await store.append_events(aid, AGGREGATE_TYPE, batch[:1], expected)
            stream = await store.get_events(aid, AGGREGATE_TYPE)
            where = {e.event_id: e.aggregate_version for e in stream.events}
            positions = {s.event_id: s.global_position for s in await read_all_list(backend)}
            head = batch[0].event_id
            assert part == AppendResult(True, where[head], positions[head], 1), part

    async def test_same_ids_elsewhere_are_duplicates(self, backend: RoleBackend) -> None:
        """A stored batch appended to another stream (another aggregate id or type), or to its
        own stream where this append would put it at other versions (another exact expected
        version, STREAM_EXISTS for a batch that created its stream, the events in another
        order) raises DuplicateEventError naming a stored id, and writes nothing.

        Fix: ``original_result`` raises it when the ids are stored but not where this append
        would have put them; never treat a stored id in another place as a retry.
        """
        store = backend.events
        aid = uuid4()
        batch = noted(aid, 2)
        await store.append_events(aid, AGGREGATE_TYPE, batch, ExpectedVersion.NO_STREAM)
        stored = set(ids(batch))
        other = uuid4()
        moved = [e.model_copy(update={"aggregate_id": other}) for e in batch]
        await self._refuse_duplicate(backend, other, AGGREGATE_TYPE, moved, 0, stored)
        retyped = [e.model_copy(update={"aggregate_type": OTHER_AGGREGATE_TYPE}) for e in batch]
        await self._refuse_duplicate(backend, aid, OTHER_AGGREGATE_TYPE, retyped, 0, stored)
        await self._refuse_duplicate(backend, aid, AGGREGATE_TYPE, batch, 2, stored)
        await self._refuse_duplicate(backend, aid, AGGREGATE_TYPE, batch, 1, stored)
        await self._refuse_duplicate(
            backend, aid, AGGREGATE_TYPE, batch, ExpectedVersion.STREAM_EXISTS, stored
        )
        await self._refuse_duplicate(backend, aid, AGGREGATE_TYPE, batch[::-1], 0, stored)
        await self._refuse_duplicate(
            backend, aid, AGGREGATE_TYPE, batch[::-1], ExpectedVersion.ANY, stored
        )

    async def test_partial_overlap_is_a_duplicate(self, backend: RoleBackend) -> None:
        """A batch of which only some events are stored (the stored batch plus a new event,
        a new event then stored ones, the last stored event then a new one) raises
        DuplicateEventError, whatever the expected version, and writes none of its events,
        not even the new ones: a retry must repeat the original append, not extend it.
        Afterwards the new event appends normally.

        Fix: ``original_result`` refuses a batch unless every one of its ids is stored.
        """
        store = backend.events
        aid = uuid4()
        batch = noted(aid, 2)
        await store.append_events(aid, AGGREGATE_TYPE, batch, 0)
        stored = set(ids(batch))
        (new,) = noted(aid, 1, prefix="new")
        for events, expected in (
            ([*batch, new], 0),
            ([*batch, new], ExpectedVersion.ANY),
            ([new, *batch], 0),
            ([batch[1], new], 1),
            ([batch[1], new], 2),
        ):
            await self._refuse_duplicate(backend, aid, AGGREGATE_TYPE, events, expected, stored)
        result = await store.append_events(aid, AGGREGATE_TYPE, [new], 2)
        assert (result.new_version, result.events_written) == (3, 1)

    async def test_race_retries_write_once(
        self, backend: RoleBackend, kit_opener: RoleOpener
    ) -> None:
        """N connections append the same batch at once (as N retries whose first attempt is
        still in flight would), with an exact expected version, NO_STREAM and ANY: exactly one
        writes, and every one succeeds with the same result. With the transactional outbox,
        the batch gets one outbox entry per event, once.

        Fix: the losers meet a conflict (a failed version check, the event-id unique key)
        only once the winner committed; look up the ids then, after the conflict, not before
        the append (that would race).
        """
        outbox = self.caps(backend).transactional_outbox
        async with self.connections(kit_opener, backend) as conns:
            for expectation in ("exact", "new", "any"):
                aid, expected = await self._stream(backend, expectation)
                before = len(await read_all_list(backend))
                pending = (await backend.outbox.get_stats()).pending_count
                batch = noted(aid, 2, prefix=f"race-{expectation}-")
                results = await race(
                    [
                        c.events.append_events(aid, AGGREGATE_TYPE, batch, expected, outbox=outbox)
                        for c in conns
                    ]
                )
                raise_unexpected(results, ())
                assert len(set(results)) == 1, (
                    f"{len(conns)} racing retries with expectation {expectation!r} got "
                    f"different results: {sorted(set(map(str, results)))}. {_FIX}"
                )
                stream = await backend.events.get_events(aid, AGGREGATE_TYPE)
                assert ids(stream.events[-2:]) == ids(batch)
                assert len(await read_all_list(backend)) == before + 2, "written more than once"
                if outbox:
                    assert (await backend.outbox.get_stats()).pending_count == pending + 2

    async def test_race_retries_beside_other_appends(self, backend: RoleBackend) -> None:
        """On ONE connection (where a store may batch concurrent appends into one
        transaction), N tasks appending the same batch race with N fresh appends to other
        streams: the batch is written once and every one of its appends gets the same result,
        and every fresh append is written as if alone.

        Fix: a retry answered in a shared transaction must not fail or roll back the other
        appends of that transaction (resolve it per append, after the conflict).
        """
        store = backend.events
        aid = uuid4()
        batch = noted(aid, 2, prefix="mine-")
        others = [uuid4() for _ in range(self.concurrency)]
        results = await race(
            [
                *(store.append_events(aid, AGGREGATE_TYPE, batch, 0) for _ in others),
                *(store.append_events(o, AGGREGATE_TYPE, noted(o, 2), 0) for o in others),
            ]
        )
        raise_unexpected(results, ())
        mine, theirs = results[: len(others)], results[len(others) :]
        assert len(set(mine)) == 1, f"retries got different results: {set(map(str, mine))}"
        stream = await store.get_events(aid, AGGREGATE_TYPE)
        assert ids(stream.events) == ids(batch)
        for other, result in zip(others, theirs, strict=True):
            assert isinstance(result, AppendResult) and result.new_version == 2
            assert await store.get_stream_version(other, AGGREGATE_TYPE) == 2
        assert len(await read_all_list(backend)) == 2 * (len(others) + 1)
        again = await store.append_events(aid, AGGREGATE_TYPE, batch, 0)
        assert again == mine[0]
        with pytest.raises(OptimisticLockError):  # fresh events at a stale version still fail
            await store.append_events(aid, AGGREGATE_TYPE, noted(aid, 1, prefix="late"), 0)

    async def _refuse_duplicate(
        self,
        backend: RoleBackend,
        aggregate_id: UUID,
        aggregate_type: str,
        events: Sequence[DomainEvent],
        expected: int,
        stored: set[UUID],
    ) -> None:
        store = backend.events
        position = await store.get_global_position()
        version = await store.get_stream_version(aggregate_id, aggregate_type)
        fresh = [e for e in events if e.event_id not in stored]
        with pytest.raises(DuplicateEventError) as caught:
            await store.append_events(aggregate_id, aggregate_type, list(events), expected)
        assert caught.value.event_id in stored, (
            f"DuplicateEventError names {caught.value.event_id}, not a stored id of the batch"
        )
        assert await store.get_global_position() == position, "a refused batch wrote events"
        assert await store.get_stream_version(aggregate_id, aggregate_type) == version
        for event in fresh:
            assert not await store.event_exists(event.event_id), "a refused event was stored"
