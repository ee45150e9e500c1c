"""The built-in publisher plugin (``null`` and ``log``), which every registry registers."""

from __future__ import annotations

import logging

from ..repositories._entries import OutboxEntry
from ._hookspecs import hookimpl
from ._specs import Publisher, PublisherSpec

__all__ = ["PLUGIN_NAME", "eventsource_publishers", "log_publisher", "null_publisher"]

#: The name the built-in publishers are registered under.
PLUGIN_NAME = "eventsource.runtime.publishers"


async def null_publisher(entry: OutboxEntry) -> None:
    """Publishes nowhere: every entry counts as published."""


def log_publisher(
    logger: logging.Logger | str = "eventsource.outbox", level: int = logging.INFO
) -> Publisher:
    """A publisher that logs each entry (event type, ids) at ``level``."""
    target = logging.getLogger(logger) if isinstance(logger, str) else logger

    async def publish(entry: OutboxEntry) -> None:
        target.log(
            level,
            "outbox %s: %s %s (aggregate %s %s)",
            entry.id,
            entry.event_type,
            entry.event_id,
            entry.aggregate_type,
            entry.aggregate_id,
        )

    return publish


@hookimpl
def eventsource_publishers() -> list[PublisherSpec]:
    """The built-in publishers."""
    return [
        PublisherSpec("null", lambda **_: null_publisher, "drops every entry"),
        PublisherSpec("log", log_publisher, "logs every entry via logging"),
    ]
