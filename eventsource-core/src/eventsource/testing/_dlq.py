"""Conformance of the dead-letter-queue repository."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from .._exceptions import EntryNotFoundError, InvalidArgumentError, SerializationError
from ..repositories._entries import DLQStatus
from ..repositories._error_text import MAX_ERROR_MESSAGE_LENGTH, MAX_STACKTRACE_LENGTH
from ..runtime import DLQReplayer, ReplayError, UndecodableEvent, projection
from ._base import ConformanceBase
from ._events import AGGREGATE_TYPE, noted
from ._roles import RoleBackend

__all__ = ["DLQConformance", "KitProjectionError"]


class KitProjectionError(RuntimeError):
    """The error the kit's DLQ tests park events with."""


class _InFlightError(RuntimeError):
    """An unrelated exception being handled while a DLQ entry is recorded."""


class _Unprintable:
    """An object whose ``str()`` and ``repr()`` both raise."""

    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class _StrRaises(KitProjectionError):
    def __str__(self) -> str:
        raise RuntimeError("no str")


class _StrNotText(KitProjectionError):
    def __str__(self) -> str:
        return 42  # type: ignore[return-value]


class _UnprintableError(KitProjectionError):
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def _raised(error: BaseException) -> BaseException:
    try:
        raise error
    except BaseException as exc:
        return exc


def _given_error(message: str) -> KitProjectionError:
    try:
        raise KitProjectionError(message)
    except KitProjectionError as exc:
        return exc


class DLQConformance(ConformanceBase):
    """Events a projection could not handle: parking, listing, retrying, resolving."""

    async def _park(self, backend: RoleBackend, projection: str, message: str = "boom") -> int:
        return await backend.dlq.add_failed_event(
            uuid4(), projection, "KitItemNoted", {"note": message}, _given_error(message)
        )

    async def test_dlq_add_and_get(self, backend: RoleBackend) -> None:
        """add_failed_event stores the event with the error's type, message and traceback;
        get_failed_event_by_id returns it (and None for an unknown id).

        Fix: store ``ErrorDetails.of(error)`` fields and the event data as JSON.
        """
        dlq = backend.dlq
        event_id = uuid4()
        data = {"note": "x", "nested": {"n": [1, 2]}, "id": str(event_id)}
        dlq_id = await dlq.add_failed_event(
            event_id, "kit-proj", "KitItemNoted", data, _given_error("cannot project"), 3
        )
        entry = await dlq.get_failed_event_by_id(dlq_id)
        assert entry is not None
        assert entry.id == dlq_id and entry["id"] == dlq_id
        assert entry.event_id == event_id
        assert entry.projection_name == "kit-proj"
        assert entry.event_type == "KitItemNoted"
        assert entry.event_data == data
        assert "KitProjectionError" in entry.error_type
        assert entry.error_message == "cannot project"
        assert entry.retry_count == 3
        assert entry.status == DLQStatus.FAILED
        assert entry.first_failed_at.tzinfo is not None
        assert entry.resolved_at is None and entry.resolution is None
        assert await dlq.get_failed_event_by_id(dlq_id + 10_000) is None

    async def test_dlq_same_event_and_projection_upserts(self, backend: RoleBackend) -> None:
        """Recording the same event for the same projection again updates the entry (error,
        retry count, status back to failed) and returns the same id; another projection gets
        its own entry.

        Fix: keep a unique key on (event_id, projection_name) and upsert.
        """
        dlq = backend.dlq
        event_id = uuid4()
        first = await dlq.add_failed_event(event_id, "kit-proj", "T", {}, _given_error("one"), 1)
        await dlq.mark_resolved(first, "tried a fix")
        again = await dlq.add_failed_event(event_id, "kit-proj", "T", {}, _given_error("two"), 2)
        assert again == first
        entry = await dlq.get_failed_event_by_id(first)
        assert entry is not None
        assert entry.error_message == "two"
        assert entry.retry_count == 2
        assert entry.status == DLQStatus.FAILED
        assert entry.last_failed_at >= entry.first_failed_at
        other = await dlq.add_failed_event(event_id, "kit-other", "T", {}, "three")
        assert other != first
        assert len(await dlq.get_failed_events()) == 2

    async def test_dlq_records_the_given_errors_traceback(self, backend: RoleBackend) -> None:
        """The stored traceback is that of the error passed in, even when another exception
        is being handled at the time of the call; a string error is stored as its message.

        Fix: format ``traceback.format_exception(error)`` (``ErrorDetails.of``), never
        ``traceback.format_exc()``.
        """
        given = _given_error("the given failure")
        try:
            raise _InFlightError("an unrelated error in flight")
        except _InFlightError:
            dlq_id = await backend.dlq.add_failed_event(uuid4(), "kit-proj", "T", {}, given)
        entry = await backend.dlq.get_failed_event_by_id(dlq_id)
        assert entry is not None
        assert "KitProjectionError" in entry.error_stacktrace
        assert "the given failure" in entry.error_stacktrace
        assert "_given_error" in entry.error_stacktrace, "the traceback lost its frames"
        assert "_InFlightError" not in entry.error_stacktrace
        assert "_InFlightError" not in entry.error_type
        text_id = await backend.dlq.add_failed_event(uuid4(), "kit-proj", "T", {}, "plain text")
        text = await backend.dlq.get_failed_event_by_id(text_id)
        assert text is not None and text.error_message == "plain text"

    async def test_dlq_parks_any_error(self, backend: RoleBackend) -> None:
        """An error whose ``str()`` raises or is no string, whose args hold an object that
        cannot be printed, or whose message is huge still parks: the message falls back to
        ``repr()``, then to the class name, and message and traceback are capped; event_data
        holding a value whose ``str()`` fails is a SerializationError and stores nothing.

        Fix: store ``ErrorDetails.of(error)`` and encode with ``prepare_failed_event``; never
        call ``str(error)`` yourself.
        """
        dlq = backend.dlq
        with pytest.raises(SerializationError):
            await dlq.add_failed_event(uuid4(), "kit-proj", "T", {"x": [_Unprintable()]}, "e")
        assert await dlq.get_failed_events(limit=10) == []
        huge = "h" * (MAX_STACKTRACE_LENGTH + 10)
        cases = [
            (_StrRaises("ignored"), "_StrRaises", "_StrRaises('ignored')"),
            (_StrNotText(), "_StrNotText", "_StrNotText()"),
            (_UnprintableError(), "_UnprintableError", "_UnprintableError"),
            (KitProjectionError(_Unprintable()), "KitProjectionError", "KitProjectionError"),
            (KitProjectionError(huge), "KitProjectionError", "hhhh"),
        ]
        for error, error_type, says in cases:
            dlq_id = await dlq.add_failed_event(uuid4(), "kit-proj", "T", {}, _raised(error))
            entry = await dlq.get_failed_event_by_id(dlq_id)
            assert entry is not None, f"{error_type} did not park"
            assert entry.error_type == error_type
            assert says in entry.error_message, (error_type, entry.error_message[:200])
            assert len(entry.error_message) <= MAX_ERROR_MESSAGE_LENGTH
            assert len(entry.error_stacktrace) <= MAX_STACKTRACE_LENGTH
            assert "_raised" in entry.error_stacktrace, "the traceback lost its frames"
        assert len(await dlq.get_failed_events(limit=10)) == len(cases)

    async def test_dlq_replay_reports_an_entry_it_cannot_load(self, backend: RoleBackend) -> None:
        """Replaying a projection's entries from the store gives each entry that names no
        readable event (an aggregate_id that is no UUID, a malformed aggregate type
        or stream id, an event it does not hold) a failed result whose error is a
        ReplayError naming the entry, leaves that entry as it was, and replays the others.

        Fix: read_stream raises InvalidArgumentError for a malformed stream id before any I/O
        (``parse_stream_id``); the DLQ keeps event_data as given.
        """
        (stored,) = noted(uuid4(), 1)
        await backend.events.append_events(stored.aggregate_id, AGGREGATE_TYPE, [stored], 0)
        seen: list[UUID] = []

        async def handler(event: Any) -> None:
            seen.append(event.event_id)

        replayed = projection("kit.Replayed", handler)
        unreadable: list[dict[str, Any]] = [
            {"aggregate_id": "not-a-uuid"},
            {"aggregate_id": str(uuid4()), "aggregate_type": "Kit\x00Item"},
            {"aggregate_id": str(uuid4()), "aggregate_type": AGGREGATE_TYPE},  # not stored
            UndecodableEvent("{", "KitItemNoted", 1, None, 1, "not-a-stream", 1).to_event_data(),
            UndecodableEvent("{", "T", 1, None, 1, f"{uuid4()}:Kit\x00Item", 1).to_event_data(),
        ]
        dlq = backend.dlq
        bad_ids = [
            await dlq.add_failed_event(uuid4(), replayed.name, "KitItemNoted", data, "by hand")
            for data in unreadable
        ]
        good_id = await dlq.add_failed_event(
            stored.event_id, replayed.name, stored.event_type, {"x": 1}, "boom"
        )
        results = await DLQReplayer(dlq, backend.events).replay_all(replayed, source="store")
        by_id = {result.dlq_id: result for result in results}
        assert sorted(by_id) == sorted([*bad_ids, good_id])
        for dlq_id, data in zip(bad_ids, unreadable, strict=True):
            result = by_id[dlq_id]
            assert not result.ok and isinstance(result.error, ReplayError), (data, result)
            assert result.error.dlq_id == dlq_id and f"DLQ entry {dlq_id}" in str(result.error)
            entry = await dlq.get_failed_event_by_id(dlq_id)
            assert entry is not None and entry.status is DLQStatus.FAILED
            assert (entry.retry_count, entry.error_message) == (1, "by hand")
        assert by_id[good_id].ok, by_id[good_id].error
        assert seen == [stored.event_id]

    async def test_dlq_list_filters_limit_order(self, backend: RoleBackend) -> None:
        """get_failed_events filters by projection and status, honours ``limit`` and returns the
        oldest failure first.

        Fix: WHERE status = ? [AND projection_name = ?] ORDER BY first_failed_at, id LIMIT ?.
        """
        dlq = backend.dlq
        a = [await self._park(backend, "kit-a", f"a{i}") for i in range(3)]
        b = await self._park(backend, "kit-b")
        assert [e.id for e in await dlq.get_failed_events("kit-a")] == a
        assert [e.id for e in await dlq.get_failed_events("kit-a", limit=2)] == a[:2]
        assert [e.id for e in await dlq.get_failed_events()] == [*a, b]
        assert [e.id for e in await dlq.get_failed_events("kit-b")] == [b]
        assert await dlq.get_failed_events("kit-none") == []
        await dlq.mark_resolved(a[1], "fixed")
        await dlq.mark_retrying(a[2])
        assert [e.id for e in await dlq.get_failed_events("kit-a")] == [a[0]]
        assert [e.id for e in await dlq.get_failed_events("kit-a", status="resolved")] == [a[1]]
        assert [e.id for e in await dlq.get_failed_events(status="retrying")] == [a[2]]

    async def test_dlq_bad_list_arguments(self, backend: RoleBackend) -> None:
        """get_failed_events with an unknown status, or a limit that is negative or not an
        int, raises InvalidArgumentError (a ValueError) and changes nothing; ``limit=0`` returns
        no entries.

        Fix: check the arguments with ``check_dlq_status`` and ``check_limit`` before any I/O.
        """
        dlq = backend.dlq
        parked = await self._park(backend, "kit-a")
        for status in ("bogus", "", "FAILED ", None):
            with pytest.raises(InvalidArgumentError, match="status"):
                await dlq.get_failed_events("kit-a", status=status)  # type: ignore[arg-type]
        for limit in (-1, 1.5, "10", None, True):
            with pytest.raises(InvalidArgumentError, match="limit"):
                await dlq.get_failed_events("kit-a", limit=limit)  # type: ignore[arg-type]
        assert await dlq.get_failed_events("kit-a", limit=0) == []
        assert [e.id for e in await dlq.get_failed_events("kit-a")] == [parked]
        assert [e.id for e in await dlq.get_failed_events("kit-a", status="failed")] == [parked]

    async def test_dlq_retrying_and_resolved(self, backend: RoleBackend) -> None:
        """mark_retrying and mark_resolved move the entry's status; resolving records the note
        and time; unknown ids raise EntryNotFoundError.

        Fix: check the affected row count and raise EntryNotFoundError when zero.
        """
        dlq = backend.dlq
        dlq_id = await self._park(backend, "kit-a")
        await dlq.mark_retrying(dlq_id)
        entry = await dlq.get_failed_event_by_id(dlq_id)
        assert entry is not None and entry.status == DLQStatus.RETRYING
        await dlq.mark_resolved(dlq_id, "fixed the data")
        entry = await dlq.get_failed_event_by_id(dlq_id)
        assert entry is not None
        assert entry.status == DLQStatus.RESOLVED
        assert entry.resolution == "fixed the data"
        assert entry.resolved_at is not None
        missing = dlq_id + 10_000
        with pytest.raises(EntryNotFoundError):
            await dlq.mark_retrying(missing)
        with pytest.raises(EntryNotFoundError):
            await dlq.mark_resolved(missing, "nothing")

    async def test_dlq_stats_and_projection_counts(self, backend: RoleBackend) -> None:
        """get_failure_stats counts by status; get_projection_failure_counts lists unresolved
        failures per projection, most first.

        Fix: group unresolved entries (failed or retrying) by projection.
        """
        dlq = backend.dlq
        empty = await dlq.get_failure_stats()
        assert (empty.total_failed, empty.total_retrying, empty.total_resolved) == (0, 0, 0)
        assert empty.affected_projections == 0 and empty.oldest_failure is None
        assert await dlq.get_projection_failure_counts() == []
        a = [await self._park(backend, "kit-a") for _ in range(3)]
        b = [await self._park(backend, "kit-b") for _ in range(2)]
        c = await self._park(backend, "kit-c")
        await dlq.mark_retrying(a[0])
        await dlq.mark_resolved(b[0], "ok")
        await dlq.mark_resolved(c, "ok")
        stats = await dlq.get_failure_stats()
        assert (stats.total_failed, stats.total_retrying, stats.total_resolved) == (3, 1, 2)
        assert stats.affected_projections == 2
        assert stats.oldest_failure is not None
        counts = await dlq.get_projection_failure_counts()
        assert [(c.projection_name, c.failure_count) for c in counts] == [
            ("kit-a", 3),
            ("kit-b", 1),
        ]
        assert all(c.oldest_failure is not None for c in counts)

    async def test_dlq_delete_resolved(self, backend: RoleBackend) -> None:
        """delete_resolved_events deletes only resolved entries older than ``older_than`` and
        returns how many.

        Fix: compare ``resolved_at`` with now - older_than; never delete unresolved entries.
        """
        dlq = backend.dlq
        keep = await self._park(backend, "kit-a")
        gone = await self._park(backend, "kit-a")
        await dlq.mark_resolved(gone, "done")
        assert await dlq.delete_resolved_events(older_than=timedelta(days=1)) == 0
        await asyncio.sleep(0.05)
        assert await dlq.delete_resolved_events(older_than=timedelta(0)) == 1
        assert await dlq.get_failed_event_by_id(gone) is None
        assert await dlq.get_failed_event_by_id(keep) is not None
