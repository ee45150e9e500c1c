"""The repositories' doors: ids, durations, workers and type lists checked before any I/O.

Every backend calls these first, so a bad argument raises the same
:class:`InvalidArgumentError` naming it on every backend and changes nothing; the rules are
those of :mod:`eventsource.arguments`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from uuid import UUID

from .._exceptions import InvalidArgumentError
from ..arguments import check_duration, check_names, check_position, check_uuid
from ..values import check_identifier

__all__ = [
    "check_dlq_id",
    "check_event_types",
    "check_lease",
    "check_older_than",
    "check_outbox_id",
    "check_outbox_ids",
    "check_per_aggregate_order",
    "check_retry_after",
    "check_worker_id",
]


def check_dlq_id(dlq_id: object) -> int:
    """A DLQ entry id: an int from 1 to 2**63 - 1 (not its string, not a bool)."""
    return check_position(dlq_id, "dlq_id", minimum=1)


def check_outbox_id(outbox_id: object) -> UUID:
    """An outbox entry id: a UUID (not its string)."""
    return check_uuid(outbox_id, "outbox_id")


def check_outbox_ids(outbox_ids: object) -> list[UUID]:
    """``mark_published_many``'s ids: an iterable of UUIDs (not a single id or string)."""
    if isinstance(outbox_ids, str | bytes | UUID) or not isinstance(outbox_ids, Iterable):
        raise InvalidArgumentError(
            f"outbox_ids must be a list of UUIDs, got {type(outbox_ids).__name__}"
        )
    return [check_uuid(outbox_id, "an id in outbox_ids") for outbox_id in outbox_ids]


def check_worker_id(worker_id: object) -> str | None:
    """``get_pending_events``' worker id: None or ``""`` (the backend names the worker) or an
    identifier (it is stored with the claim)."""
    if worker_id is None or worker_id == "":
        return None
    return check_identifier(worker_id, "worker_id")


def check_per_aggregate_order(per_aggregate_order: object) -> bool:
    """``get_pending_events``' ordering switch: a bool (not 0/1 or a string)."""
    if not isinstance(per_aggregate_order, bool):
        raise InvalidArgumentError(
            f"per_aggregate_order must be a bool, got {type(per_aggregate_order).__name__}"
        )
    return per_aggregate_order


def check_lease(lease: object) -> timedelta:
    """A claim's lease: a timedelta from 0 to :data:`~eventsource.arguments.MAX_DURATION`."""
    return check_duration(lease, "lease")


def check_retry_after(retry_after: object) -> timedelta | None:
    """``release``'s delay: None or a timedelta from 0 to the longest duration."""
    return None if retry_after is None else check_duration(retry_after, "retry_after")


def check_older_than(older_than: object) -> timedelta:
    """A cleanup's age: a timedelta from 0 to :data:`~eventsource.arguments.MAX_DURATION`."""
    return check_duration(older_than, "older_than")


def check_event_types(event_types: object) -> tuple[str, ...] | None:
    """``get_lag_metrics``' event types: None (every type) or an iterable of names, not a
    single ``str``."""
    return None if event_types is None else check_names(event_types, "event_types")
