"""Migration across real backends: SQLite file -> PostgreSQL -> SQLite file, by URL.

The events are of a type this process never registered, as when an operator runs
``eventsource migrate``: they must arrive field for field, with ids, versions and order kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from eventsource import DomainEvent, EventRegistry, open_backend
from eventsource.events import serialize_event
from eventsource.migration import LenientEventRegistry, migrate_backend
from eventsource.spi import get_registry
from eventsource.stores._transfer import EventTransfer, RawEvent
from eventsource.testing._events import KitMeasured
from eventsource.testing._values import (
    PORTABLE_NUMBERS,
    PORTABLE_STRINGS,
    first_difference,
    nested,
)
from eventsource.values import MAX_IDENTIFIER_LENGTH, MAX_NESTING_DEPTH

PG_URL = (
    os.environ.get("EVENTSOURCE_TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/test"
)

pytestmark = pytest.mark.skipif(
    not {"sqlite", "postgresql"} <= set(get_registry().backend_names()),
    reason="needs the sqlite and postgresql backends installed",
)


class Unregistered(DomainEvent):
    """An application event class that the migrating process does not know."""

    __register__ = False
    event_type: str = "coretest.Unregistered"
    payload: dict[str, object] = {}
    note: str = ""


@pytest.fixture
async def pg_schema_url() -> AsyncIterator[str]:
    async with _pg_schema() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
async def target_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh SQLite file, then a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'target.db'}"
    else:
        async with _pg_schema() as url:
            yield url


@contextlib.asynccontextmanager
async def _pg_schema() -> AsyncIterator[str]:
    try:
        conn = await asyncio.wait_for(asyncpg.connect(PG_URL), 5)
    except Exception as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL unreachable at {PG_URL}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {exc}")
    await conn.close()
    schema = f"es_test_mig_{uuid.uuid4().hex[:10]}"
    yield f"{PG_URL}?schema={schema}&pool_max=2"
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


async def dump(url: str) -> list[tuple[object, ...]]:
    async with open_backend(url) as backend:
        backend.events.event_registry = LenientEventRegistry(EventRegistry())
        return [
            (
                s.event_id,
                s.stream_id,
                s.stream_position,
                json.loads(serialize_event(s.event)),
            )
            async for s in backend.events.read_all()
        ]


@pytest.mark.postgres
async def test_sqlite_to_postgres_to_sqlite(tmp_path: Path, pg_schema_url: str) -> None:
    first, last = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    streams = [uuid.uuid4() for _ in range(5)]
    async with open_backend(first) as backend:
        backend.events.event_registry = EventRegistry([Unregistered])
        for round_ in range(6):
            for n, aggregate_id in enumerate(streams):
                events = [
                    Unregistered(
                        aggregate_id=aggregate_id,
                        payload={"round": round_, "n": n, "text": "ünïcode ✓"},
                        note="x" * (n + 1),
                        metadata={"trace": [round_, n]},
                    )
                    for _ in range(1 + n % 2)
                ]
                await backend.events.append_events(aggregate_id, "Ledger", events, -1)
        seen = [s async for s in backend.events.read_all()]
        await backend.checkpoints.update_checkpoint(
            "ledger", seen[10].event_id, seen[10].event_type
        )

    original = await dump(first)
    assert len(original) == 6 * 7

    to_pg = await migrate_backend(first, pg_schema_url, batch_size=4)
    assert to_pg.events_copied == len(original) and to_pg.checkpoints_copied == 1
    assert await dump(pg_schema_url) == original

    back = await migrate_backend(pg_schema_url, last, batch_size=1000)
    assert back.events_copied == len(original)
    assert await dump(last) == original
    async with open_backend(last) as backend:
        assert await backend.checkpoints.get_checkpoint("ledger") == seen[10].event_id
        assert await backend.checkpoints.get_position("ledger") == 11

    again = await migrate_backend(first, pg_schema_url)
    assert (again.events_copied, again.events_skipped) == (0, len(original))


@pytest.mark.postgres
async def test_portable_hostile_values_migrate_exactly(tmp_path: Path, pg_schema_url: str) -> None:
    """Everything the source acknowledged migrates and reads back the same, to the sign of
    -0.0 and the last NUL: what one backend accepts, every backend accepts."""
    first, last = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    longest_type = "\U0001f600" * MAX_IDENTIFIER_LENGTH
    async with open_backend(first) as backend:
        for n, text in enumerate(PORTABLE_STRINGS):
            aid = uuid.uuid4()
            aggregate_type = longest_type if n % 2 else "Ledger\x7f\u2028"
            event = KitMeasured(
                aggregate_id=aid,
                aggregate_type=aggregate_type,
                label=text,
                values={"numbers": list(PORTABLE_NUMBERS), "deep": nested(MAX_NESTING_DEPTH - 3)},
                metadata={text[:40]: PORTABLE_NUMBERS[n % len(PORTABLE_NUMBERS)]},
            )
            await backend.events.append_events(aid, aggregate_type, [event], 0)
        original = [s async for s in backend.events.read_all()]

    await migrate_backend(first, pg_schema_url, batch_size=3)
    await migrate_backend(pg_schema_url, last)
    for url in (pg_schema_url, last):
        async with open_backend(url) as backend:
            copied = [s async for s in backend.events.read_all()]
        assert [s.event_id for s in copied] == [s.event_id for s in original]
        for before, after in zip(original, copied, strict=True):
            assert after.stream_id == before.stream_id
            difference = first_difference(before.event.model_dump(), after.event.model_dump())
            assert difference is None, f"{url}: {difference}"
            assert after.event.model_dump_json() == before.event.model_dump_json()


class Evolving(DomainEvent):
    """The class as the application declares it today: it dropped ``b``. Registered in the
    default registry, as a migrating process would have it."""

    event_type: str = "coretest.Evolving"
    a: int = 0


class EvolvingBefore(DomainEvent):
    """The class as it was when the events were written."""

    __register__ = False
    event_type: str = "coretest.Evolving"
    a: int = 0
    b: list[float] = []


@pytest.mark.postgres
async def test_fields_the_current_class_dropped_are_copied(
    tmp_path: Path, pg_schema_url: str
) -> None:
    """A migration copies what is stored, not what today's class reads: a field the
    registered class no longer declares arrives on both backends, text for text."""
    first = f"sqlite:///{tmp_path / 'a.db'}"
    aid = uuid.uuid4()
    written = [EvolvingBefore(aggregate_id=aid, a=n, b=[-0.0, 1.5e300, n]) for n in (1, 2)]
    async with open_backend(first) as backend:
        backend.events.event_registry = EventRegistry([EvolvingBefore])
        await backend.events.append_events(aid, "Ledger", written, 0)
        original = [s.event.model_dump_json() async for s in backend.events.read_all()]
    report = await migrate_backend(first, pg_schema_url, batch_size=1)
    assert report.events_copied == 2 and report.refused == ()
    last = f"sqlite:///{tmp_path / 'b.db'}"
    await migrate_backend(pg_schema_url, last)
    for url in (pg_schema_url, last):
        async with open_backend(url) as backend:
            backend.events.event_registry = EventRegistry([EvolvingBefore])
            copied = [s.event async for s in backend.events.read_all()]
        assert [e.model_dump_json() for e in copied] == original, url
        assert [e.b for e in copied] == [[-0.0, 1.5e300, 1.0], [-0.0, 1.5e300, 2.0]]  # type: ignore[attr-defined]


async def _legacy_source(url: str) -> dict[str, uuid.UUID]:
    """A SQLite store holding, besides good events, a row the target refuses (nesting the
    readers take but the writers refuse), a later event of its stream, and a row nobody can
    decode (not JSON): as an older release or a hand-written row could leave it."""
    from eventsource.testing import RawEventRow
    from raw_events import write_raw_event

    ids = {name: uuid.uuid4() for name in ("a", "b", "c")}

    def measured(aid: uuid.UUID, version: int, **fields: object) -> KitMeasured:
        return KitMeasured(aggregate_id=aid, aggregate_type="Ledger", **fields).with_position(
            version
        )

    async with open_backend(url) as backend:
        store = backend.events
        a, b, c = ids["a"], ids["b"], ids["c"]
        await store.append_events(a, "Ledger", [measured(a, 1), measured(a, 2)], 0)
        await store.append_events(b, "Ledger", [measured(b, 1)], 0)
        deep = measured(b, 2, values=nested(MAX_NESTING_DEPTH + 20))
        await write_raw_event(
            backend,
            RawEventRow(b, "Ledger", 2, "KitMeasured", 1, deep.model_dump_json(), deep.event_id),
        )
        later = measured(b, 3)
        await write_raw_event(
            backend,
            RawEventRow(b, "Ledger", 3, "KitMeasured", 1, later.model_dump_json(), later.event_id),
        )
        await write_raw_event(
            backend, RawEventRow(c, "Ledger", 1, "KitMeasured", 1, "{not json", uuid.uuid4())
        )
        await store.append_events(a, "Ledger", [measured(a, 3)], 2)
    return ids


@pytest.mark.postgres
async def test_refused_legacy_rows_stop_or_are_skipped_and_listed(
    tmp_path: Path, pg_schema_url: str
) -> None:
    """``on_refused="stop"`` stops at the first row the target refuses, with its typed error
    and the copy so far kept; ``"skip"`` copies everything else and lists the refused rows
    (and the later events of a refused row's stream) with their positions and reasons."""
    from eventsource import SerializationError

    first = f"sqlite:///{tmp_path / 'legacy.db'}"
    ids = await _legacy_source(first)
    with pytest.raises(SerializationError, match="nests"):
        await migrate_backend(first, pg_schema_url, batch_size=10, method="append")
    async with open_backend(pg_schema_url) as backend:
        # a1 and a2; b1 went in one atomic batch with the refused b2
        assert await backend.events.get_global_position() == 2

    report = await migrate_backend(
        first, pg_schema_url, batch_size=10, on_refused="skip", method="append"
    )
    assert report.verification is not None and not report.verification.ok
    assert (report.events_copied, report.events_skipped) == (2, 2)  # b1, a3 new; a1, a2 there
    assert [(r.global_position, r.stream_id) for r in report.refused] == [
        (4, f"{ids['b']}:Ledger"),
        (5, f"{ids['b']}:Ledger"),
        (6, f"{ids['c']}:Ledger"),
    ]
    reasons = [r.reason for r in report.refused]
    assert reasons[0].startswith("SerializationError") and "nests" in reasons[0]
    assert "follows refused event at position 4" in reasons[1]
    assert "cannot be decoded" in reasons[2] or "position 6" in reasons[2]
    assert report.to_dict()["refused"][0]["global_position"] == 4
    async with open_backend(pg_schema_url) as backend:
        copied = [s async for s in backend.events.read_all()]
    assert [(s.stream_id.split(":")[0], s.stream_position) for s in copied] == [
        (str(ids["a"]), 1),
        (str(ids["a"]), 2),
        (str(ids["b"]), 1),
        (str(ids["a"]), 3),
    ]


@pytest.mark.postgres
async def test_bulk_copies_rows_as_stored_and_refuses_only_what_is_not_json(
    tmp_path: Path, pg_schema_url: str
) -> None:
    """The bulk path copies rows as stored: the deeply nested row the append path refuses is
    a JSON object and goes across exactly; only the row that is not JSON is refused (stop:
    the copy so far kept; skip: listed, and the rest copied)."""
    from eventsource import InvalidEventError

    first = f"sqlite:///{tmp_path / 'legacy.db'}"
    ids = await _legacy_source(first)
    with pytest.raises(InvalidEventError, match="not a JSON object"):
        await migrate_backend(first, pg_schema_url, batch_size=4)
    async with open_backend(pg_schema_url) as backend:
        assert await backend.events.get_global_position() == 4  # the first batch, whole
    report = await migrate_backend(first, pg_schema_url, batch_size=2, on_refused="skip")
    assert [(r.global_position, r.stream_id) for r in report.refused] == [(6, f"{ids['c']}:Ledger")]
    assert report.method == "bulk"
    assert (report.events_copied, report.events_skipped) == (2, 4)  # b3 and a3
    assert report.verification is not None and not report.verification.ok
    async with open_backend(pg_schema_url) as backend:
        rows = await backend.events.export_rows(0, 100)  # type: ignore[attr-defined]
    assert [r.global_position for r in rows] == [1, 2, 3, 4, 5, 7]


async def test_cli_migrate_on_refused_skip_lists_what_was_not_copied(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``eventsource migrate --on-refused skip`` copies the rest, lists each refused event
    with its position, and exits 1; without it the command stops at the first (exit 1)."""
    from eventsource.cli import main

    first = f"sqlite:///{tmp_path / 'legacy.db'}"
    ids = await _legacy_source(first)
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    assert await asyncio.to_thread(main, ["migrate", "--from", first, "--to", target]) == 1
    capsys.readouterr()
    code = await asyncio.to_thread(
        main, ["migrate", "--from", first, "--to", target, "--on-refused", "skip"]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "1 event not copied:" in out
    assert f"position 6 ({ids['c']}:Ledger): InvalidEventError" in out
    async with open_backend(target) as backend:
        assert await backend.events.get_global_position() == 7


@pytest.mark.postgres
async def test_lifecycle_survives_memory_sqlite_postgres_sqlite(
    tmp_path: Path, pg_schema_url: str
) -> None:
    """Through every backend and back: a truncated, a soft- and a hard-deleted stream and a
    checkpoint arrive exactly (rows, positions, marks, checkpoint row), each hop verified."""
    from eventsource.memory import plugin as memory_plugin
    from eventsource.plugins import parse_url

    memory = f"memory://mig-{uuid.uuid4().hex}"
    keep = memory_plugin.store_from_url(parse_url(memory))
    cut, soft, hard = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with open_backend(memory) as backend:
        for aid in (cut, soft, hard):
            batch = [KitMeasured(aggregate_id=aid, aggregate_type="Ledger") for _ in range(4)]
            await backend.events.append_events(aid, "Ledger", batch, 0)
        await backend.events.truncate_stream(cut, "Ledger", before=4)
        await backend.events.delete_stream(soft, "Ledger")
        await backend.events.delete_stream(hard, "Ledger", hard=True)
        last = [s async for s in backend.events.read_all()][-1]
        await backend.checkpoints.update_checkpoint("p", last.event_id, last.event_type)

    async def state(url: str) -> tuple[object, ...]:
        async with open_backend(url) as backend:
            rows = await backend.events.export_rows(0, 1000)  # type: ignore[attr-defined]
            marks = await backend.events.export_marks()  # type: ignore[attr-defined]
            checkpoint = await backend.checkpoints.get_checkpoint_data("p")
        return (
            [(r.global_position, r.event_id, r.aggregate_version, r.deleted) for r in rows],
            [json.loads(r.payload) for r in rows],
            [(m.aggregate_id, m.hard) for m in marks],
            checkpoint,
        )

    hops = [
        memory,
        f"sqlite:///{tmp_path / 'a.db'}",
        pg_schema_url,
        f"sqlite:///{tmp_path / 'b.db'}",
    ]
    expected = await state(memory)
    for source, target in itertools.pairwise(hops):
        report = await migrate_backend(source, target, batch_size=2)
        assert report.method == "bulk" and report.events_copied == 8, (source, target)
        assert report.verification is not None and report.verification.ok
        assert await state(target) == expected, target
    async with open_backend(hops[-1]) as backend:
        assert await backend.events.get_stream_version(cut, "Ledger") == 4
        assert await backend.events.restore_stream(soft, "Ledger") == 4
    del keep


class RaceNoted(DomainEvent):
    """An event appended to the target while a bulk import runs."""

    __register__ = False
    event_type: str = "coretest.RaceNoted"
    n: int = 0


async def test_import_rows_racing_appends_keeps_every_acknowledged_event(target_url: str) -> None:
    """``import_rows`` on one connection while another appends to the same target: every
    acknowledged append is read back, positions stay gapless, and each import either wrote
    all of its rows or failed with a typed error and wrote none of them."""
    from dataclasses import replace

    from eventsource import EventSourceError

    url = target_url
    registry = EventRegistry()
    registry.register(RaceNoted)
    async with (
        open_backend("memory://race-source") as source,
        open_backend(url) as appender,
        open_backend(url) as importer,
    ):
        for store in (source.events, appender.events, importer.events):
            store.event_registry = registry
        target = importer.events
        assert isinstance(target, EventTransfer) and isinstance(source.events, EventTransfer)
        stream = uuid.uuid4()
        acknowledged: list[uuid.UUID] = []
        imported: list[uuid.UUID] = []
        refused: list[uuid.UUID] = []
        for round_ in range(12):
            aid = uuid.uuid4()
            batch = [RaceNoted(aggregate_id=aid, n=i) for i in range(5)]
            await source.events.append_events(aid, "Race", batch, 0)
            rows = [r for r in await source.events.export_rows(0, 10_000) if r.aggregate_id == aid]
            held = await target.transfer_position()
            rows = [replace(r, global_position=held + 1 + i) for i, r in enumerate(rows)]

            async def append_some(start: int) -> None:
                for i in range(3):
                    event = RaceNoted(aggregate_id=stream, n=start + i)
                    await appender.events.append_events(stream, "Race", [event], start + i)
                    acknowledged.append(event.event_id)

            async def import_once(rows: list[RawEvent] = rows) -> None:
                try:
                    assert await target.import_rows(rows) == len(rows)
                except EventSourceError:
                    refused.extend(r.event_id for r in rows)
                else:
                    imported.extend(r.event_id for r in rows)

            await asyncio.gather(append_some(3 * round_), import_once())
        stored = [(s.global_position, s.event.event_id) async for s in appender.events.read_all()]
        positions = [p for p, _ in stored]
        ids = {e for _, e in stored}
        assert positions == list(range(1, len(stored) + 1)), "a gap or a repeat in the log"
        assert set(acknowledged) <= ids, "an acknowledged append is missing"
        assert set(imported) <= ids, "an import that returned lost rows"
        assert not set(refused) & ids, "a refused import left rows behind"
        assert len(stored) == len(acknowledged) + len(imported)
        version = (await appender.events.get_events(stream, "Race")).version
        assert version == len(acknowledged) == 36
