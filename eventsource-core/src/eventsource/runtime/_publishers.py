"""Outbox publishers, chosen by name: built-ins and plugins' ``eventsource_publishers`` hook.

A publisher is an async callable ``publish(entry)`` that raises when the entry was not
published. Plugins contribute named factories::

    from eventsource.runtime import PublisherSpec, publisher_hookimpl

    @publisher_hookimpl
    def eventsource_publishers():
        return [PublisherSpec(name="kafka", factory=lambda **options: KafkaPublisher(**options))]

and register like backend plugins (an ``eventsource.backends`` entry point, or
``get_registry().register(module)``). The hook spec joins the registry's plugin manager the
first time a publisher is looked up.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import pluggy

from ..plugins._hookspecs import PROJECT_NAME
from ..plugins._manager import BackendRegistry, get_registry
from ..repositories._entries import OutboxEntry
from ._errors import UnknownPublisherError

__all__ = [
    "BUILTIN_PLUGIN_NAME",
    "Publisher",
    "PublisherSpec",
    "available_publishers",
    "get_publisher",
    "log_publisher",
    "null_publisher",
    "publisher_hookimpl",
    "publisher_hookspec",
]

Publisher = Callable[[OutboxEntry], Awaitable[None]]

publisher_hookspec = pluggy.HookspecMarker(PROJECT_NAME)
publisher_hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

#: The name the built-in publishers are registered under.
BUILTIN_PLUGIN_NAME = "eventsource.runtime.publishers"

log = logging.getLogger("eventsource.runtime.publish")


@dataclass(frozen=True, slots=True)
class PublisherSpec:
    """A named publisher: ``factory(**options)`` returns the async ``publish(entry)``."""

    name: str
    factory: Callable[..., Publisher]
    description: str = ""


class _Hookspecs:
    """The publisher hook specification."""

    @publisher_hookspec
    def eventsource_publishers(self) -> Iterable[PublisherSpec]:  # type: ignore[empty-body]
        """Return the outbox publishers this plugin provides.

        Example::

            @publisher_hookimpl
            def eventsource_publishers():
                return [PublisherSpec(name="stdout", factory=lambda **o: print_publisher)]
        """


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


class _Builtins:
    @publisher_hookimpl
    def eventsource_publishers(self) -> list[PublisherSpec]:
        return [
            PublisherSpec("null", lambda **_: null_publisher, "drops every entry"),
            PublisherSpec("log", log_publisher, "logs every entry via logging"),
        ]


def _prepare(registry: BackendRegistry) -> pluggy.PluginManager:
    pm = registry.plugin_manager
    hook = getattr(pm.hook, "eventsource_publishers", None)
    if hook is None or not hook.has_spec():
        pm.add_hookspecs(_Hookspecs)
    if pm.get_plugin(BUILTIN_PLUGIN_NAME) is None:
        pm.register(_Builtins(), name=BUILTIN_PLUGIN_NAME)
    return pm


def _collect(registry: BackendRegistry) -> dict[str, tuple[PublisherSpec, str]]:
    _prepare(registry)
    return registry.collect_specs(
        "eventsource_publishers", PublisherSpec, lambda spec: (spec.name,), "publisher plugins for"
    )


def available_publishers(registry: BackendRegistry | None = None) -> list[str]:
    """Names of every publisher available (built-in and from plugins), sorted."""
    return sorted(_collect(registry or get_registry()))


def get_publisher(
    name: str, *, registry: BackendRegistry | None = None, **options: Any
) -> Publisher:
    """The publisher called ``name``, built with ``options``.

    Raises :class:`UnknownPublisherError` naming what is installed, and
    :class:`PluginConflictError` when two plugins claim the name.
    """
    found = _collect(registry or get_registry())
    entry = found.get(name)
    if entry is None:
        raise UnknownPublisherError(name, sorted(found))
    return entry[0].factory(**options)
