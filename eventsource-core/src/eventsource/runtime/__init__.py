"""The delivery runtime: projections fed from the event store, the DLQ with replay, and the
outbox relay.

- :class:`ProjectionRunner` / :class:`SubscriptionRunner` catch projections up from their
  checkpoints through ``read_all`` and then follow the store live. Delivery is at-least-once.
  Each projection has one owner across processes (:class:`Ownership`: a lease with a fencing
  token; other runners of it stand by and take over).
- :class:`ShardedRunner` splits a projection's streams over N shards (:func:`shard_of`, a
  CRC-32 of the stream id), each with its own checkpoint, lease and DLQ name, over workers
  in several processes that rebalance as they join and leave.
- :class:`RetryPolicy` and :class:`FailureMode` decide what happens to a failing event: retried
  with backoff, then parked in the DLQ ("skip") or the projection stops ("stop").
- :class:`DLQReplayer` replays parked events and resolves them; a stored event that cannot be
  decoded is parked as an :class:`UndecodableEvent` and replays once its class is fixed.
- :class:`OutboxRelay` publishes outbox entries through a publisher, by callable or by name
  (built-ins ``log`` and ``null``; plugins' ``eventsource_publishers`` hook, found through the
  ``eventsource.publishers`` entry-point group).
- :class:`BackgroundWorker` is the lifecycle the runner and the relay share (run or start,
  stop with a timeout, one run at a time); their waits run on an injectable
  :mod:`eventsource.clock`.
"""

import warnings
from typing import Any

from .._exceptions import (
    OwnershipLostError,
    ProjectionOwnedError,
    ProjectionStoppedError,
    ReplayError,
    UnknownPublisherError,
    WorkerBusyError,
)
from ._dlq import DLQReplayer, EventSource, ReplayResult
from ._metrics import ProjectionStats, RelayStats, RunnerState
from ._ownership import Ownership
from ._projection import (
    EventHandler,
    FunctionProjection,
    PositionTrackingProjection,
    Projection,
    ProjectionLike,
    handles,
    projection,
)
from ._publishers import (
    Publisher,
    PublisherSpec,
    available_publishers,
    get_publisher,
    log_publisher,
    null_publisher,
)
from ._relay import BatchResult, OutboxRelay
from ._retry import Backoff, FailureMode, RetryPolicy
from ._runner import ProgressCallback, ProjectionRunner, RebuildProgress
from ._shards import (
    Shard,
    ShardedRunner,
    current_shard,
    handling_shard,
    shard_of,
    stale_heartbeat,
)
from ._subscription import SubscriptionRunner
from ._undecodable import UndecodableEvent
from ._worker import BackgroundWorker

__all__ = [
    "BackgroundWorker",
    "Backoff",
    "BatchResult",
    "DLQReplayer",
    "EventHandler",
    "EventSource",
    "FailureMode",
    "FunctionProjection",
    "OutboxRelay",
    "Ownership",
    "OwnershipLostError",
    "PositionTrackingProjection",
    "ProgressCallback",
    "Projection",
    "ProjectionLike",
    "ProjectionOwnedError",
    "ProjectionRunner",
    "ProjectionStats",
    "ProjectionStoppedError",
    "Publisher",
    "PublisherSpec",
    "RebuildProgress",
    "RelayStats",
    "ReplayError",
    "ReplayResult",
    "RetryPolicy",
    "RunnerState",
    "Shard",
    "ShardedRunner",
    "SubscriptionRunner",
    "UndecodableEvent",
    "UnknownPublisherError",
    "WorkerBusyError",
    "available_publishers",
    "current_shard",
    "get_publisher",
    "handles",
    "handling_shard",
    "log_publisher",
    "null_publisher",
    "projection",
    "shard_of",
    "stale_heartbeat",
]

#: Names kept for one release: ``publisher_hookimpl`` / ``publisher_hookspec`` were second
#: names for :data:`eventsource.spi.hookimpl` / :data:`~eventsource.spi.hookspec`.
_DEPRECATED = {"publisher_hookimpl": "hookimpl", "publisher_hookspec": "hookspec"}


def __getattr__(name: str) -> Any:
    """``publisher_hookimpl`` and ``publisher_hookspec``, with a DeprecationWarning."""
    new = _DEPRECATED.get(name)
    if new is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"eventsource.runtime.{name} is deprecated; use eventsource.spi.{new} (the same "
        "marker) and declare publisher plugins in the 'eventsource.publishers' entry-point group",
        DeprecationWarning,
        stacklevel=2,
    )
    from .. import spi

    return getattr(spi, new)
