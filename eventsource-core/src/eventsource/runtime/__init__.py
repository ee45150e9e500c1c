"""The delivery runtime: projections fed from the event store, the DLQ with replay, and the
outbox relay.

- :class:`ProjectionRunner` / :class:`SubscriptionRunner` catch projections up from their
  checkpoints through ``read_all`` and then follow the store live. Delivery is at-least-once.
- :class:`RetryPolicy` and :class:`FailureMode` decide what happens to a failing event: retried
  with backoff, then parked in the DLQ ("skip") or the projection stops ("stop").
- :class:`DLQReplayer` replays parked events and resolves them; a stored event that cannot be
  decoded is parked as an :class:`UndecodableEvent` and replays once its class is fixed.
- :class:`OutboxRelay` publishes outbox entries through a publisher, by callable or by name
  (``eventsource_publishers`` plugin hook; built-ins ``log`` and ``null``).
"""

from ._dlq import DLQReplayer, EventSource, ReplayResult
from ._errors import ProjectionStoppedError, ReplayError, UnknownPublisherError
from ._metrics import ProjectionStats, RelayStats, RunnerState
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
    publisher_hookimpl,
    publisher_hookspec,
)
from ._relay import BatchResult, OutboxRelay
from ._retry import Backoff, FailureMode, RetryPolicy
from ._runner import ProgressCallback, ProjectionRunner, RebuildProgress
from ._subscription import SubscriptionRunner
from ._undecodable import UndecodableEvent

__all__ = [
    "Backoff",
    "BatchResult",
    "DLQReplayer",
    "EventHandler",
    "EventSource",
    "FailureMode",
    "FunctionProjection",
    "OutboxRelay",
    "PositionTrackingProjection",
    "ProgressCallback",
    "Projection",
    "ProjectionLike",
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
    "SubscriptionRunner",
    "UndecodableEvent",
    "UnknownPublisherError",
    "available_publishers",
    "get_publisher",
    "handles",
    "log_publisher",
    "null_publisher",
    "projection",
    "publisher_hookimpl",
    "publisher_hookspec",
]
