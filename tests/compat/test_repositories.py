"""eventsource-py 0.5.0's checkpoint, outbox and DLQ repository calls (reference section 4)
on every backend, and the record fields it named otherwise."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from eventsource import Backend, EntryNotFoundError, ExpectedVersion
from eventsource.repositories import (  # type: ignore[attr-defined]
    InMemoryCheckpointRepository,
    InMemoryDLQRepository,
    InMemoryOutboxRepository,
)

from ._model import CpOrderNoted


async def _stored(backend: Backend, n: int) -> list[CpOrderNoted]:
    aid = uuid4()
    events = [CpOrderNoted(aggregate_id=aid, note=str(i)) for i in range(n)]
    await backend.events.append_events(aid, "CpOrder", events, ExpectedVersion.NO_STREAM)
    return events


async def test_checkpoints(backend: Backend) -> None:
    repo = backend.checkpoints
    first, second = await _stored(backend, 2)
    assert await repo.get_checkpoint("p") is None and await repo.get_position("p") is None
    await repo.update_checkpoint(
        projection_name="p", event_id=first.event_id, event_type=first.event_type
    )
    assert await repo.get_checkpoint("p") == first.event_id
    position = await backend.events.get_global_position()
    await repo.save_position("sub", position, second.event_id, second.event_type)
    assert await repo.get_position("sub") == position
    names = [c.projection_name for c in await repo.get_all_checkpoints()]
    assert names == ["p", "sub"]
    data = (await repo.get_all_checkpoints())[0]
    assert data.events_processed == 1
    with pytest.warns(DeprecationWarning, match="updated_at"):
        assert data.last_processed_at == data.updated_at
    lag = await repo.get_lag_metrics("p")
    assert lag is not None and lag.projection_name == "p" and lag.latest_event_id == second.event_id
    assert await repo.get_lag_metrics("nobody") is None
    await repo.reset_checkpoint("p")
    await repo.reset_checkpoint("never")
    assert await repo.get_checkpoint("p") is None


async def test_checkpoints_never_move_backwards(backend: Backend) -> None:
    """Deviation (a 0.5.0 bug we fix): an older event does not move a checkpoint back."""
    first, second = await _stored(backend, 2)
    await backend.checkpoints.update_checkpoint("p", second.event_id, second.event_type)
    await backend.checkpoints.update_checkpoint("p", first.event_id, first.event_type)
    assert await backend.checkpoints.get_checkpoint("p") == second.event_id


async def test_outbox(backend: Backend) -> None:
    outbox = backend.outbox
    a, b, c = await _stored(backend, 3)
    ids = [await outbox.add_event(e) for e in (a, b, c)]
    pending = await outbox.list_pending_events(limit=2)
    assert [e.id for e in pending] == ids[:2] and pending[0].event_data["note"] == "0"
    await outbox.increment_retry(ids[0], "broker down")
    await outbox.mark_published(ids[1])
    stats = await outbox.get_stats()
    assert (stats.pending_count, stats.published_count, stats.failed_count) == (2, 1, 0)
    assert stats.avg_retries == 0.5  # the mean over pending entries, as in 0.5.0
    with pytest.warns(DeprecationWarning, match="oldest_pending_at"):
        assert stats.oldest_pending == stats.oldest_pending_at
    retried = await outbox.get_entry(ids[0])
    assert (retried.status, retried.retry_count, retried.last_error) == (
        "pending",
        1,
        "broker down",
    )
    (claimed,) = await outbox.get_pending_events(limit=1)
    await outbox.mark_failed(claimed.id, "gave up")
    assert (await outbox.get_stats()).failed_count == 1
    assert await outbox.cleanup_published(days=7) == 0
    assert await outbox.cleanup_published(0) == 1  # 0.5.0's positional int of days
    assert await outbox.cleanup_published(older_than=timedelta(0)) == 0
    with pytest.raises(EntryNotFoundError):  # deviation: 0.5.0 ignored unknown ids
        await outbox.mark_published(uuid4())


async def test_outbox_entries_are_claimed(backend: Backend) -> None:
    """Deviation (a 0.5.0 bug we fix): a pending entry is handed to one worker at a time."""
    (event,) = await _stored(backend, 1)
    await backend.outbox.add_event(event)
    assert len(await backend.outbox.get_pending_events(limit=10)) == 1
    assert await backend.outbox.get_pending_events(limit=10) == []


async def test_dlq(backend: Backend) -> None:
    dlq = backend.dlq
    (event,) = await _stored(backend, 1)
    try:
        raise ValueError("bad row")
    except ValueError as exc:
        dlq_id = await dlq.add_failed_event(
            event_id=event.event_id,
            projection_name="p",
            event_type=event.event_type,
            event_data=event.to_dict(),
            error=exc,
            retry_count=2,
        )
    (entry,) = await dlq.list_failed_events(projection_name="p")
    assert (entry.id, entry.error_message, entry.retry_count, entry.status) == (
        dlq_id,
        "bad row",
        2,
        "failed",
    )
    assert "ValueError" in entry.error_stacktrace
    assert (await dlq.get_failed_event(dlq_id)) == (await dlq.get_failed_event_by_id(dlq_id))
    await dlq.mark_retrying(dlq_id)
    stats = await dlq.get_failure_stats()
    assert (stats.total_failed, stats.total_retrying, stats.affected_projections) == (0, 1, 1)
    (count,) = await dlq.get_projection_failure_counts()
    assert (count.projection_name, count.failure_count) == ("p", 1)
    await dlq.mark_resolved(dlq_id, resolved_by="ops@example.com")
    resolved = await dlq.get_failed_event_by_id(dlq_id)
    assert resolved is not None and resolved.resolution == "ops@example.com"
    with pytest.warns(DeprecationWarning, match="resolution"):
        assert resolved.resolved_by == "ops@example.com"
    assert await dlq.delete_resolved_events(older_than_days=30) == 0
    assert await dlq.delete_resolved_events(older_than_days=0) == 1
    assert await dlq.get_failed_event(dlq_id) is None


async def test_memory_clear_helpers() -> None:
    checkpoints = InMemoryCheckpointRepository(tracer=None, enable_tracing=False)
    outbox = InMemoryOutboxRepository(None, True)
    dlq = InMemoryDLQRepository()

    event = CpOrderNoted(aggregate_id=uuid4(), aggregate_version=1)
    await outbox.add_event(event)
    first = await dlq.add_failed_event(event.event_id, "p", event.event_type, {}, RuntimeError("x"))
    await checkpoints.update_checkpoint("p", event.event_id, event.event_type, 5)
    await checkpoints.clear()
    await outbox.clear()
    await dlq.clear()
    assert await checkpoints.get_all_checkpoints() == []
    assert (await outbox.get_stats()).pending_count == 0
    assert (
        await dlq.add_failed_event(event.event_id, "p", event.event_type, {}, RuntimeError("x"))
        == first
        == 1
    )


async def test_resolved_by_a_user_id_and_tracing_arguments(tmp_path: object) -> None:
    """0.5.0's mark_resolved(dlq_id, resolved_by: UUID) positionally, and its repositories'
    tracer / enable_tracing arguments (accepted, unused)."""
    import aiosqlite

    from eventsource.repositories.dlq import SQLiteDLQRepository
    from eventsource.stores.sqlite import SQLiteEventStore

    async with SQLiteEventStore(":memory:", tracer=None) as store:
        await store.initialize()
        async with aiosqlite.connect(":memory:") as conn:
            assert SQLiteDLQRepository(conn, None, True) is not None
        dlq = SQLiteDLQRepository(store, tracer=None, enable_tracing=False)
        dlq_id = await dlq.add_failed_event(uuid4(), "p", "T", {}, RuntimeError("x"))
        user = uuid4()
        await dlq.mark_resolved(dlq_id, user)
        entry = await dlq.get_failed_event(dlq_id)
        assert entry is not None and entry.resolution == str(user)
