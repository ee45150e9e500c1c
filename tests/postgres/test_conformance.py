"""The PostgreSQL backend, certified by the conformance kit with 8 concurrent connections.

Each call of the opener gives a new backend with its own pool on the test's fresh schema.
"""

from __future__ import annotations

import pytest

from eventsource import open_backend
from raw_events import write_raw_event

from .conftest import with_options

testing = pytest.importorskip("eventsource.testing")


class TestPostgresConformance(testing.BackendConformance):  # type: ignore[misc,name-defined]
    """Every kit test against ``postgresql://...?schema=<fresh>``."""

    concurrency = 8

    @pytest.fixture
    def backend_opener(self, pg_url_with_fresh_schema: str) -> testing.BackendOpener:  # type: ignore[name-defined]
        url = pg_url_with_fresh_schema.replace("pool_max=4", "pool_max=2")
        return lambda: open_backend(url)

    @pytest.fixture
    def raw_event_writer(self) -> testing.RawEventWriter:  # type: ignore[name-defined]
        return write_raw_event

    @pytest.fixture
    def missing_store_opener(self, pg_server: str, unused_schema: str) -> testing.BackendOpener:  # type: ignore[name-defined]
        url = with_options(pg_server, schema=unused_schema, pool_min=1, pool_max=2)
        return lambda: open_backend(url)
