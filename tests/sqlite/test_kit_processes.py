"""The kit's races between writer processes on one SQLite file (marked ``slow``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventsource import open_backend

testing = pytest.importorskip("eventsource.testing")

pytestmark = pytest.mark.slow


class TestSQLiteProcesses(testing.ProcessConcurrencyConformance):  # type: ignore[misc,name-defined]
    """8 writer processes on the test's file."""

    @pytest.fixture
    def backend_url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path}/kit.db"

    @pytest.fixture
    def backend_opener(self, backend_url: str) -> testing.BackendOpener:  # type: ignore[name-defined]
        return lambda: open_backend(backend_url)
