"""Checkpoint, outbox and DLQ contracts, their records, and in-memory implementations.

Backend repositories (``SQLiteCheckpointRepository``, ``PostgreSQLOutboxRepository``, ...)
resolve lazily through the plugin registry, so importing them names the pip command when
their backend is not installed.
"""

from typing import Any

from ._arguments import (
    check_dlq_id,
    check_event_types,
    check_lease,
    check_older_than,
    check_outbox_id,
    check_outbox_ids,
    check_retry_after,
    check_worker_id,
)
from ._checkpoint_positions import (
    MAX_POSITION,
    check_checkpoint_update,
    resolve_checkpoint_position,
)
from ._contracts import (
    DEFAULT_LEASE,
    CheckpointRepository,
    DLQRepository,
    OutboxRepository,
    check_dlq_status,
    check_limit,
    check_projection_name,
    hand_out_claims,
    load_stored_document,
    prepare_failed_event,
    storable_note,
)
from ._entries import (
    CheckpointData,
    DLQEntry,
    DLQStats,
    DLQStatus,
    ErrorDetails,
    LagMetrics,
    OutboxEntry,
    OutboxStats,
    OutboxStatus,
    ProjectionFailureCount,
)

__all__ = [
    "DEFAULT_LEASE",
    "MAX_POSITION",
    "CheckpointData",
    "CheckpointRepository",
    "DLQEntry",
    "DLQRepository",
    "DLQStats",
    "DLQStatus",
    "ErrorDetails",
    "LagMetrics",
    "MemoryCheckpointRepository",
    "MemoryDLQRepository",
    "MemoryOutboxRepository",
    "OutboxEntry",
    "OutboxRepository",
    "OutboxStats",
    "OutboxStatus",
    "ProjectionFailureCount",
    "check_checkpoint_update",
    "check_dlq_id",
    "check_dlq_status",
    "check_event_types",
    "check_lease",
    "check_limit",
    "check_older_than",
    "check_outbox_id",
    "check_outbox_ids",
    "check_projection_name",
    "check_retry_after",
    "check_worker_id",
    "hand_out_claims",
    "load_stored_document",
    "prepare_failed_event",
    "resolve_checkpoint_position",
    "storable_note",
]


_MEMORY = {"MemoryCheckpointRepository", "MemoryDLQRepository", "MemoryOutboxRepository"}


def __getattr__(name: str) -> Any:
    if name in _MEMORY:  # the memory backend imports this package: resolve on first use
        from ..memory import _repositories

        return getattr(_repositories, name)
    if name.startswith("__"):
        raise AttributeError(name)
    from ..plugins._manager import get_registry

    return get_registry().resolve_class(name)
