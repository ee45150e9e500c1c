"""An undecodable (poison) row put into the log directly with SQL, on SQLite (file and
``:memory:``) and PostgreSQL: readers deliver every event before it and name it; a projection
with SKIP parks it and goes on to the end, with STOP stops at it; once the event class is fixed
(or the row repaired), replaying its DLQ entry applies it.

The rows: invalid JSON, JSON that PostgreSQL's json type accepts but pydantic's parser refuses
(a lone surrogate escape), a ``null`` where the class needs a float (what NaN used to be
stored as), a type no class is registered for, and nesting deeper than pydantic's parser
allows (its recursion limit is 200). The memory backend holds decoded events, so it can hold
no such row and is not run here.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from eventsource import (
    Backend,
    DomainEvent,
    EventDecodeError,
    EventRegistry,
    InvalidEventError,
    SerializationError,
    UnknownEventTypeError,
    open_backend,
)
from eventsource.cli import main
from eventsource.repositories import DLQStatus
from eventsource.runtime import (
    FailureMode,
    Projection,
    ProjectionRunner,
    ProjectionStoppedError,
    RetryPolicy,
    UndecodableEvent,
    handles,
    projection,
)
from eventsource.stores import ReadOptions, StoredEvent, stream_id_for
from eventsource.testing import RawEventRow
from eventsource.values import check_identifier
from raw_events import rewrite_outbox_payload, rewrite_payload, write_raw_event

from .conftest import _pg_execute, backend_names, pg_server, require_postgres

CART = "rttest.ScoreCard"
UNREGISTERED = "rttest.NeverRegistered"


class RtScored(DomainEvent):
    """A score; ``score`` must be a float."""

    event_type: str = "rttest.Scored"
    score: float
    note: str = ""


class RtScoredFixed(DomainEvent):
    """The fixed class: a missing score (null) is allowed."""

    __register__ = False
    event_type: str = "rttest.Scored"
    score: float | None = None
    note: str = ""


class RtScoredTolerant(RtScoredFixed):
    """The fixed class for what pydantic's JSON parser refuses: parse with Python's json."""

    __register__ = False

    @classmethod
    def model_validate_json(cls, json_data: Any, **kwargs: Any) -> RtScoredTolerant:  # type: ignore[override]
        return cls.model_validate(json.loads(json_data), **kwargs)


class RtLate(DomainEvent):
    """The class registered later for the type that had none."""

    __register__ = False
    event_type: str = UNREGISTERED
    score: float | None = None


class Scores(Projection):
    """Records every score it is given, with the event's id."""

    name = "rttest.Scores"

    def __init__(self) -> None:
        self.seen: list[tuple[float | None, UUID]] = []

    @handles(RtScored, UNREGISTERED)
    async def on_score(self, event: Any) -> None:
        self.seen.append((event.score, event.event_id))


def _document(aggregate_id: UUID, event_id: UUID, **fields: Any) -> str:
    event = RtScored(
        event_id=event_id,
        aggregate_id=aggregate_id,
        aggregate_type=CART,
        aggregate_version=4,
        score=4.0,
        note="four",
    )
    return json.dumps({**event.model_dump(mode="json"), **fields})


def _deep(levels: int) -> Any:
    value: Any = []
    for _ in range(levels - 1):
        value = [value]
    return value


Fix = Callable[[Backend, EventRegistry, RawEventRow], Awaitable[None]]


def _register_fix(cls: type[DomainEvent]) -> Fix:
    async def fix(backend: Backend, registry: EventRegistry, row: RawEventRow) -> None:
        registry.register(cls, replace=True)

    return fix


async def _repair_row(backend: Backend, registry: EventRegistry, row: RawEventRow) -> None:
    """An operator repairs the stored text; the replay re-reads the row from the store."""
    await rewrite_payload(backend, row.event_id, _document(row.aggregate_id, row.event_id))


@dataclass(frozen=True)
class Poison:
    """One kind of undecodable row, the error under it, and how it gets fixed."""

    name: str
    event_type: str
    payload: Callable[[UUID, UUID], str]
    cause: type[Exception]
    cause_says: str
    fix: Fix
    fixed_score: float | None
    not_json: bool = False  # no PostgreSQL json column holds it
    invalid_utf8: bool = False  # stored as TEXT bytes that are not UTF-8 (SQLite only)


POISONS = [
    Poison(
        "invalid-json",
        RtScored.default_event_type(),
        lambda a, e: _document(a, e)[:-7],
        SerializationError,
        "Invalid JSON",
        _repair_row,
        4.0,
        not_json=True,
    ),
    Poison(
        "lone-surrogate-escape",
        RtScored.default_event_type(),
        lambda a, e: _document(a, e, note="@").replace('"@"', '"\\ud800"'),
        SerializationError,
        "Invalid JSON",
        _register_fix(RtScoredTolerant),
        4.0,
    ),
    Poison(
        "null-for-float",
        RtScored.default_event_type(),
        lambda a, e: _document(a, e, score=None),
        SerializationError,
        "score",
        _register_fix(RtScoredFixed),
        None,
    ),
    Poison(
        "unregistered-type",
        UNREGISTERED,
        lambda a, e: _document(a, e, event_type=UNREGISTERED),
        UnknownEventTypeError,
        UNREGISTERED,
        _register_fix(RtLate),
        4.0,
    ),
    Poison(
        "nested-250",
        RtScored.default_event_type(),
        lambda a, e: _document(a, e, metadata={"deep": _deep(250)}),
        SerializationError,
        "recursion limit exceeded",
        _register_fix(RtScoredTolerant),
        4.0,
    ),
]

POISONS.append(
    Poison(
        "invalid-utf8",
        RtScored.default_event_type(),
        lambda a, e: _document(a, e, note="@"),
        SerializationError,
        "Invalid JSON",
        _repair_row,
        4.0,
        not_json=True,
        invalid_utf8=True,
    )
)

REAL_BACKENDS = [
    name
    for name in ("sqlite", "sqlite-memory", "postgresql")
    if name.split("-")[0] in backend_names()
]


@pytest.fixture(params=REAL_BACKENDS)
async def real_backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    """An open SQLite (file or ``:memory:``) or PostgreSQL backend on a fresh database, whose
    store decodes with a registry of its own (so the tests' fixes stay private)."""
    name = request.param
    schema = None
    if name == "sqlite":
        url = f"sqlite:///{tmp_path / 'poison.db'}"
    elif name == "sqlite-memory":
        url = "sqlite:///:memory:"
    else:
        await require_postgres()
        schema = f"es_rt_{uuid.uuid4().hex[:12]}"
        url = f"{pg_server()}?schema={schema}&pool_min=1&pool_max=4"
    try:
        async with open_backend(url) as backend:
            backend.events.event_registry = EventRegistry([RtScored])
            yield backend
    finally:
        if schema is not None:
            await _pg_execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=POISONS, ids=[p.name for p in POISONS])
def poison(request: pytest.FixtureRequest) -> Poison:
    """One kind of undecodable row."""
    value: Poison = request.param
    return value


@dataclass
class Log:
    """Stream A: scores 1, 2, 3, the poison row at version 4 (global position 4); then
    stream B: scores 5, 6, 7."""

    row: RawEventRow
    position: int = 4
    total: int = 7

    @property
    def stream_id(self) -> str:
        return stream_id_for(self.row.aggregate_id, CART)


async def _scores(backend: Backend, aggregate_id: UUID, scores: list[float], start: int) -> None:
    events = [RtScored(aggregate_id=aggregate_id, score=s) for s in scores]
    await backend.events.append_events(aggregate_id, CART, events, start)


async def poisoned_log(backend: Backend, poison: Poison) -> Log:
    """Write the log of :class:`Log` with ``poison``'s row in it (skipping where the backend
    cannot hold such a row)."""
    if backend.name == "postgresql" and poison.not_json:
        pytest.skip("PostgreSQL's json payload column refuses text that is not JSON")
    aid, event_id = uuid4(), uuid4()
    await _scores(backend, aid, [1.0, 2.0, 3.0], 0)
    row = RawEventRow(aid, CART, 4, poison.event_type, 1, poison.payload(aid, event_id), event_id)
    assert await write_raw_event(backend, row) == 4
    if poison.invalid_utf8:  # the text's "@" becomes a byte that is not UTF-8
        broken = row.payload.encode().replace(b"@", b"\xff")
        await backend.events.connection.execute(  # type: ignore[attr-defined]
            "UPDATE events SET payload = CAST(? AS TEXT) WHERE event_id = ?",
            (broken, str(event_id)),
        )
        # as the readers hand the stored text over: the byte that is not UTF-8 escaped
        row = dataclasses.replace(row, payload=row.payload.replace('"@"', '"\\xff"'))
    await _scores(backend, uuid4(), [5.0, 6.0, 7.0], 0)
    return Log(row)


async def _read_until_error(
    backend: Backend, options: ReadOptions | None = None
) -> tuple[list[StoredEvent], EventDecodeError]:
    got: list[StoredEvent] = []
    with pytest.raises(EventDecodeError) as caught:
        async for stored in backend.events.read_all(options):
            got.append(stored)
    return got, caught.value


async def test_read_all_delivers_up_to_the_row_and_names_it(
    real_backend: Backend, poison: Poison
) -> None:
    log = await poisoned_log(real_backend, poison)
    for page_size in (1000, 3, 2):
        real_backend.events.page_size = page_size
        got, error = await _read_until_error(real_backend)
        assert [s.global_position for s in got] == [1, 2, 3]
        assert error.global_position == 4
        assert error.stream_id == log.stream_id and error.stream_position == 4
        assert error.event_id == log.row.event_id
        assert (error.event_type, error.event_version) == (poison.event_type, 1)
        assert error.raw_payload == log.row.payload  # the stored text, unchanged
        assert isinstance(error.__cause__, poison.cause)
        assert poison.cause_says in str(error.__cause__)
        assert "global position 4" in str(error)
    after = [s async for s in real_backend.events.read_all(ReadOptions(from_position=4))]
    assert [s.global_position for s in after] == [5, 6, 7]
    with pytest.raises(EventDecodeError) as caught:
        await real_backend.events.get_events(log.row.aggregate_id, CART)
    assert caught.value.global_position == 4


async def test_skip_parks_the_row_goes_on_and_replays_once_fixed(
    real_backend: Backend, poison: Poison
) -> None:
    log = await poisoned_log(real_backend, poison)
    scores = Scores()
    runner = ProjectionRunner.from_backend(scores, real_backend, retry=RetryPolicy(max_attempts=3))
    assert await runner.catch_up() == 6
    assert [s for s, _ in scores.seen] == [1.0, 2.0, 3.0, 5.0, 6.0, 7.0]
    assert await real_backend.checkpoints.get_position(scores.name) == log.total
    stats = runner.stats()
    assert stats.events_parked == 1 and stats.retries == 0  # decoding is not retried
    [entry] = await real_backend.dlq.get_failed_events(scores.name)
    assert entry.event_id == log.row.event_id and entry.event_type == poison.event_type
    assert entry.error_type == "EventDecodeError" and "global position 4" in entry.error_message
    assert entry.retry_count == 1
    parked = UndecodableEvent.from_event_data(entry.event_data)
    assert parked is not None
    assert (parked.global_position, parked.stream_id, parked.stream_position) == (
        4,
        log.stream_id,
        4,
    )
    assert parked.raw_payload == log.row.payload
    with pytest.raises(InvalidEventError):  # the wrapper is never mistaken for an event
        real_backend.events.event_registry.decode_dict(dict(entry.event_data))

    still = await runner.replay(entry.id)
    assert not still.ok and isinstance(still.error, EventDecodeError)
    again = await real_backend.dlq.get_failed_event_by_id(entry.id)
    assert again is not None and again.status is DLQStatus.FAILED and again.retry_count == 2
    assert len(scores.seen) == 6

    await poison.fix(real_backend, real_backend.events.event_registry, log.row)
    result = await runner.replay(entry.id, resolution="fixed the class")
    assert result.ok, result.error
    assert scores.seen[-1] == (poison.fixed_score, log.row.event_id)
    resolved = await real_backend.dlq.get_failed_event_by_id(entry.id)
    assert resolved is not None and resolved.status is DLQStatus.RESOLVED


async def test_stop_stops_at_the_row_and_resumes_there_once_fixed(
    real_backend: Backend, poison: Poison
) -> None:
    log = await poisoned_log(real_backend, poison)
    scores = Scores()
    policy = RetryPolicy(max_attempts=3, on_failure=FailureMode.STOP)
    runner = ProjectionRunner.from_backend(scores, real_backend, retry=policy)
    with pytest.raises(ProjectionStoppedError) as caught:
        await runner.catch_up()
    assert caught.value.global_position == 4 and caught.value.event_id == log.row.event_id
    cause = caught.value.__cause__
    assert isinstance(cause, EventDecodeError) and cause.global_position == 4
    assert [s for s, _ in scores.seen] == [1.0, 2.0, 3.0]
    assert await real_backend.checkpoints.get_position(scores.name) == 3
    assert runner.stats().state.value == "failed"
    assert await real_backend.dlq.get_failed_events(scores.name) == []

    await poison.fix(real_backend, real_backend.events.event_registry, log.row)
    assert await runner.catch_up() == 4
    assert [s for s, _ in scores.seen] == [1.0, 2.0, 3.0, poison.fixed_score, 5.0, 6.0, 7.0]


async def test_a_live_runner_parks_a_row_that_arrives_while_it_follows(
    real_backend: Backend,
) -> None:
    scores = Scores()
    runner = ProjectionRunner.from_backend(scores, real_backend, retry=RetryPolicy.no_retry())
    runner.start()
    try:
        aid = uuid4()
        await _scores(real_backend, aid, [1.0], 0)
        assert await runner.wait_for_position(1, timeout=10)
        event_id = uuid4()
        payload = _document(aid, event_id, score=None)
        row = RawEventRow(aid, CART, 2, RtScored.default_event_type(), 1, payload, event_id)
        assert await write_raw_event(real_backend, row) == 2
        await _scores(real_backend, aid, [3.0], 2)
        assert await runner.wait_for_position(3, timeout=10)
    finally:
        await runner.stop()
    assert [s for s, _ in scores.seen] == [1.0, 3.0]
    [entry] = await real_backend.dlq.get_failed_events(scores.name)
    assert entry.event_id == event_id
    assert await real_backend.checkpoints.get_position(scores.name) == 3


class Tracked:
    """A position-tracking projection with ``store_position`` (exactly-once hook)."""

    name = "rttest.TrackedScores"
    event_types = (RtScored.default_event_type(),)

    def __init__(self) -> None:
        self.position = 0
        self.seen: list[float | None] = []

    async def load_position(self) -> int:
        return self.position

    async def handle_at(self, event: DomainEvent, global_position: int | None) -> None:
        self.seen.append(getattr(event, "score", None))
        if global_position is not None:
            self.position = global_position

    async def handle(self, event: DomainEvent) -> None:
        await self.handle_at(event, None)

    async def store_position(self, global_position: int) -> None:
        self.position = global_position


async def test_a_position_tracking_projection_moves_past_a_parked_row(
    real_backend: Backend,
) -> None:
    null_score = next(p for p in POISONS if p.name == "null-for-float")
    await poisoned_log(real_backend, null_score)
    tracked = Tracked()
    await ProjectionRunner.from_backend(tracked, real_backend).catch_up()
    assert tracked.seen == [1.0, 2.0, 3.0, 5.0, 6.0, 7.0]
    assert tracked.position == 7
    assert len(await real_backend.dlq.get_failed_events(tracked.name)) == 1
    assert await real_backend.checkpoints.get_position(tracked.name) is None
    # a restart reads nothing again: the position is past the parked row
    assert await ProjectionRunner.from_backend(tracked, real_backend).catch_up() == 0


def test_the_cli_shows_a_parked_undecodable_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``eventsource dlq list`` / ``show`` on a SQLite file: the entry is undecodable, with its
    global position, stream and stored text (truncated in the list, in full in show)."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    null_score = next(p for p in POISONS if p.name == "null-for-float")

    async def park() -> Log:
        async with open_backend(url) as backend:
            backend.events.event_registry = EventRegistry([RtScored])
            log = await poisoned_log(backend, null_score)
            runner = ProjectionRunner.from_backend(Scores(), backend)
            await runner.catch_up()
            return log

    log = asyncio.run(park())
    assert main(["--url", url, "dlq", "list"]) == 0
    out = capsys.readouterr().out
    header, line = out.splitlines()
    assert header.split()[:7] == ["ID", "PROJECTION", "KIND", "EVENT", "TYPE", "EVENT", "ID"]
    assert "undecodable" in line and log.stream_id in line and "SerializationError" in line
    assert '{"event_id": ' in line and log.row.payload not in line  # truncated
    assert line.split()[5] == "4"  # the POSITION column

    assert main(["--url", url, "dlq", "show", "1"]) == 0
    out = capsys.readouterr().out
    assert "kind:" in out and "undecodable" in out
    assert "global position: 4" in out and f"stream:          {log.stream_id}" in out
    assert "raw payload (as stored):\n" + log.row.payload + "\n" in out
    assert main(["--url", url, "--json", "dlq", "show", "1"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["kind"] == "undecodable"
    assert shown["event_data"]["$undecodable"]["raw_payload"] == log.row.payload


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param('{"n": ' + "9" * 5000 + "}", id="int-too-long-to-parse"),
        pytest.param("[1, 2]", id="not-an-object"),
        pytest.param(b'{"n": "\xff"}', id="not-utf8"),
    ],
)
async def test_an_undecodable_outbox_entry_is_marked_failed_not_handed_out(
    real_backend: Backend, payload: str | bytes
) -> None:
    """An outbox row whose payload cannot be decoded (written around the library) does not
    stop the others: the claim hands out the rest and marks it failed with the reason;
    reading it by id is a typed error."""
    outbox = real_backend.outbox
    aid = uuid4()
    ids = [
        await outbox.add_event(RtScored(aggregate_id=aid, aggregate_type=CART, score=n))
        for n in (1.0, 2.0, 3.0)
    ]
    if isinstance(payload, bytes) and real_backend.name != "sqlite":
        pytest.skip("only SQLite's TEXT column holds bytes that are not UTF-8")
    await rewrite_outbox_payload(real_backend, ids[1], payload)
    claimed = await outbox.get_pending_events(limit=10)
    assert [entry.id for entry in claimed] == [ids[0], ids[2]]
    assert [entry.event_data["score"] for entry in claimed] == [1.0, 3.0]
    stats = await outbox.get_stats()
    assert (stats.pending_count, stats.failed_count) == (2, 1)
    with pytest.raises(SerializationError, match=str(ids[1])):
        await outbox.get_entry(ids[1])
    assert await outbox.get_pending_events(limit=10) == []  # the others are still claimed


#: Stored event types that are no valid identifier (or barely one), as SQL can write them.
ODD_TYPES = {
    "spaces": "rttest with spaces\tand a tab",
    "empty": "",
    "5000-chars": "rttest." + "x" * 4993,
    "nul": "rttest.\x00Nul",  # SQLite only: PostgreSQL's text type refuses NUL
}


@pytest.fixture(params=list(ODD_TYPES), ids=list(ODD_TYPES))
def odd_type(request: pytest.FixtureRequest, real_backend: Backend) -> str:
    if request.param == "nul" and real_backend.name == "postgresql":
        pytest.skip("PostgreSQL's text columns cannot hold NUL")
    return ODD_TYPES[request.param]


async def _odd_log(backend: Backend, event_type: str) -> RawEventRow:
    """Scores 1, 2, 3, a row stored as ``event_type`` at global position 4, scores 5, 6."""
    aid, event_id = uuid4(), uuid4()
    await _scores(backend, aid, [1.0, 2.0, 3.0], 0)
    payload = _document(aid, event_id, event_type=event_type)
    row = RawEventRow(aid, CART, 4, event_type, 1, payload, event_id)
    assert await write_raw_event(backend, row) == 4
    await _scores(backend, uuid4(), [5.0, 6.0], 0)
    return row


def _every_event(seen: list[float | None]) -> Any:
    async def handler(event: Any) -> None:
        seen.append(getattr(event, "score", None))

    return projection("rttest.EveryEvent", handler)  # no event_types: it meets every row


async def test_skip_parks_a_row_whose_type_is_no_identifier(
    real_backend: Backend, odd_type: str
) -> None:
    row = await _odd_log(real_backend, odd_type)
    seen: list[float | None] = []
    every = _every_event(seen)
    runner = ProjectionRunner.from_backend(every, real_backend, retry=RetryPolicy.no_retry())
    assert await runner.catch_up() == 5
    assert seen == [1.0, 2.0, 3.0, 5.0, 6.0]
    assert await real_backend.checkpoints.get_position(every.name) == 6
    [entry] = await real_backend.dlq.get_failed_events(every.name)
    parked = UndecodableEvent.from_event_data(entry.event_data)
    assert parked is not None and parked.event_type == odd_type  # the stored type, as stored
    assert parked.raw_payload == row.payload
    assert entry.event_id == row.event_id and entry.event_type == parked.dlq_event_type
    assert check_identifier(entry.event_type, "event_type") == entry.event_type
    if odd_type == ODD_TYPES["spaces"]:
        assert entry.event_type == odd_type  # a valid identifier is kept as it is
    else:
        assert entry.event_type != odd_type
    assert entry.error_type == "EventDecodeError" and "global position 4" in entry.error_message

    # replay fails as undecodable and leaves it parked, one more retry counted
    failed = await runner.replay(entry.id)
    assert not failed.ok and isinstance(failed.error, EventDecodeError)
    again = await real_backend.dlq.get_failed_event_by_id(entry.id)
    assert again is not None and again.status is DLQStatus.FAILED and again.retry_count == 2
    assert again.event_type == entry.event_type and again.event_data == entry.event_data


async def test_stop_stops_at_a_row_whose_type_is_no_identifier(
    real_backend: Backend, odd_type: str
) -> None:
    row = await _odd_log(real_backend, odd_type)
    seen: list[float | None] = []
    every = _every_event(seen)
    stop = RetryPolicy(on_failure=FailureMode.STOP)
    runner = ProjectionRunner.from_backend(every, real_backend, retry=stop)
    with pytest.raises(ProjectionStoppedError) as caught:
        await runner.catch_up()
    assert caught.value.global_position == 4 and caught.value.event_id == row.event_id
    cause = caught.value.__cause__
    assert isinstance(cause, EventDecodeError) and cause.event_type == odd_type
    assert seen == [1.0, 2.0, 3.0]
    assert await real_backend.checkpoints.get_position(every.name) == 3
    assert await real_backend.dlq.get_failed_events(every.name) == []
