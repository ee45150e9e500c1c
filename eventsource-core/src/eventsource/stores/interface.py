"""eventsource-py 0.5.0's ``eventsource.stores.interface``: the store contract and values."""

from ..compat._publisher import EventPublisher
from ._contract import EventStore
from ._types import (
    AppendResult,
    EventStream,
    ExpectedVersion,
    ReadDirection,
    ReadOptions,
    StoredEvent,
)

__all__ = [
    "AppendResult",
    "EventPublisher",
    "EventStore",
    "EventStream",
    "ExpectedVersion",
    "ReadDirection",
    "ReadOptions",
    "StoredEvent",
]
