"""``BackendConformance``: every kit class in one."""

from __future__ import annotations

from ._arguments import ArgumentConformance
from ._bad_input import BadInputConformance
from ._checkpoints import CheckpointConformance
from ._concurrency import ConcurrencyConformance
from ._dlq import DLQConformance
from ._event_store import EventStoreConformance
from ._idempotency import IdempotentAppendConformance
from ._leases import LeaseConformance
from ._lifecycle import StreamLifecycleConformance
from ._opening import OpeningConformance
from ._outbox import OutboxConformance
from ._outbox_order import OutboxOrderConformance
from ._shard_reads import ShardReadConformance
from ._snapshots import SnapshotStoreConformance
from ._transfer import BulkTransferConformance
from ._undecodable import UndecodableEventConformance
from ._values import ValueDomainConformance

__all__ = ["BackendConformance"]


class BackendConformance(
    EventStoreConformance,
    IdempotentAppendConformance,
    ConcurrencyConformance,
    CheckpointConformance,
    LeaseConformance,
    OutboxConformance,
    OutboxOrderConformance,
    DLQConformance,
    SnapshotStoreConformance,
    StreamLifecycleConformance,
    ShardReadConformance,
    BulkTransferConformance,
    BadInputConformance,
    ArgumentConformance,
    ValueDomainConformance,
    UndecodableEventConformance,
    OpeningConformance,
):
    """The whole contract: subclass it and provide the ``backend_opener`` fixture (and, for
    the tests of undecodable rows, the optional ``raw_event_writer`` fixture). A backend of
    fewer roles gives ``event_store_opener`` and the role factories it has instead."""
