"""Upcasters shipped by plugins (hook ``eventsource_upcasters``): registered into a registry
by ``register_plugin_upcasters``, applied on read by a real store; conflicts name both."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest

from eventsource import DomainEvent, EventRegistry, PluginConflictError, Upcaster, open_backend
from eventsource.spi import BackendRegistry, get_registry, hookimpl, reset_registry
from eventsource.upcasting import register_plugin_upcasters


class PlugOpened(DomainEvent):
    """Version 3: contact is a dict; version 1 had ``email``."""

    __register__ = False
    event_type: str = "plugtest.Opened"
    event_version: int = 3
    contact: dict[str, Any]


class PlugOpenedV1(DomainEvent):
    """The same type as written by an older release."""

    __register__ = False
    event_type: str = "plugtest.Opened"
    email: str


def _email_to_contact(data: dict[str, Any]) -> dict[str, Any]:
    data["contact"] = {"email": data.pop("email")}
    return data


def _add_phone(data: dict[str, Any]) -> dict[str, Any]:
    data["contact"].setdefault("phone", "none")
    return data


class _Plugin:
    @hookimpl
    def eventsource_upcasters(self) -> list[Upcaster]:
        return [
            Upcaster.of("plugtest.Opened", 2, _add_phone),
            Upcaster.of("plugtest.Opened", 1, _email_to_contact),
        ]


class _Rival:
    @hookimpl
    def eventsource_upcasters(self) -> list[Upcaster]:
        return [Upcaster.of("plugtest.Opened", 1, _add_phone)]


@pytest.fixture
def plugins() -> Iterator[BackendRegistry]:
    registry = BackendRegistry()  # the installed backends, and our plugin beside them
    registry.register(_Plugin(), name="plugtest")
    reset_registry(registry)
    try:
        yield registry
    finally:
        reset_registry(None)


async def test_plugin_upcasters_apply_on_read(plugins: BackendRegistry, tmp_path: Any) -> None:
    assert get_registry() is plugins
    events = EventRegistry([PlugOpened])
    steps = register_plugin_upcasters(events)
    assert [(s.event_type, s.from_version, s.to_version) for s in steps] == [
        ("plugtest.Opened", 1, 2),
        ("plugtest.Opened", 2, 3),
    ]
    assert register_plugin_upcasters(events) == steps  # again: nothing changes
    async with open_backend(f"sqlite:///{tmp_path}/plug.db") as backend:
        backend.events.event_registry = events
        aid = uuid4()
        old = PlugOpenedV1(aggregate_id=aid, email="a@example.org")
        await backend.events.append_events(aid, "Account", [old], 0)
        [read] = (await backend.events.get_events(aid, "Account")).events
    assert isinstance(read, PlugOpened) and read.event_version == 3
    assert read.contact == {"email": "a@example.org", "phone": "none"}


def test_two_plugins_with_one_step_conflict(plugins: BackendRegistry) -> None:
    plugins.register(_Rival(), name="rival")
    with pytest.raises(PluginConflictError, match=r"plugtest.*rival|rival.*plugtest"):
        register_plugin_upcasters(EventRegistry([PlugOpened]))
