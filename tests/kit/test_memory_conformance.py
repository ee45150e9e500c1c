"""The memory backend, certified by the conformance kit."""

from __future__ import annotations

from uuid import uuid4

import pytest

from eventsource import open_backend
from eventsource.testing import BackendConformance, BackendOpener


class TestMemoryBackend(BackendConformance):
    """Every kit test against ``memory://NAME`` (one fresh name per test)."""

    @pytest.fixture
    def backend_opener(self) -> BackendOpener:
        url = f"memory://kit-{uuid4().hex}"
        return lambda: open_backend(url)
