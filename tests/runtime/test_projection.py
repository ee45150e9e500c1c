"""Projection definitions: handler registration, dispatch, function projections, the
exactly-once hook, and the public surface of ``eventsource.runtime``."""

from __future__ import annotations

from uuid import uuid4

import pytest

import eventsource.runtime as runtime
from eventsource import Backend, ConfigurationError, DomainEvent
from eventsource.runtime import Projection, ProjectionRunner, RetryPolicy, handles, projection

from ._events import RtItemAdded, RtNoteWritten, append_items


class Both(Projection):
    def __init__(self) -> None:
        self.items: list[int] = []
        self.notes: list[str] = []

    @handles(RtItemAdded)
    async def on_item(self, event: RtItemAdded) -> None:
        self.items.append(event.n)

    @handles("rttest.NoteWritten")
    async def on_note(self, event: RtNoteWritten) -> None:
        self.notes.append(event.text)


class LoudNotes(Both):
    name = "rttest.LoudNotes"

    @handles(RtNoteWritten)
    async def shout(self, event: RtNoteWritten) -> None:
        self.notes.append(event.text.upper())


async def test_dispatch_by_event_type() -> None:
    both = Both()
    assert both.name == "Both"
    assert both.event_types == ("rttest.ItemAdded", "rttest.NoteWritten")
    agg = uuid4()
    await both.handle(RtItemAdded(aggregate_id=agg, n=3))
    await both.handle(RtNoteWritten(aggregate_id=agg, text="hi"))
    assert (both.items, both.notes) == ([3], ["hi"])


async def test_a_subclass_handler_replaces_the_inherited_one() -> None:
    loud = LoudNotes()
    await loud.handle(RtNoteWritten(aggregate_id=uuid4(), text="hi"))
    await loud.handle(RtItemAdded(aggregate_id=uuid4(), n=1))
    assert (loud.notes, loud.items) == (["HI"], [1])


def test_bad_handler_declarations_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        handles()
    with pytest.raises(ConfigurationError):
        handles(int)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="async def"):

        @handles(RtItemAdded)
        def sync_handler(self: object, event: DomainEvent) -> None: ...  # type: ignore[type-var]

    with pytest.raises(ConfigurationError, match="handled by both"):

        class Twice(Projection):
            @handles(RtItemAdded)
            async def a(self, event: DomainEvent) -> None: ...

            @handles(RtItemAdded)
            async def b(self, event: DomainEvent) -> None: ...

    with pytest.raises(ConfigurationError):
        projection("", lambda e: None)  # type: ignore[arg-type,return-value]


async def test_function_projection_without_types_gets_everything(backend: Backend) -> None:
    seen: list[str] = []

    async def record(event: DomainEvent) -> None:
        seen.append(event.event_type)

    agg = uuid4()
    await backend.events.append_events(
        agg,
        "rttest.Cart",
        [RtItemAdded(aggregate_id=agg, n=1), RtNoteWritten(aggregate_id=agg, text="x")],
        0,
    )
    everything = projection("rttest.everything", record, retry_policy=RetryPolicy.no_retry())
    runner = ProjectionRunner.from_backend(everything, backend)
    assert runner.retry.max_attempts == 1  # the projection's own policy
    await runner.catch_up()
    assert seen == ["rttest.ItemAdded", "rttest.NoteWritten"]


class TrackedSum:
    """Exactly-once hook: keeps its position with its data (one atomic assignment)."""

    name = "rttest.TrackedSum"
    event_types = ("rttest.ItemAdded",)

    def __init__(self) -> None:
        self.state = (0, 0)  # (position, sum)
        self.fail_on: int | None = None

    async def load_position(self) -> int:
        return self.state[0]

    async def handle_at(self, event: DomainEvent, global_position: int | None) -> None:
        assert isinstance(event, RtItemAdded)
        if event.n == self.fail_on:
            raise ValueError("bad item")
        position, total = self.state
        self.state = (position if global_position is None else global_position, total + event.n)

    async def handle(self, event: DomainEvent) -> None:
        await self.handle_at(event, None)


async def test_position_tracking_projection_writes_no_checkpoint(backend: Backend) -> None:
    await append_items(backend.events, 100)
    tracked = TrackedSum()
    tracked.fail_on = 40
    policy = RetryPolicy.no_retry()
    assert await ProjectionRunner.from_backend(tracked, backend, retry=policy).catch_up() == 99
    assert tracked.state == (100, sum(range(100)) - 40)
    assert await backend.checkpoints.get_checkpoint_data(tracked.name) is None
    # A second runner starts from the projection's own position: nothing is applied twice.
    await append_items(backend.events, 1, start=100)
    await ProjectionRunner.from_backend(tracked, backend).catch_up()
    assert tracked.state == (101, sum(range(101)) - 40)
    # Replay applies the parked event without moving the position.
    tracked.fail_on = None
    [result] = await ProjectionRunner.from_backend(tracked, backend).replay_all()
    assert result.ok
    assert tracked.state == (101, sum(range(101)))


class TrackedSumWithStore(TrackedSum):
    """Also implements the optional store_position: the position passes parked events."""

    name = "rttest.TrackedSumWithStore"

    async def store_position(self, global_position: int) -> None:
        self.state = (max(self.state[0], global_position), self.state[1])


async def test_position_tracking_projection_passes_a_parked_last_event(backend: Backend) -> None:
    await append_items(backend.events, 10)
    tracked = TrackedSumWithStore()
    tracked.fail_on = 9  # the last event: no later event moves the position past it
    policy = RetryPolicy.no_retry()
    assert await ProjectionRunner.from_backend(tracked, backend, retry=policy).catch_up() == 9
    assert tracked.state == (10, sum(range(9)))
    tracked.fail_on = None
    # A restart does not deliver the parked event again; only its replay applies it.
    assert await ProjectionRunner.from_backend(tracked, backend).catch_up() == 0
    [result] = await ProjectionRunner.from_backend(tracked, backend).replay_all()
    assert result.ok
    assert tracked.state == (10, sum(range(10)))


def test_public_surface() -> None:
    assert sorted(runtime.__all__) == runtime.__all__
    for name in runtime.__all__:
        assert getattr(runtime, name) is not None
    assert {"ProjectionRunner", "SubscriptionRunner", "OutboxRelay", "RetryPolicy"} <= set(
        runtime.__all__
    )


async def test_a_projection_overriding_handle_gets_every_event(backend: Backend) -> None:
    class Raw(Projection):
        name = "rttest.Raw"

        def __init__(self) -> None:
            self.types: list[str] = []

        async def handle(self, event: DomainEvent) -> None:
            self.types.append(event.event_type)

    agg = uuid4()
    await backend.events.append_events(
        agg,
        "rttest.Cart",
        [RtNoteWritten(aggregate_id=agg, text="a"), RtItemAdded(aggregate_id=agg, n=1)],
        0,
    )
    raw = Raw()
    assert raw.event_types is None
    await ProjectionRunner.from_backend(raw, backend).catch_up()
    assert raw.types == ["rttest.NoteWritten", "rttest.ItemAdded"]
