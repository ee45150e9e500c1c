"""The kit's tests of undecodable rows can fail: run them (through pytester) on SQLite stores
broken on purpose, one decoding a whole read before yielding its first event, one letting the
decoder's own error out instead of EventDecodeError, and check that the right tests fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventsource.testing import UndecodableEventConformance

RAW_EVENTS = (Path(__file__).parents[1] / "raw_events.py").read_text()
KIT_TESTS = {n for n in dir(UndecodableEventConformance) if n.startswith("test_")}

#: For each store, the kit tests that must fail (the others must pass).
EXPECTED_FAILURES: dict[str, set[str]] = {
    "SQLiteEventStore": set(),
    "EagerStore": KIT_TESTS - {"test_get_events_raises_at_an_undecodable_event"},
    "UntypedStore": KIT_TESTS,
}

TOYS = '''
import dataclasses

import pytest
from raw_events import write_raw_event

from eventsource import EventDecodeError, parse_url
from eventsource.plugins import Backend
from eventsource.spi import get_registry
from eventsource.testing import UndecodableEventConformance
from eventsource_sqlite import SQLiteEventStore


class EagerStore(SQLiteEventStore):
    """Decodes everything a read returns before yielding the first event."""

    async def read_all(self, options=None):
        for stored in [s async for s in super().read_all(options)]:
            yield stored

    async def read_stream(self, stream_id, options=None):
        for stored in [s async for s in super().read_stream(stream_id, options)]:
            yield stored


class UntypedStore(SQLiteEventStore):
    """Lets the decoder's own error out, as calling registry.deserialize directly would."""

    async def read_all(self, options=None):
        try:
            async for stored in super().read_all(options):
                yield stored
        except EventDecodeError as exc:
            raise exc.__cause__ from None

    async def read_stream(self, stream_id, options=None):
        try:
            async for stored in super().read_stream(stream_id, options):
                yield stored
        except EventDecodeError as exc:
            raise exc.__cause__ from None

    async def get_events(self, *args, **kwargs):
        try:
            return await super().get_events(*args, **kwargs)
        except EventDecodeError as exc:
            raise exc.__cause__ from None

    async def get_events_by_type(self, *args, **kwargs):
        try:
            return await super().get_events_by_type(*args, **kwargs)
        except EventDecodeError as exc:
            raise exc.__cause__ from None


def opener(path, store_class):
    sqlite = get_registry().get_backend("sqlite")
    store = dataclasses.replace(
        sqlite.event_store, store_class=store_class, from_url=lambda url: store_class(url.database)
    )
    spec = dataclasses.replace(sqlite, event_store=store)
    url = parse_url(f"sqlite:///{path}/kit.db")
    return lambda: Backend(spec, url)
'''

KIT_CLASS = """
class Test_{name}(UndecodableEventConformance):
    @pytest.fixture
    def backend_opener(self, tmp_path):
        return opener(tmp_path, {name})

    @pytest.fixture
    def raw_event_writer(self):
        return write_raw_event
"""


def test_kit_fails_exactly_the_broken_decoding(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\n"
        "asyncio_mode = strict\n"
        "asyncio_default_fixture_loop_scope = function\n"
        "filterwarnings = error\n"
    )
    pytester.makepyfile(raw_events=RAW_EVENTS)
    classes = "".join(KIT_CLASS.format(name=name) for name in EXPECTED_FAILURES)
    pytester.makepyfile(test_toys=TOYS + classes)
    recorder = pytester.inline_run("-p", "no:cacheprovider")
    passed, skipped, failed = recorder.listoutcomes()
    assert not recorder.getfailedcollections() and not skipped
    outcomes: dict[str, set[str]] = {name: set() for name in EXPECTED_FAILURES}
    for report in failed:
        _, cls, test = report.nodeid.split("::")
        outcomes[cls.removeprefix("Test_")].add(test)
    for name, expected in EXPECTED_FAILURES.items():
        assert outcomes[name] == expected, f"{name}: failed {sorted(outcomes[name])}"
    assert len(passed) == 3 * len(KIT_TESTS) - sum(len(f) for f in EXPECTED_FAILURES.values())
