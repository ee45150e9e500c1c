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

An event store alone (or any subset of the four roles) is certified the same way, with
``event_store_opener`` (a callable giving a new, unconnected EventStore on the same storage)
instead of ``backend_opener``, and any of ``checkpoints_factory``, ``outbox_factory``,
``dlq_factory``; tests of a role not under test are skipped, naming the fixture to add::

    class TestMyEventStore(EventStoreConformance):
        @pytest.fixture
        def event_store_opener(self, tmp_path):
            return lambda: MyEventStore(tmp_path / "events.jsonl")

Tests of undecodable rows in the log also need a ``raw_event_writer`` fixture (see
:data:`RawEventWriter`); without it they are skipped. The mixins can be used on their own;
:class:`BackendConformance` combines them all (races between writer *processes*,
:class:`ProcessConcurrencyConformance`, are kept apart: they take seconds). See
``docs/writing-a-backend.md``. :func:`certify` runs the whole kit against a backend URL
(``eventsource conformance URL``) and returns a :class:`CertificationReport`. Needs pytest and
pytest-asyncio (``eventsource-core[testing]``).
"""

from ._arguments import ArgumentConformance
from ._bad_input import BadInputConformance
from ._base import BackendOpener, ConformanceBase
from ._certify import certify
from ._certify_report import CertificationReport, KitFailure, KitSkip, KitTest
from ._checkpoints import CheckpointConformance
from ._concurrency import ConcurrencyConformance
from ._conformance import BackendConformance
from ._dlq import DLQConformance
from ._event_store import EventStoreConformance
from ._idempotency import IdempotentAppendConformance
from ._leases import LeaseConformance
from ._lifecycle import StreamLifecycleConformance
from ._opening import OpeningConformance
from ._outbox import OutboxConformance
from ._outbox_order import OutboxOrderConformance
from ._processes import ProcessConcurrencyConformance
from ._roles import (
    DEFAULT_READ_CAP,
    CheckpointsFactory,
    DLQFactory,
    EventStoreOpener,
    OutboxFactory,
    RoleBackend,
    RoleOpener,
    SnapshotsFactory,
)
from ._snapshots import SnapshotStoreConformance
from ._undecodable import RawEventRow, RawEventWriter, UndecodableEventConformance
from ._values import ValueDomainConformance

__all__ = [
    "DEFAULT_READ_CAP",
    "ArgumentConformance",
    "BackendConformance",
    "BackendOpener",
    "BadInputConformance",
    "CertificationReport",
    "CheckpointConformance",
    "CheckpointsFactory",
    "ConcurrencyConformance",
    "ConformanceBase",
    "DLQConformance",
    "DLQFactory",
    "EventStoreConformance",
    "EventStoreOpener",
    "IdempotentAppendConformance",
    "KitFailure",
    "KitSkip",
    "KitTest",
    "LeaseConformance",
    "OpeningConformance",
    "OutboxConformance",
    "OutboxFactory",
    "OutboxOrderConformance",
    "ProcessConcurrencyConformance",
    "RawEventRow",
    "RawEventWriter",
    "RoleBackend",
    "RoleOpener",
    "SnapshotStoreConformance",
    "SnapshotsFactory",
    "StreamLifecycleConformance",
    "UndecodableEventConformance",
    "ValueDomainConformance",
    "certify",
]
