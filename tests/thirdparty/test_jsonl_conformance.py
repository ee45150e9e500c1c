"""A third-party backend certified by the kit, role by role: the JSON-lines event store.

``eventsource_jsonl`` (beside this file) is written as an outside author would write it: it
imports core only from public modules, and it is registered through the registry's public
path (``get_registry().register``, what loading its ``eventsource.backends`` entry point
does). It provides one role, the event store, so it is certified with ``event_store_opener``
alone: the tests of the other roles are skipped, saying which fixture would bring them in.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import eventsource_jsonl
import pytest
from eventsource_jsonl import JsonlEventStore, plugin
from eventsource_jsonl._store import Row

from eventsource import StorageUnavailableError, StoreNotFoundError, open_backend
from eventsource.migration import same_store
from eventsource.spi import ConfigurationError, EventStoreSpec, get_registry, parse_url
from eventsource.testing import (
    ArgumentConformance,
    BadInputConformance,
    ConcurrencyConformance,
    EventStoreConformance,
    EventStoreOpener,
    IdempotentAppendConformance,
    OpeningConformance,
    RawEventRow,
    RawEventWriter,
    RoleBackend,
    UndecodableEventConformance,
    ValueDomainConformance,
)

ROOT = Path(__file__).parents[2]
PACKAGE = Path(eventsource_jsonl.__file__).parent


@pytest.fixture(autouse=True)
def jsonl_registered() -> Iterator[EventStoreSpec]:
    """The plugin registered in the process-wide registry for the test, then removed."""
    registry = get_registry()
    registry.register(plugin, name="eventsource-jsonl")
    try:
        yield registry.event_store_specs()["jsonl"]
    finally:
        registry.unregister("eventsource-jsonl")


def opener_for(url: str) -> EventStoreOpener:
    """New, unconnected stores on the file ``url`` names, built as the registry builds them."""
    spec = get_registry().event_store_specs()["jsonl"]
    parsed = parse_url(url)
    return lambda: spec.from_url(parsed)


async def write_raw(backend: RoleBackend, row: RawEventRow) -> int:
    """The kit's raw_event_writer: the row as a line, unchecked."""
    store = backend.events
    assert isinstance(store, JsonlEventStore)
    return store.write_row(
        Row(
            global_position=0,
            event_id=row.event_id,
            aggregate_id=row.aggregate_id,
            aggregate_type=row.aggregate_type,
            version=row.aggregate_version,
            event_type=row.event_type,
            event_version=row.event_version,
            tenant_id=row.tenant_id,
            occurred_at=row.occurred_at,
            stored_at=row.occurred_at,
            payload=row.payload,
        )
    )


class TestJsonlEventStore(
    EventStoreConformance,
    IdempotentAppendConformance,
    ConcurrencyConformance,
    BadInputConformance,
    ArgumentConformance,
    ValueDomainConformance,
    UndecodableEventConformance,
    OpeningConformance,
):
    """The event store's whole share of the contract, on a file per test."""

    capabilities = plugin.CAPABILITIES

    @pytest.fixture
    def event_store_opener(self, tmp_path: Path) -> EventStoreOpener:
        return opener_for(f"jsonl:///{tmp_path}/events.jsonl")

    @pytest.fixture
    def missing_store_opener(self, tmp_path: Path) -> EventStoreOpener:
        return opener_for(f"jsonl:///{tmp_path}/not-there-yet.jsonl")

    @pytest.fixture
    def raw_event_writer(self) -> RawEventWriter:
        return write_raw


def test_imports_only_public_modules() -> None:
    """The project's import check, run on the example as an author would run it."""
    check = ROOT / "scripts" / "check_imports.py"
    result = subprocess.run(
        [sys.executable, str(check), str(PACKAGE)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_url_maps_onto_a_path() -> None:
    """Three slashes then a relative path; four for an absolute one."""
    assert plugin.path_of(parse_url("jsonl:///data/x.jsonl")) == "data/x.jsonl"
    assert plugin.path_of(parse_url("jsonl:////data/x.jsonl")) == "/data/x.jsonl"
    with pytest.raises(ConfigurationError, match="no host"):
        plugin.path_of(parse_url("jsonl://data/x.jsonl"))


async def test_missing_directory_and_foreign_file(tmp_path: Path) -> None:
    """A directory that is not there is a StorageUnavailableError naming it; opening without
    create leaves a missing file missing and refuses a file that holds no store."""
    store = opener_for(f"jsonl:///{tmp_path}/no/such/dir/events.jsonl")()
    with pytest.raises(StorageUnavailableError, match="does not exist"):
        await store.open()
    missing = tmp_path / "missing.jsonl"
    with pytest.raises(StoreNotFoundError):
        await opener_for(f"jsonl:///{missing}")().open(create=False)
    assert not missing.exists()
    empty = tmp_path / "empty.jsonl"
    empty.touch()
    with pytest.raises(StoreNotFoundError, match="no header"):
        await opener_for(f"jsonl:///{empty}")().open(create=False)


def test_same_store_and_the_registry(tmp_path: Path) -> None:
    """migrate's "same store" check reaches the plugin's hook through the registry; a store of
    one role is not a whole backend, and open_backend says which roles it lacks."""
    assert same_store(
        parse_url(f"jsonl:///{tmp_path}/a.jsonl"), parse_url(f"jsonl:///{tmp_path}/./a.jsonl")
    )
    assert not same_store(
        parse_url(f"jsonl:///{tmp_path}/a.jsonl"), parse_url(f"jsonl:///{tmp_path}/b.jsonl")
    )
    with pytest.raises(ConfigurationError, match="does not provide: checkpoints, outbox, dlq"):
        open_backend(f"jsonl:///{tmp_path}/a.jsonl")
