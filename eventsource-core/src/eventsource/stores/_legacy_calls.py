"""eventsource-py 0.5.0's calls of an event store, accepted on every backend.

:class:`~eventsource.EventStore`'s ``__init_subclass__`` wraps each backend's own
``append_events`` and ``read_stream`` with these, so no backend, ours or a third party's,
has to know about them:

- ``append_events(..., events=[], ...)`` succeeds without writing: the stream's current
  version, ``events_written == 0``, no expected-version check (0.5.0 returned success too,
  though with ``new_version`` echoing the expected version, even -1);
- ``read_stream("<uuid>")`` without ``:<aggregate_type>`` reads that aggregate's stream (the
  type of its first event; an aggregate with no events reads nothing).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any
from uuid import UUID

from ..events import DomainEvent
from ._types import AppendResult, ReadOptions, StoredEvent

if TYPE_CHECKING:
    from ._contract import EventStore

__all__ = ["resolve_stream_id", "wrap_legacy_calls"]


def wrap_legacy_calls(cls: type[EventStore]) -> None:
    """Wrap ``cls``'s own ``append_events`` / ``read_stream`` (once)."""
    append = cls.__dict__.get("append_events")
    if append is not None and not getattr(append, "__legacy_wrapped__", False):
        cls.append_events = _wrap_append(append)  # type: ignore[method-assign]
    read = cls.__dict__.get("read_stream")
    if read is not None and not getattr(read, "__legacy_wrapped__", False):
        cls.read_stream = _wrap_read_stream(read)  # type: ignore[method-assign]


def _wrap_append(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    async def append_events(
        self: EventStore,
        aggregate_id: UUID,
        aggregate_type: str,
        events: Sequence[DomainEvent],
        expected_version: int,
        **kwargs: Any,
    ) -> AppendResult:
        if isinstance(events, list | tuple) and not events:
            from ._contract import prepare_append

            prepare_append(self, aggregate_id, aggregate_type, events, expected_version)
            version = await self.get_stream_version(aggregate_id, aggregate_type)
            return AppendResult(success=True, new_version=version, global_position=0)
        result: AppendResult = await func(
            self, aggregate_id, aggregate_type, events, expected_version, **kwargs
        )
        return result

    append_events.__legacy_wrapped__ = True  # type: ignore[attr-defined]
    return append_events


def _wrap_read_stream(func: Callable[..., AsyncIterator[StoredEvent]]) -> Callable[..., Any]:
    @functools.wraps(func)
    async def read_stream(
        self: EventStore, stream_id: str, options: ReadOptions | None = None
    ) -> AsyncIterator[StoredEvent]:
        stream_id = await resolve_stream_id(self, stream_id)
        async for stored in func(self, stream_id, options):
            yield stored

    read_stream.__legacy_wrapped__ = True  # type: ignore[attr-defined]
    return read_stream


async def resolve_stream_id(store: EventStore, stream_id: str) -> str:
    """``stream_id`` as is, or a plain ``"<uuid>"`` as ``"<uuid>:<its aggregate type>"``."""
    if isinstance(stream_id, str) and ":" not in stream_id:
        try:
            aggregate_id = UUID(stream_id)
        except ValueError:
            return stream_id  # the backend's parse_stream_id refuses it
        stream = await store.get_events(aggregate_id)
        if stream.events:
            return f"{aggregate_id}:{stream.events[0].aggregate_type}"
        return f"{aggregate_id}:Unknown"
    return stream_id
