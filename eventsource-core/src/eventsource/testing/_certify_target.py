"""The kit classes a certification run collects: every kit test, on scratch storage.

The run's generated test module subclasses these; their fixtures take the backend and its
fresh per-test storage from the run's target (see ``_certify_plugin``), not from an author.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from ..plugins._manager import BackendSpec
from ..plugins._specs import ScratchStorage
from ..plugins._url import parse_url
from ._certify_plugin import target_of
from ._conformance import BackendConformance
from ._processes import ProcessConcurrencyConformance
from ._roles import EventStoreOpener
from ._undecodable import RawEventWriter

__all__ = ["CertifiedBackend", "CertifiedProcesses"]


class _OnScratch:
    """Fixtures: the run's backend over a fresh :class:`ScratchStorage` per test."""

    @pytest_asyncio.fixture(loop_scope="function")
    async def scratch(self, request: pytest.FixtureRequest) -> AsyncIterator[ScratchStorage]:
        """Fresh storage for this test, removed after it."""
        target = target_of(request.config)
        async with target.scratch(target.url) as storage:
            yield storage

    @pytest.fixture
    def backend_spec(self, request: pytest.FixtureRequest, scratch: ScratchStorage) -> BackendSpec:
        """The backend's roles; its capabilities as the scratch storage says, when it says."""
        spec = target_of(request.config).spec
        if scratch.capabilities is None:
            return spec
        store = dataclasses.replace(spec.event_store, capabilities=scratch.capabilities)
        return dataclasses.replace(spec, event_store=store)

    @pytest.fixture
    def event_store_opener(
        self, scratch: ScratchStorage, backend_spec: BackendSpec
    ) -> EventStoreOpener:
        """New, unconnected stores on the scratch storage."""
        url = parse_url(scratch.url)
        return lambda: backend_spec.event_store.from_url(url)

    @pytest.fixture
    def missing_store_opener(
        self, scratch: ScratchStorage, backend_spec: BackendSpec
    ) -> EventStoreOpener | None:
        """Stores on storage that does not exist, when the scratch storage names one."""
        if scratch.missing_url is None:
            return None
        url = parse_url(scratch.missing_url)
        return lambda: backend_spec.event_store.from_url(url)

    @pytest.fixture
    def raw_event_writer(self, scratch: ScratchStorage) -> RawEventWriter:
        """The backend's raw row writer; the test skips without one."""
        if scratch.raw_event_writer is None:
            pytest.skip(
                "the backend's scratch_storage gives no raw_event_writer (it writes a row "
                "around append_events, to test undecodable rows)"
            )
        return scratch.raw_event_writer

    @pytest.fixture
    def backend_url(self, scratch: ScratchStorage, backend_spec: BackendSpec) -> str | None:
        """The scratch URL, for child processes (None, skipping, when the data does not
        outlive a process)."""
        persistent = backend_spec.event_store.capabilities.persistent
        return scratch.url if persistent else None


class CertifiedBackend(_OnScratch, BackendConformance):
    """Every kit test of :class:`BackendConformance` against the run's backend."""


class CertifiedProcesses(_OnScratch, ProcessConcurrencyConformance):
    """The races between writer processes against the run's backend (``processes=True``)."""
