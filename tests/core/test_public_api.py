"""The public surface: eventsource.__all__ is exactly what we mean, and the exception tree."""

from __future__ import annotations

import inspect
import re

import eventsource
from eventsource import _exceptions

INTENDED = {
    # models and aggregates
    "DomainEvent",
    "EventRegistry",
    "default_registry",
    "AggregateRoot",
    "AggregateRepository",
    # the event store contract and its values
    "EventStore",
    "AppendResult",
    "EventStream",
    "ExpectedVersion",
    "ReadDirection",
    "ReadOptions",
    "StoredEvent",
    "stream_id_for",
    # stream lifecycle
    "LIFECYCLE_AGGREGATE_TYPE",
    "RetentionPolicy",
    "StreamDeleted",
    "StreamRestored",
    "StreamTruncated",
    # event evolution
    "Upcaster",
    "upcaster",
    # the in-memory store
    "MemoryEventStore",
    "InMemoryEventStore",
    # snapshots (the 0.5.0 names and the strategies)
    "Snapshot",
    "SnapshotStore",
    "MemorySnapshotStore",
    "InMemorySnapshotStore",
    "SnapshotStrategy",
    "EveryNEvents",
    # configuration by name
    "Backend",
    "BackendURL",
    "open_backend",
    "parse_url",
    "__version__",
    # errors
    *_exceptions.__all__,
}


def test_all_is_exactly_the_intended_surface() -> None:
    assert set(eventsource.__all__) == INTENDED
    assert len(eventsource.__all__) == len(set(eventsource.__all__))


def test_every_public_name_exists_without_the_plugin_registry() -> None:
    # The package loads its names lazily: each one is listed by dir() and resolves on first
    # access (then stays in the module's namespace), with no backend plugin loaded for it.
    for name in eventsource.__all__:
        assert name in dir(eventsource), name
        value = getattr(eventsource, name)
        assert vars(eventsource)[name] is value, name


def test_public_objects_have_docstrings() -> None:
    for name in eventsource.__all__:
        obj = getattr(eventsource, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), name


def test_exceptions_all_is_every_exception_class_in_the_module() -> None:
    classes = {
        name
        for name, obj in vars(_exceptions).items()
        if inspect.isclass(obj)
        and issubclass(obj, BaseException)
        and obj.__module__ == _exceptions.__name__
    }
    assert classes == set(_exceptions.__all__)


def test_every_exception_derives_from_event_source_error() -> None:
    for name in _exceptions.__all__:
        assert issubclass(getattr(_exceptions, name), _exceptions.EventSourceError), name


def _drawn_tree() -> tuple[dict[str, str | None], dict[str, set[str]]]:
    """Parse the tree in the module docstring: each class's drawn parent and 'also' bases."""
    doc = _exceptions.__doc__ or ""
    parents: dict[str, str | None] = {}
    also: dict[str, set[str]] = {}
    stack: list[tuple[int, str]] = []
    for line in doc.splitlines():
        match = re.match(r"^(?P<indent>[\s│├└─]*)(?P<name>[A-Z]\w*Error)\b(?P<rest>.*)$", line)
        if not match:
            continue
        depth = len(match.group("indent"))
        name = match.group("name")
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[name] = stack[-1][1] if stack else None
        stack.append((depth, name))
        extra = re.search(r"\(also ([^)]*)\)", match.group("rest"))
        also[name] = {b.strip() for b in extra.group(1).split(",")} if extra else set()
    return parents, also


def test_the_tree_in_the_docstring_matches_the_hierarchy() -> None:
    parents, also = _drawn_tree()
    assert set(parents) == set(_exceptions.__all__), "every exception is drawn, once"
    for name, parent in parents.items():
        cls = getattr(_exceptions, name)
        bases = [b.__name__ for b in cls.__bases__]
        if parent is None:
            assert cls is _exceptions.EventSourceError
            continue
        assert bases[0] == parent, f"{name} is drawn under {parent}, but subclasses {bases}"
        assert set(bases[1:]) == also[name], f"{name}: drawn 'also' {also[name]} vs {bases[1:]}"
