"""eventsource-py 0.5.0's ``eventsource.sync``: the blocking event store adapter."""

from .compat._sync import SyncEventStoreAdapter

__all__ = ["SyncEventStoreAdapter"]
