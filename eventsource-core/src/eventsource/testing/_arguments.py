"""Conformance on read and repository arguments: one rule at every backend's door.

Hostile arguments (positions past 64 bits, lone surrogates in a type name, a naive datetime, an
id as a string, a duration of ``timedelta.max``) get the same :class:`InvalidArgumentError`
naming the argument from every backend, and change nothing; valid extremes (a position past the
end, the longest duration) get every backend's same answer. The rules are
:mod:`eventsource.arguments`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest

from .._exceptions import EntryNotFoundError, InvalidArgumentError
from ..arguments import MAX_DURATION
from ..repositories._entries import OutboxStatus
from ..stores._types import ReadDirection, ReadOptions, stream_id_for
from ..values import MAX_IDENTIFIER_LENGTH, MAX_POSITION
from ._base import ConformanceBase, ids, read_all_list, read_stream_list
from ._events import AGGREGATE_TYPE, noted
from ._roles import RoleBackend

__all__ = ["ArgumentConformance"]

#: Names no query may use: a lone surrogate, NUL, empty, over-long.
BAD_NAMES = ("a\ud800b", "\udfff", "a\x00b", "", "T" * (MAX_IDENTIFIER_LENGTH + 1))
#: Positions no backend stores: past 64 bits, negative, or not ints.
BAD_POSITIONS: tuple[Any, ...] = (MAX_POSITION + 1, 2**64, -1, True, "1", 1.0, None)
#: Durations no backend can add to now, or that are not durations.
BAD_DURATIONS: tuple[Any, ...] = (
    timedelta.max,
    timedelta.min,
    MAX_DURATION + timedelta(microseconds=1),
    timedelta(seconds=-1),
    60,
    1.5,
    "60s",
)


async def _refused(
    error: type[InvalidArgumentError], what: str, method: Callable[..., Any], *args: Any, **kw: Any
) -> None:
    """``method(*args, **kw)`` raises ``error`` whose message names the argument ``what``
    (an async generator, such as ``read_all``, on its first step)."""
    with pytest.raises(error) as caught:
        result = method(*args, **kw)
        if hasattr(result, "__anext__"):
            async for _ in result:
                pass
        else:
            await result
    assert what in str(caught.value), f"the error does not name {what!r}: {caught.value}"


class ArgumentConformance(ConformanceBase):
    """Read and repository arguments: refused alike everywhere, extremes answered alike."""

    async def test_read_positions_beyond_the_end(self, backend: RoleBackend) -> None:
        """Any position from 0 to 2**63 - 1 is valid: past the end of the log or a stream,
        reading forward yields nothing and backward everything (also a stream position past a
        version's 32 bits); ``from_version`` likewise. A position past 2**63 - 1, negative, a
        bool, a string or a float raises InvalidArgumentError naming it, on every read.

        Fix: call ``check_get_events`` / ``check_read_options`` / ``check_wait`` first; bind
        stream positions as 64-bit integers (PostgreSQL: ``$1::bigint``).
        """
        store = backend.events
        aid = await self._seeded(backend)
        sid = stream_id_for(aid, AGGREGATE_TYPE)
        every = ids(await read_all_list(backend))
        for far in (2**31, 2**40, MAX_POSITION):
            assert await read_all_list(backend, ReadOptions(from_position=far)) == []
            assert await read_stream_list(backend, sid, ReadOptions(from_position=far)) == []
            back = ReadOptions(from_position=far, direction=ReadDirection.BACKWARD)
            assert ids(await read_all_list(backend, back)) == every[::-1]
            assert ids(await read_stream_list(backend, sid, back)) == every[::-1]
            stream = await store.get_events(aid, AGGREGATE_TYPE, from_version=far)
            assert (stream.events, stream.version) == ([], 2)
        assert ids(await read_all_list(backend, ReadOptions(limit=MAX_POSITION))) == every
        assert await store.wait_for_events(MAX_POSITION, 0) is False
        for bad in BAD_POSITIONS:
            if bad is not None and not (bad == -1 and type(bad) is int):
                # -1 is eventsource-py 0.5.0's "from the end": taken as None
                with pytest.raises(InvalidArgumentError, match="from_position"):
                    ReadOptions(from_position=bad)
            if bad is not None:
                with pytest.raises(InvalidArgumentError, match="limit"):
                    ReadOptions(limit=bad)
            await _refused(
                InvalidArgumentError, "from_version", store.get_events, aid, AGGREGATE_TYPE, bad
            )
            await _refused(InvalidArgumentError, "after_position", store.wait_for_events, bad, 0)
        await _refused(InvalidArgumentError, "timeout", store.wait_for_events, 0, float("nan"))

    async def test_read_ids_and_options_must_be_typed(self, backend: RoleBackend) -> None:
        """An aggregate, event or tenant id given as its string (or as anything but a UUID),
        read options that are not a ReadOptions, a stream id that is not a str and a direction
        that is not a ReadDirection raise InvalidArgumentError naming the argument on every
        backend (one comparing ids as text would find the events, one comparing UUIDs would
        not). A direction given as its value (``"backward"``) reads that way.

        Fix: call the store's doors (``check_get_events``, ``check_stream_key``,
        ``check_event_id``, ``check_get_events_by_type``, ``check_read_options``) first.
        """
        store = backend.events
        aid = await self._seeded(backend)
        sid = stream_id_for(aid, AGGREGATE_TYPE)
        every = ids(await read_all_list(backend))
        for bad_id in (str(aid), aid.hex, aid.int, None):
            await _refused(InvalidArgumentError, "aggregate_id", store.get_events, bad_id)
            await _refused(
                InvalidArgumentError,
                "aggregate_id",
                store.get_stream_version,
                bad_id,
                AGGREGATE_TYPE,
            )
        for bad_id in (str(every[0]), every[0].int, None):
            await _refused(InvalidArgumentError, "event_id", store.event_exists, bad_id)
        tenant: Any = str(uuid4())
        with pytest.raises(InvalidArgumentError, match="tenant_id"):
            ReadOptions(tenant_id=tenant)
        await _refused(
            InvalidArgumentError, "tenant_id", store.get_events_by_type, AGGREGATE_TYPE, tenant
        )
        for bad_options in ({"limit": 1}, "forward", 5):
            await _refused(InvalidArgumentError, "options", store.read_all, bad_options)
            await _refused(InvalidArgumentError, "options", store.read_stream, sid, bad_options)
        for bad_stream in (7, None, aid):
            await _refused(InvalidArgumentError, "stream id", store.read_stream, bad_stream)
        bad_direction: Any
        for bad_direction in ("sideways", 1, None):
            with pytest.raises(InvalidArgumentError, match="direction"):
                ReadOptions(direction=bad_direction)
        named = ReadOptions(direction="backward")  # type: ignore[arg-type]
        assert named.direction is ReadDirection.BACKWARD
        assert ids(await read_all_list(backend, named)) == every[::-1]
        assert await store.event_exists(every[0]) is True

    async def test_query_names_follow_the_identifier_rules(self, backend: RoleBackend) -> None:
        """An aggregate type, event type or worker id holding a lone surrogate or NUL, empty,
        or over MAX_IDENTIFIER_LENGTH characters raises InvalidArgumentError naming it in
        every query that takes one (get_events, get_events_by_type, get_stream_version,
        read_stream, ReadOptions.event_types, get_lag_metrics, get_pending_events), instead of
        a driver's encoding error: what can never be stored is never asked for. Nothing is
        claimed.

        Fix: check names with ``check_identifier`` (the doors do) before any I/O.
        """
        store = backend.events
        aid = await self._seeded(backend)
        (first, *_) = await read_all_list(backend)
        await backend.checkpoints.update_checkpoint("kit-p", first.event_id, first.event_type)
        await backend.outbox.add_event(noted(aid, 1)[0])
        lag = backend.checkpoints.get_lag_metrics
        for bad in BAD_NAMES:
            await _refused(InvalidArgumentError, "aggregate_type", store.get_events, aid, bad)
            await _refused(InvalidArgumentError, "aggregate_type", store.get_events_by_type, bad)
            await _refused(
                InvalidArgumentError, "aggregate_type", store.get_stream_version, aid, bad
            )
            if bad:  # "<id>:" is no stream id at all (also refused)
                await _refused(
                    InvalidArgumentError, "aggregate_type", store.read_stream, f"{aid}:{bad}"
                )
            with pytest.raises(InvalidArgumentError, match="event_types"):
                ReadOptions(event_types=("KitItemNoted", bad))
            await _refused(InvalidArgumentError, "event_types", lag, "kit-p", [bad])
            if bad:  # an empty worker_id (like None) asks the backend to name the worker
                await _refused(
                    InvalidArgumentError,
                    "worker_id",
                    backend.outbox.get_pending_events,
                    10,
                    worker_id=bad,
                )
        assert (await backend.outbox.get_stats()).claimed_count == 0
        (claimed,) = await backend.outbox.get_pending_events(worker_id="kit-\u00e9")
        assert claimed.claimed_by == "kit-\u00e9"

    async def test_event_types_must_be_a_list_of_names(self, backend: RoleBackend) -> None:
        """``event_types`` given as one ``str`` raises InvalidArgumentError (it would be read as
        its characters, or matched as a substring) in ReadOptions and get_lag_metrics; a list,
        tuple, set or generator of names filters by those types everywhere, an empty one keeps
        nothing.

        Fix: check with ``check_names`` (ReadOptions does; ``check_event_types`` for
        get_lag_metrics).
        """
        await self._seeded(backend)
        (first, *_) = await read_all_list(backend)
        repo = backend.checkpoints
        await repo.update_checkpoint("kit-p", first.event_id, first.event_type)
        single: Any
        for single in ("KitItemNoted", "Kit", "N"):
            with pytest.raises(InvalidArgumentError, match="event_types"):
                ReadOptions(event_types=single)
            await _refused(
                InvalidArgumentError, "event_types", repo.get_lag_metrics, "kit-p", single
            )
        every = ids(await read_all_list(backend))
        given: Any
        for given in (["KitItemNoted"], ("KitItemNoted", "KitOther"), {"KitItemNoted"}):
            options = ReadOptions(event_types=given)
            assert ids(await read_all_list(backend, options)) == every
            lag = await repo.get_lag_metrics("kit-p", given)
            assert lag is not None and lag.lag_events == 1
        generated = ReadOptions(event_types=(t for t in ["KitItemNoted"]))  # type: ignore[arg-type]
        assert generated.event_types == ("KitItemNoted",)
        assert ids(await read_all_list(backend, generated)) == every
        for none_of_them in (("Kit",), ("KitItemNote",), ()):
            assert await read_all_list(backend, ReadOptions(event_types=none_of_them)) == []

    async def test_timestamps_must_be_aware(self, backend: RoleBackend) -> None:
        """A naive datetime (no backend can know its zone), a string, a date, or an aware
        datetime outside the datetime range in UTC as ``from_timestamp`` / ``to_timestamp``
        raises InvalidArgumentError naming it (ReadOptions, get_events, get_events_by_type); an
        aware datetime in any zone bounds ``occurred_at`` by the same instant everywhere, and
        the extremes of the datetime range keep everything.

        Fix: check with ``check_moment`` (ReadOptions and the doors do).
        """
        store = backend.events
        aid = uuid4()
        at = datetime(2024, 5, 1, 12, tzinfo=UTC)
        later = at + timedelta(hours=1)
        await store.append_events(aid, AGGREGATE_TYPE, noted(aid, 1, occurred_at=at), 0)
        await store.append_events(aid, AGGREGATE_TYPE, noted(aid, 1, occurred_at=later), 1)
        bad_moments: tuple[Any, ...] = (
            datetime(2024, 5, 1, 12, 30),
            "2024-05-01T12:30:00+00:00",
            later.date(),
            datetime.max.replace(tzinfo=timezone(timedelta(hours=-5))),
            datetime.min.replace(tzinfo=timezone(timedelta(hours=5))),
        )
        for bad in bad_moments:
            for field in ("from_timestamp", "to_timestamp"):
                with pytest.raises(InvalidArgumentError, match=field):
                    ReadOptions(**{field: bad})
                await _refused(
                    InvalidArgumentError,
                    field,
                    store.get_events,
                    aid,
                    AGGREGATE_TYPE,
                    **{field: bad},
                )
            await _refused(
                InvalidArgumentError,
                "from_timestamp",
                store.get_events_by_type,
                AGGREGATE_TYPE,
                from_timestamp=bad,
            )
        # 12:30 UTC, written in another zone: the later event only, on every path
        zone = timezone(timedelta(hours=5, minutes=30))
        half_past = (at + timedelta(minutes=30)).astimezone(zone)
        stream = await store.get_events(aid, AGGREGATE_TYPE, from_timestamp=half_past)
        assert [e.occurred_at for e in stream.events] == [later]
        by_type = await store.get_events_by_type(AGGREGATE_TYPE, from_timestamp=half_past)
        assert [e.occurred_at for e in by_type] == [later]
        window = ReadOptions(from_timestamp=half_past)
        assert [s.event.occurred_at for s in await read_all_list(backend, window)] == [later]
        ends = ReadOptions(
            from_timestamp=datetime.min.replace(tzinfo=UTC),
            to_timestamp=datetime.max.replace(tzinfo=UTC),
        )
        assert len(await read_all_list(backend, ends)) == 2

    async def test_repository_ids_must_be_typed(self, backend: RoleBackend) -> None:
        """A DLQ id that is not an int from 1 to 2**63 - 1 (the string "1", a float, a bool,
        0, 2**64) and an outbox id that is not a UUID (its string) raise InvalidArgumentError
        naming it on every method and change nothing; the largest valid DLQ id is simply not
        found. ``mark_published_many`` takes an iterable of UUIDs, never a string.

        Fix: call ``check_dlq_id``, ``check_outbox_id`` and ``check_outbox_ids`` first.
        """
        dlq, outbox = backend.dlq, backend.outbox
        dlq_id = await dlq.add_failed_event(uuid4(), "kit-p", "KitItemNoted", {}, "boom")
        before = await dlq.get_failed_event_by_id(dlq_id)
        bad: Any
        for bad in (str(dlq_id), float(dlq_id), True, 0, -1, MAX_POSITION + 1, 2**64, None):
            await _refused(InvalidArgumentError, "dlq_id", dlq.get_failed_event_by_id, bad)
            await _refused(InvalidArgumentError, "dlq_id", dlq.mark_retrying, bad)
            await _refused(InvalidArgumentError, "dlq_id", dlq.mark_resolved, bad, "done")
        assert await dlq.get_failed_event_by_id(dlq_id) == before
        assert await dlq.get_failed_event_by_id(MAX_POSITION) is None
        with pytest.raises(EntryNotFoundError):
            await dlq.mark_retrying(MAX_POSITION)
        entry_id = await outbox.add_event(noted(uuid4(), 1)[0])
        for bad in (str(entry_id), entry_id.hex, entry_id.int, None):
            await _refused(InvalidArgumentError, "outbox_id", outbox.get_entry, bad)
            await _refused(InvalidArgumentError, "outbox_id", outbox.mark_published, bad)
            await _refused(InvalidArgumentError, "outbox_id", outbox.release, bad, "err")
            await _refused(InvalidArgumentError, "outbox_id", outbox.mark_failed, bad, "err")
        for bad in (str(entry_id), entry_id, [str(entry_id)], [entry_id, None]):
            await _refused(InvalidArgumentError, "outbox_ids", outbox.mark_published_many, bad)
        entry = await outbox.get_entry(entry_id)
        assert (entry.status, entry.retry_count, entry.last_error) == (
            OutboxStatus.PENDING,
            0,
            None,
        )
        ids_given: Any = (i for i in [entry_id, uuid4()])
        assert await outbox.mark_published_many(ids_given) == 1
        assert (await outbox.get_entry(entry_id)).status is OutboxStatus.PUBLISHED

    async def test_durations_are_bounded(self, backend: RoleBackend) -> None:
        """A lease, retry delay or cleanup age that is not a timedelta from 0 to MAX_DURATION
        (1000 years): ``timedelta.max``, ``timedelta.min``, a negative one, a number, raises
        InvalidArgumentError naming it and changes nothing (no claim, no delay, nothing
        deleted); MAX_DURATION itself works everywhere.

        Fix: call ``check_lease``, ``check_retry_after`` and ``check_older_than`` first.
        """
        outbox, dlq = backend.outbox, backend.dlq
        entry_id = await outbox.add_event(noted(uuid4(), 1)[0])
        for bad in BAD_DURATIONS:
            await _refused(InvalidArgumentError, "lease", outbox.get_pending_events, lease=bad)
            await _refused(
                InvalidArgumentError, "retry_after", outbox.release, entry_id, retry_after=bad
            )
            if type(bad) is int:  # eventsource-py 0.5.0's int of days: accepted there
                continue
            await _refused(InvalidArgumentError, "older_than", outbox.cleanup_published, bad)
            await _refused(InvalidArgumentError, "older_than", dlq.delete_resolved_events, bad)
        entry = await outbox.get_entry(entry_id)
        assert (entry.claimed_by, entry.retry_count) == (None, 0)
        (claimed,) = await outbox.get_pending_events(lease=MAX_DURATION)
        assert claimed.id == entry_id and claimed.claimed_until is not None
        assert claimed.claimed_until.year >= datetime.now(UTC).year + 999
        await outbox.release(entry_id, retry_after=MAX_DURATION)
        assert await outbox.get_pending_events() == []  # delayed for 1000 years
        await outbox.mark_published(entry_id)
        dlq_id = await dlq.add_failed_event(uuid4(), "kit-p", "KitItemNoted", {}, "boom")
        await dlq.mark_resolved(dlq_id, "done")
        assert await outbox.cleanup_published(MAX_DURATION) == 0
        assert await dlq.delete_resolved_events(MAX_DURATION) == 0
        assert (await outbox.get_entry(entry_id)).status is OutboxStatus.PUBLISHED
        assert await dlq.get_failed_event_by_id(dlq_id) is not None
