"""The conformance kit: pytest classes that certify an eventsource backend.

A backend author's whole test file::

    import pytest
    from eventsource import open_backend
    from eventsource.testing import BackendConformance

    class TestMyBackend(BackendConformance):
        @pytest.fixture
        def backend_opener(self, tmp_path):
            url = f"sqlite:///{tmp_path}/kit.db"
            return lambda: open_backend(url)  # each call: a NEW, unopened Backend, SAME storage

Tests of undecodable rows in the log also need a ``raw_event_writer`` fixture (see
:data:`RawEventWriter`); without it they are skipped. The mixins can be used on their own;
:class:`BackendConformance` combines them all (races between writer *processes*,
:class:`ProcessConcurrencyConformance`, are kept apart: they take seconds). See
``docs/writing-a-backend.md``. Needs pytest and pytest-asyncio (``eventsource-core[testing]``).
"""

from ._arguments import ArgumentConformance
from ._bad_input import BadInputConformance
from ._base import BackendOpener, ConformanceBase
from ._checkpoints import CheckpointConformance
from ._concurrency import ConcurrencyConformance
from ._conformance import BackendConformance
from ._dlq import DLQConformance
from ._event_store import EventStoreConformance
from ._idempotency import IdempotentAppendConformance
from ._leases import LeaseConformance
from ._opening import OpeningConformance
from ._outbox import OutboxConformance
from ._processes import ProcessConcurrencyConformance
from ._snapshots import SnapshotStoreConformance
from ._undecodable import RawEventRow, RawEventWriter, UndecodableEventConformance
from ._values import ValueDomainConformance

__all__ = [
    "ArgumentConformance",
    "BackendConformance",
    "BackendOpener",
    "BadInputConformance",
    "CheckpointConformance",
    "ConcurrencyConformance",
    "ConformanceBase",
    "DLQConformance",
    "EventStoreConformance",
    "IdempotentAppendConformance",
    "LeaseConformance",
    "OpeningConformance",
    "OutboxConformance",
    "ProcessConcurrencyConformance",
    "RawEventRow",
    "RawEventWriter",
    "SnapshotStoreConformance",
    "UndecodableEventConformance",
    "ValueDomainConformance",
]
