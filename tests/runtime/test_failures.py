"""Failing handlers: retries with backoff, skip-and-park into the DLQ, stop, and DLQ replay."""

from __future__ import annotations

from uuid import uuid4

import pytest

from eventsource import (
    Backend,
    ConfigurationError,
    EntryNotFoundError,
    EventDecodeError,
    InvalidStateError,
)
from eventsource.repositories import DLQStatus
from eventsource.runtime import (
    Backoff,
    DLQReplayer,
    EventSource,
    FailureMode,
    Projection,
    ProjectionRunner,
    ProjectionStoppedError,
    ReplayError,
    RetryPolicy,
    UndecodableEvent,
    handles,
)
from eventsource.stores import stream_id_for

from ._events import RtItemAdded, append_items

FAST = Backoff(initial=0.001, maximum=0.005, jitter=0)


class PoisonError(RuntimeError):
    """The error a broken handler raises."""


class Picky(Projection):
    """Fails on the ``n`` values in ``poison`` until they are removed from it."""

    name = "rttest.Picky"

    def __init__(self, poison: set[int], fail_times: int | None = None) -> None:
        self.poison = poison
        self.fail_times = fail_times
        self.calls: dict[int, int] = {}
        self.applied: list[int] = []

    @handles(RtItemAdded)
    async def on_item(self, event: RtItemAdded) -> None:
        self.calls[event.n] = self.calls.get(event.n, 0) + 1
        if event.n in self.poison and (
            self.fail_times is None or self.calls[event.n] <= self.fail_times
        ):
            raise PoisonError(f"cannot handle item {event.n}")
        self.applied.append(event.n)


async def test_transient_failure_is_retried_and_succeeds(backend: Backend) -> None:
    await append_items(backend.events, 10)
    picky = Picky({4}, fail_times=2)
    runner = ProjectionRunner.from_backend(
        picky, backend, retry=RetryPolicy(max_attempts=3, backoff=FAST)
    )
    await runner.catch_up()
    assert picky.applied == list(range(10))
    assert picky.calls[4] == 3
    stats = runner.stats()
    assert stats.retries == 2 and stats.events_parked == 0 and stats.events_failed == 0
    assert await backend.dlq.get_failed_events("rttest.Picky") == []


async def test_poison_event_is_parked_then_replayed_once_fixed(backend: Backend) -> None:
    await append_items(backend.events, 1000, per_batch=250)
    picky = Picky({123})
    runner = ProjectionRunner.from_backend(
        picky, backend, retry=RetryPolicy(max_attempts=2, backoff=FAST)
    )
    assert await runner.catch_up() == 999
    # The projection carried on past the poison event and checkpointed the end.
    assert picky.applied == [n for n in range(1000) if n != 123]
    assert await backend.checkpoints.get_position(picky.name) == 1000
    stats = runner.stats()
    assert stats.events_parked == 1 and stats.events_failed == 1 and stats.retries == 1
    assert stats.last_error is not None and "cannot handle item 123" in stats.last_error

    [entry] = await backend.dlq.get_failed_events(picky.name)
    assert entry.event_type == "rttest.ItemAdded"
    assert entry.retry_count == 2
    assert entry.error_type == "PoisonError"
    assert "cannot handle item 123" in entry.error_message
    assert "on_item" in entry.error_stacktrace  # the handler's own traceback
    assert entry.event_data["n"] == 123

    # Still broken: replay fails, the entry stays failed with one more retry counted.
    failed = await runner.replay(entry.id)
    assert not failed.ok and isinstance(failed.error, PoisonError)
    again = await backend.dlq.get_failed_event_by_id(entry.id)
    assert again is not None and again.status is DLQStatus.FAILED and again.retry_count == 3

    picky.poison.clear()  # the fix
    result = await runner.replay(entry.id, resolution="fixed the parser")
    assert result.ok and result.event_id == entry.event_id
    assert picky.applied[-1] == 123
    resolved = await backend.dlq.get_failed_event_by_id(entry.id)
    assert resolved is not None and resolved.status is DLQStatus.RESOLVED
    assert resolved.resolution == "fixed the parser"

    with pytest.raises(InvalidStateError, match="already resolved"):
        await runner.replay(entry.id)
    assert picky.applied.count(123) == 1


async def test_replay_all_resolves_every_entry_of_the_projection(backend: Backend) -> None:
    await append_items(backend.events, 50)
    picky = Picky({3, 17, 41})
    runner = ProjectionRunner.from_backend(picky, backend, retry=RetryPolicy.no_retry())
    await runner.catch_up()
    assert len(await backend.dlq.get_failed_events(picky.name)) == 3
    picky.poison.clear()
    results = await runner.replay_all()
    assert [r.ok for r in results] == [True, True, True]
    assert sorted(picky.applied[-3:]) == [3, 17, 41]
    assert await backend.dlq.get_failed_events(picky.name) == []
    stats = await backend.dlq.get_failure_stats()
    assert stats.total_resolved == 3 and stats.total_failed == 0


async def test_replay_rereads_the_event_from_the_store(backend: Backend) -> None:
    await append_items(backend.events, 5)
    picky = Picky({2})
    runner = ProjectionRunner.from_backend(picky, backend, retry=RetryPolicy.no_retry())
    await runner.catch_up()
    [entry] = await backend.dlq.get_failed_events(picky.name)
    picky.poison.clear()
    result = await runner.replay(entry.id, source="store")
    assert result.ok and picky.applied[-1] == 2


async def test_replay_refuses_unknown_and_foreign_entries(backend: Backend) -> None:
    await append_items(backend.events, 5)
    picky = Picky({1})
    runner = ProjectionRunner.from_backend(picky, backend, retry=RetryPolicy.no_retry())
    await runner.catch_up()
    [entry] = await backend.dlq.get_failed_events(picky.name)
    with pytest.raises(EntryNotFoundError):
        await runner.replay(entry.id + 1000)
    other = Picky(set())
    other.name = "rttest.Other"
    with pytest.raises(InvalidStateError, match="belongs to projection"):
        await DLQReplayer(backend.dlq, backend.events).replay(other, entry.id)
    replayer = runner.replayer()
    await replayer.resolve(entry.id, "not needed")
    with pytest.raises(InvalidStateError, match="already resolved"):
        await replayer.resolve(entry.id, "twice")
    assert (await replayer.entry(entry.id)).resolution == "not needed"
    await replayer.resolve(entry.id, "twice", force=True)  # the note replaced
    assert (await replayer.entry(entry.id)).resolution == "twice"
    with pytest.raises(EntryNotFoundError):
        await replayer.resolve(entry.id + 1000, "x", force=True)


async def test_stop_mode_stops_and_keeps_the_checkpoint_before_the_event(
    backend: Backend,
) -> None:
    await append_items(backend.events, 20)
    picky = Picky({8})
    policy = RetryPolicy(max_attempts=2, backoff=FAST, on_failure=FailureMode.STOP)
    runner = ProjectionRunner.from_backend(picky, backend, retry=policy, checkpoint_every=1000)
    runner.start()
    with pytest.raises(ProjectionStoppedError) as caught:
        await _wait_done(runner)
    assert isinstance(caught.value.__cause__, PoisonError)
    assert caught.value.attempts == 2
    assert picky.applied == list(range(8))
    assert await backend.checkpoints.get_position(picky.name) == 8
    assert runner.stats().state.value == "failed"
    assert await backend.dlq.get_failed_events(picky.name) == []
    # Fixed and restarted, it resumes at the failed event.
    picky.poison.clear()
    await runner.catch_up()
    assert picky.applied == list(range(20))


async def _wait_done(runner: ProjectionRunner) -> None:
    task = runner._task
    assert task is not None
    await task


def test_bad_policies_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ConfigurationError):
        RetryPolicy(on_failure="explode")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        Backoff(multiplier=0.5)
    assert RetryPolicy(on_failure="stop").on_failure is FailureMode.STOP  # type: ignore[arg-type]
    assert Backoff(initial=1, maximum=4, jitter=0).delay(5) == 4


async def _entry_state(backend: Backend, dlq_id: int) -> tuple[object, ...]:
    entry = await backend.dlq.get_failed_event_by_id(dlq_id)
    assert entry is not None
    return (entry.status, entry.retry_count, entry.error_type, entry.error_message)


async def test_replay_reports_an_entry_whose_event_cannot_be_loaded(backend: Backend) -> None:
    """Each way a parked entry can name no loadable event gives a failed result with a
    ReplayError naming the entry, and leaves the entry as it was; replay_all goes on."""
    await append_items(backend.events, 3)
    picky = Picky({1})
    runner = ProjectionRunner.from_backend(picky, backend, retry=RetryPolicy.no_retry())
    await runner.catch_up()
    [parked] = await backend.dlq.get_failed_events(picky.name)
    picky.poison.clear()

    def wrapper(stream_id: str, stream_position: int) -> dict[str, object]:
        return UndecodableEvent("{", "T", 1, None, 9, stream_id, stream_position).to_event_data()

    stream = stream_id_for(uuid4(), "rttest.Cart")
    cases: list[tuple[dict[str, object], EventSource, str]] = [
        ({"n": "not an item"}, "data", "event_data does not decode"),
        ({"aggregate_id": "nope", "n": 1}, "auto", "aggregate_id 'nope' is not a UUID"),
        ({"aggregate_id": str(uuid4()), "aggregate_type": "x" * 300}, "store", "characters"),
        (wrapper("no-colon", 1), "store", "is not '<aggregate_id>:<aggregate_type>'"),
        (wrapper(stream, 0), "store", "must be from 0"),  # position 0: reading from -1
        (wrapper(stream, 5), "store", "no longer at position 5"),
    ]
    ids = []
    for data, source, says in cases:
        dlq_id = await backend.dlq.add_failed_event(uuid4(), picky.name, "T", data, "by hand")
        before = await _entry_state(backend, dlq_id)
        result = await runner.replay(dlq_id, source=source)
        assert not result.ok and isinstance(result.error, ReplayError), (data, result)
        assert result.error.dlq_id == dlq_id and says in str(result.error), str(result.error)
        assert await _entry_state(backend, dlq_id) == before  # left as it was
        ids.append(dlq_id)
    # no store to fall back on: data that does not decode is a ReplayError too
    alone = DLQReplayer(backend.dlq, registry=backend.events.event_registry)
    result = await alone.replay(picky, ids[1])
    assert isinstance(result.error, ReplayError) and result.error.dlq_id == ids[1]

    results = await runner.replay_all()
    assert {r.dlq_id: r.ok for r in results} == {parked.id: True, **dict.fromkeys(ids, False)}
    assert picky.applied[-1] == 1


async def test_an_undecodable_entry_whose_row_cannot_be_found_stays_undecodable(
    backend: Backend,
) -> None:
    """``auto``: the stored text still does not decode and the row cannot be re-read (its
    stream id is malformed): the result's error is the EventDecodeError, one more retry."""
    picky = Picky(set())
    data = UndecodableEvent("{", "rttest.ItemAdded", 1, None, 9, "bad", 1).to_event_data()
    dlq_id = await backend.dlq.add_failed_event(uuid4(), picky.name, "T", data, "by hand")
    result = await DLQReplayer(backend.dlq, backend.events).replay(picky, dlq_id)
    assert not result.ok and isinstance(result.error, EventDecodeError)
    entry = await backend.dlq.get_failed_event_by_id(dlq_id)
    assert entry is not None and entry.retry_count == 2 and entry.status is DLQStatus.FAILED
