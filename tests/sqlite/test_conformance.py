"""The SQLite backend, certified by the conformance kit: on a file and on ``:memory:``."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventsource import open_backend
from eventsource.spi import Capabilities
from eventsource.testing import BackendConformance, BackendOpener, RawEventWriter
from raw_events import write_raw_event


class TestSQLiteFileConformance(BackendConformance):
    """Every kit test on a file database; the races open separate connections to it."""

    @pytest.fixture
    def backend_opener(self, tmp_path: Path) -> BackendOpener:
        url = f"sqlite:///{tmp_path}/kit.db"
        return lambda: open_backend(url)

    @pytest.fixture
    def raw_event_writer(self) -> RawEventWriter:
        return write_raw_event

    @pytest.fixture
    def missing_store_opener(self, tmp_path: Path) -> BackendOpener:
        url = f"sqlite:///{tmp_path}/not-there-yet.db"
        return lambda: open_backend(url)


class TestSQLiteMemoryConformance(BackendConformance):
    """Every kit test on ``:memory:``: one private database per connection, so the kit shares
    one opened backend among its racing tasks and skips what needs persistence."""

    capabilities = Capabilities(
        persistent=False,
        concurrent_connections=False,
        parallel_writers=False,
        transactional_outbox=True,
        live_notifications=False,
        projection_leases=True,
        outbox_aggregate_order=True,
        stream_lifecycle=True,
        shard_reads=True,
        bulk_transfer=True,
    )

    @pytest.fixture
    def backend_opener(self) -> BackendOpener:
        return lambda: open_backend("sqlite:///:memory:")

    @pytest.fixture
    def raw_event_writer(self) -> RawEventWriter:
        return write_raw_event  # on the store's own connection: the same private database
