"""A handler raising an exception that cannot be printed (``__str__`` raises or returns no
string, args holding an object whose ``str()`` and ``repr()`` raise, a message of megabytes,
NUL and lone surrogates) on every backend: with SKIP the runner parks the event and moves
on; with STOP it stops with the very error the handler raised."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from eventsource import Backend
from eventsource.repositories._error_text import MAX_ERROR_MESSAGE_LENGTH
from eventsource.runtime import (
    FailureMode,
    Projection,
    ProjectionRunner,
    ProjectionStoppedError,
    RetryPolicy,
    handles,
)

from ._events import RtItemAdded, append_items


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class StrRaisesError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str")


class StrNotTextError(Exception):
    def __str__(self) -> str:
        return None  # type: ignore[return-value]


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


#: (name, the error the handler raises, its recorded type, text its recorded message holds)
CASES: list[tuple[str, Callable[[], Exception], str, str]] = [
    ("str-raises", lambda: StrRaisesError("x"), "StrRaisesError", "StrRaisesError('x')"),
    ("str-not-text", StrNotTextError, "StrNotTextError", "StrNotTextError()"),
    ("unprintable", UnprintableError, "UnprintableError", "UnprintableError"),
    ("args-unprintable", lambda: ValueError(_Unprintable()), "ValueError", "ValueError"),
    ("huge", lambda: ValueError("m" * 3_000_000), "ValueError", "mmmm"),
    ("nul-surrogate", lambda: ValueError("a\x00b\ud800c"), "ValueError", "a\\x00b\\ud800c"),
]


class Brittle(Projection):
    """Raises ``make()`` for item 2."""

    name = "rttest.Brittle"

    def __init__(self, make: Callable[[], Exception]) -> None:
        self.make = make
        self.raised: list[Exception] = []
        self.applied: list[int] = []

    @handles(RtItemAdded)
    async def on_item(self, event: Any) -> None:
        if event.n == 2:
            error = self.make()
            self.raised.append(error)
            raise error
        self.applied.append(event.n)


@pytest.fixture(params=CASES, ids=[c[0] for c in CASES])
def case(request: pytest.FixtureRequest) -> tuple[str, Callable[[], Exception], str, str]:
    value: tuple[str, Callable[[], Exception], str, str] = request.param
    return value


async def test_skip_parks_the_event_and_moves_on(
    backend: Backend, case: tuple[str, Callable[[], Exception], str, str]
) -> None:
    _, make, error_type, says = case
    await append_items(backend.events, 5)
    brittle = Brittle(make)
    runner = ProjectionRunner.from_backend(brittle, backend, retry=RetryPolicy.no_retry())
    assert await runner.catch_up() == 4
    assert brittle.applied == [0, 1, 3, 4]
    assert await backend.checkpoints.get_position(brittle.name) == 5
    stats = runner.stats()
    assert stats.events_parked == 1
    assert stats.last_error is not None and stats.last_error.startswith(error_type)
    [entry] = await backend.dlq.get_failed_events(brittle.name)
    assert entry.event_data["n"] == 2
    assert entry.error_type == error_type
    assert says in entry.error_message
    assert len(entry.error_message) <= MAX_ERROR_MESSAGE_LENGTH
    assert "on_item" in entry.error_stacktrace  # the handler's own traceback


async def test_stop_stops_with_the_handlers_error(
    backend: Backend, case: tuple[str, Callable[[], Exception], str, str]
) -> None:
    await append_items(backend.events, 5)
    brittle = Brittle(case[1])
    policy = RetryPolicy(max_attempts=1, on_failure=FailureMode.STOP)
    runner = ProjectionRunner.from_backend(brittle, backend, retry=policy)
    with pytest.raises(ProjectionStoppedError) as caught:
        await runner.catch_up()
    assert caught.value.__cause__ is brittle.raised[-1]
    assert caught.value.global_position == 3
    assert brittle.applied == [0, 1]
    assert await backend.checkpoints.get_position(brittle.name) == 2
    assert await backend.dlq.get_failed_events(brittle.name) == []
