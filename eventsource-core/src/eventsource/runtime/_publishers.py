"""Outbox publishers, chosen by name: the built-ins and plugins' ``eventsource_publishers`` hook.

A publisher is an async callable ``publish(entry)`` that raises when the entry was not
published. Plugins contribute named factories::

    from eventsource.spi import PublisherSpec, hookimpl

    @hookimpl
    def eventsource_publishers():
        return [PublisherSpec(name="sqs", factory=lambda **options: SqsPublisher(**options))]

declared in the ``eventsource.publishers`` entry-point group (or registered with
``get_registry().register(module)``); the registry loads them as it loads backends.
"""

from __future__ import annotations

from typing import Any

from .._exceptions import UnknownPublisherError
from ..plugins._manager import BackendRegistry, get_registry
from ..plugins._publishers import PLUGIN_NAME, log_publisher, null_publisher
from ..plugins._specs import Publisher, PublisherSpec

__all__ = [
    "BUILTIN_PLUGIN_NAME",
    "Publisher",
    "PublisherSpec",
    "available_publishers",
    "get_publisher",
    "log_publisher",
    "null_publisher",
]

#: The name the built-in publishers are registered under.
BUILTIN_PLUGIN_NAME = PLUGIN_NAME


def available_publishers(registry: BackendRegistry | None = None) -> list[str]:
    """Names of every publisher available (built-in and from plugins), sorted."""
    return sorted((registry or get_registry()).publisher_specs())


def get_publisher(
    name: str, *, registry: BackendRegistry | None = None, **options: Any
) -> Publisher:
    """The publisher called ``name``, built with ``options``.

    Raises :class:`UnknownPublisherError` naming what is installed, and
    :class:`PluginConflictError` when two plugins claim the name.
    """
    found = (registry or get_registry()).publisher_specs()
    spec = found.get(name)
    if spec is None:
        raise UnknownPublisherError(name, sorted(found))
    return spec.factory(**options)
