"""Writers in separate OS processes on one PostgreSQL schema: the kit's process races (8 writer
processes, a tailing reader that must see every position exactly once; one winner per expected
version), long enough to carry the ``slow`` marker (run in CI's own step)."""

from __future__ import annotations

import pytest

from eventsource import open_backend

testing = pytest.importorskip("eventsource.testing")

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


class TestPostgresProcesses(testing.ProcessConcurrencyConformance):  # type: ignore[misc,name-defined]
    """8 writer processes, each with its own small pool, on the test's fresh schema."""

    writer_processes = 8

    @pytest.fixture
    def backend_url(self, pg_url_with_fresh_schema: str) -> str:
        return pg_url_with_fresh_schema.replace("pool_max=4", "pool_max=2")

    @pytest.fixture
    def backend_opener(self, backend_url: str) -> testing.BackendOpener:  # type: ignore[name-defined]
        return lambda: open_backend(backend_url)
