"""Publishers by name: built-ins, plugins through the ``eventsource_publishers`` hook.

Plugins found through the ``eventsource.publishers`` entry-point group are tested in
tests/core/test_plugins.py.
"""

from __future__ import annotations

from types import SimpleNamespace
from uuid import uuid4

import pytest

from eventsource import PluginConflictError
from eventsource.memory import plugin as memory_plugin
from eventsource.repositories import OutboxEntry
from eventsource.runtime import (
    Publisher,
    PublisherSpec,
    UnknownPublisherError,
    available_publishers,
    get_publisher,
    null_publisher,
)
from eventsource.spi import BackendRegistry, hookimpl


def fresh_registry() -> BackendRegistry:
    registry = BackendRegistry(load_entry_points=False)
    registry.register(memory_plugin, name="memory")
    return registry


def plugin_with(name: str, publisher: Publisher) -> object:
    class Plugin:
        @hookimpl
        def eventsource_publishers(self) -> list[PublisherSpec]:
            return [PublisherSpec(name, lambda **options: publisher, "test publisher")]

    return Plugin()


def test_builtins_are_available() -> None:
    registry = fresh_registry()
    assert available_publishers(registry) == ["log", "null"]
    assert get_publisher("null", registry=registry) is null_publisher
    assert available_publishers() == sorted(available_publishers())  # the global registry


async def test_a_plugin_publisher_is_found_by_name() -> None:
    received: list[OutboxEntry] = []

    async def collect(entry: OutboxEntry) -> None:
        received.append(entry)

    registry = fresh_registry()
    registry.register(plugin_with("collect", collect), name="collector-plugin")
    assert "collect" in available_publishers(registry)
    publish = get_publisher("collect", registry=registry)
    entry = SimpleNamespace(id=uuid4())
    await publish(entry)  # type: ignore[arg-type]
    assert received == [entry]


def test_the_publisher_hook_and_builtins_are_registered_up_front() -> None:
    """The registry owns the publisher role from the start: its hookspec and the built-in
    plugin are there before any lookup, and a lookup registers nothing."""
    registry = BackendRegistry(load_entry_points=False)
    assert registry.plugin_manager.hook.eventsource_publishers.has_spec()
    before = registry.plugin_manager.list_name_plugin()
    assert [name for name, _ in before] == ["eventsource.runtime.publishers"]
    assert available_publishers(registry) == ["log", "null"]
    assert registry.plugin_manager.list_name_plugin() == before
    assert registry.backend_names() == []  # a publisher plugin is no backend


def test_the_old_publisher_marker_still_works_with_a_deprecation_warning() -> None:
    """``eventsource.runtime.publisher_hookimpl`` (docs of 0.1) is ``hookimpl``, for one
    more release."""
    import eventsource.runtime as runtime

    with pytest.warns(DeprecationWarning, match="eventsource.spi.hookimpl"):
        old = runtime.publisher_hookimpl
    assert old is hookimpl
    with pytest.warns(DeprecationWarning, match="publisher_hookspec"):
        assert runtime.publisher_hookspec is not None
    assert "publisher_hookimpl" not in runtime.__all__
    with pytest.raises(AttributeError):
        runtime.no_such_name  # noqa: B018

    class OldStyle:
        @old
        def eventsource_publishers(self) -> list[PublisherSpec]:
            return [PublisherSpec("old", lambda **_: null_publisher)]

    registry = fresh_registry()
    registry.register(OldStyle(), name="old-style")
    assert get_publisher("old", registry=registry) is null_publisher


def test_unknown_name_lists_what_is_installed() -> None:
    with pytest.raises(UnknownPublisherError, match=r"'kafka'; installed: log, null") as caught:
        get_publisher("kafka", registry=fresh_registry())
    assert caught.value.installed == ["log", "null"]


def test_two_plugins_claiming_one_name_conflict() -> None:
    registry = fresh_registry()
    registry.register(plugin_with("dup", null_publisher), name="first-plugin")
    registry.register(plugin_with("dup", null_publisher), name="second-plugin")
    with pytest.raises(
        PluginConflictError, match=r"first-plugin.*second-plugin|second-plugin.*first-plugin"
    ):
        get_publisher("dup", registry=registry)


def test_a_broken_publisher_plugin_is_reported_and_the_others_still_work() -> None:
    """A plugin whose eventsource_publishers raises, or returns something other than
    PublisherSpecs, is recorded in ``registry.broken`` and skipped, as broken backend plugins
    are; the built-in and other plugins' publishers are still found."""

    class Raises:
        @hookimpl
        def eventsource_publishers(self) -> list[PublisherSpec]:
            raise LookupError("broker client missing")

    class Junk:
        @hookimpl
        def eventsource_publishers(self) -> list[object]:
            return ["kafka"]

    registry = fresh_registry()
    registry.register(Raises(), name="raising-plugin")
    registry.register(Junk(), name="junk-plugin")
    registry.register(plugin_with("ok", null_publisher), name="ok-plugin")
    assert available_publishers(registry) == ["log", "null", "ok"]
    assert get_publisher("null", registry=registry) is null_publisher
    broken = {b.name: b.error for b in registry.broken}
    assert broken["raising-plugin"] == (
        "eventsource_publishers: LookupError: broker client missing"
    )
    assert broken["junk-plugin"].startswith("eventsource_publishers: returned 'kafka'")
