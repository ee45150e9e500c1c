"""Fixtures for the core tests: a throwaway plugin registry and small event classes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from eventsource.spi import BackendRegistry, get_registry, reset_registry


@pytest.fixture
def restore_registry() -> Iterator[None]:
    """Put the process-wide plugin registry back as it was after the test."""
    previous = get_registry()
    try:
        yield
    finally:
        reset_registry(previous)


@pytest.fixture
def memory_only_registry(restore_registry: None) -> BackendRegistry:
    """A process-wide registry holding only the memory backend (sqlite/postgres 'uninstalled')."""
    from eventsource.memory import plugin

    registry = BackendRegistry(load_entry_points=False)
    registry.register(plugin, name="memory")
    reset_registry(registry)
    return registry
