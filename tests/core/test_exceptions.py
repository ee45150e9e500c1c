"""One exception tree: every error class eventsource exports or defines is in
eventsource._exceptions (drawn in its docstring), save documented backend subclasses."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from types import ModuleType
from uuid import uuid4

import pytest

import eventsource
import eventsource.exceptions
import eventsource_postgres
import eventsource_sqlite
from eventsource import (
    EventSourceError,
    EventStoreError,
    InvalidArgumentError,
    InvalidEventError,
    ReadOptions,
    _exceptions,
    open_backend,
)
from eventsource.spi import check_dlq_status, check_limit

from ._model import CtItemAdded

PACKAGES = (eventsource, eventsource_sqlite, eventsource_postgres)

#: Exception classes defined outside the tree on purpose, and why.
NOT_ERRORS_OF_OURS = {
    # control-flow signals, raised and caught inside their module, never seen by a caller
    "eventsource.plugins._manager._NotASpec": "a hook's bad return value, recorded as broken",
    "eventsource.runtime._runner._Abandoned": "the runner stopping mid-event",
    "eventsource_postgres._store._Retry": "an append retried after a serialisation failure",
    "eventsource_postgres._store._NotInitialized": "an append that must create the schema",
    "eventsource_postgres._store._FlushFailed": "a deferred flush that failed, confirmed again",
    "eventsource_postgres._group_commit.RunAlone": "a group commit rerun append by append",
    "eventsource.pytest_plugin._Backstop": "SIGALRM stopping a kit test, made its failure",
    # the conformance kit's stand-ins for a user's failing projection handler: deliberately
    # not eventsource errors, as a user's would not be
    "eventsource.testing._dlq.KitProjectionError": "a handler's error the kit parks",
    "eventsource.testing._dlq._InFlightError": "a handler's error raised while another is",
    "eventsource.testing._dlq._StrRaises": "a handler's error whose str() raises",
    "eventsource.testing._dlq._StrNotText": "a handler's error whose str() is no string",
    "eventsource.testing._dlq._UnprintableError": "a handler's error that cannot be printed",
}


def _modules() -> list[ModuleType]:
    """Every module of the three distributions, imported."""
    found = []
    for package in PACKAGES:
        found.append(package)
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            found.append(importlib.import_module(info.name))
    return found


def _is_public(module: ModuleType) -> bool:
    return not any(part.startswith("_") for part in module.__name__.split("."))


def _documented_backend_subclasses() -> set[str]:
    """``package.ClassName`` of each backend subclass listed in the tree module's docstring."""
    doc = _exceptions.__doc__ or ""
    return set(re.findall(r"^- ``(eventsource_\w+\.\w+Error)``", doc, re.MULTILINE))


def _drawn_names() -> set[str]:
    doc = _exceptions.__doc__ or ""
    return set(re.findall(r"^[\s│├└─]*([A-Z]\w*Error)\b", doc, re.MULTILINE))


def _is_error(obj: object) -> bool:
    # warning categories (EventTypeConflictWarning) are not errors we raise
    return inspect.isclass(obj) and issubclass(obj, BaseException) and not issubclass(obj, Warning)


def test_every_exported_exception_is_in_the_tree_and_drawn() -> None:
    """Every exception class any public module exports (its ``__all__``) is an
    EventSourceError drawn in the tree, or a backend subclass of one the tree module lists."""
    drawn = _drawn_names()
    backend_subclasses = _documented_backend_subclasses()
    seen: set[type] = set()
    for module in filter(_is_public, _modules()):
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if not _is_error(obj) or obj in seen:
                continue
            seen.add(obj)
            where = f"{module.__name__}.{name}"
            if f"{obj.__module__}.{obj.__qualname__}" in NOT_ERRORS_OF_OURS:
                continue
            assert issubclass(obj, EventSourceError), f"{where} is outside the exception tree"
            if obj.__module__ == _exceptions.__name__:
                assert obj.__name__ in drawn, f"{where} is not drawn in eventsource._exceptions"
            else:
                top = obj.__module__.split(".")[0]
                assert f"{top}.{obj.__name__}" in backend_subclasses, (
                    f"{where} ({obj.__module__}) is neither in eventsource._exceptions nor a "
                    "backend subclass listed in its docstring"
                )
    assert {getattr(_exceptions, name) for name in _exceptions.__all__} <= seen
    assert eventsource_sqlite.SQLiteDatabaseLockedError in seen


def test_no_module_defines_an_error_outside_the_tree_module() -> None:
    """Each exception class defined anywhere in src is in eventsource._exceptions, a backend
    subclass of a tree class listed there, or a known non-error (a private signal, the kit's
    stand-ins for a user's error)."""
    backend_subclasses = _documented_backend_subclasses()
    strays = []
    for module in _modules():
        if module is _exceptions:
            continue
        for obj in vars(module).values():
            if not _is_error(obj) or obj.__module__ != module.__name__:
                continue
            qualified = f"{obj.__module__}.{obj.__qualname__}"
            top = module.__name__.split(".")[0]
            backend_name = f"{top}.{obj.__name__}"
            if qualified in NOT_ERRORS_OF_OURS:
                continue
            if backend_name in backend_subclasses and issubclass(obj, EventSourceError):
                continue
            strays.append(qualified)
    assert strays == [], f"exception classes outside eventsource._exceptions: {strays}"
    # the listed exceptions still exist (a stale entry would hide a new class of that name)
    defined = {
        f"{obj.__module__}.{obj.__qualname__}"
        for module in _modules()
        for obj in vars(module).values()
        if _is_error(obj)
    }
    assert set(NOT_ERRORS_OF_OURS) <= defined
    assert {f"eventsource_sqlite.{n}" for n in ["SQLiteDatabaseLockedError"]} == (
        backend_subclasses
    )


def test_every_error_is_importable_where_it_was() -> None:
    """The tree's classes are in ``eventsource`` and ``eventsource.exceptions`` (where
    eventsource-py 0.5.0 kept its errors); the runtime's are still in ``eventsource.runtime``."""
    import eventsource.runtime as runtime

    for name in _exceptions.__all__:
        cls = getattr(_exceptions, name)
        assert getattr(eventsource, name) is cls, name
        assert getattr(eventsource.exceptions, name) is cls, name
        assert name in eventsource.__all__ and name in eventsource.exceptions.__all__
    for name in ("ProjectionStoppedError", "ReplayError", "UnknownPublisherError"):
        assert getattr(runtime, name) is getattr(_exceptions, name)
    assert "EventSourceError" in (eventsource.exceptions.__doc__ or "")


def test_bad_arguments_that_are_not_events_are_not_invalid_event_errors() -> None:
    """A read option, a repository limit or status, an event class to register: an
    InvalidArgumentError that is no EventStoreError (and so no InvalidEventError)."""
    refusals = [
        lambda: ReadOptions(limit=-1),
        lambda: ReadOptions(from_position="3"),  # type: ignore[arg-type]
        lambda: check_limit(True),
        lambda: check_dlq_status("bogus"),
        lambda: eventsource.EventRegistry().register(dict),  # type: ignore[arg-type]
    ]
    for refuse in refusals:
        with pytest.raises(InvalidArgumentError) as caught:
            refuse()
        assert not isinstance(caught.value, EventStoreError), caught.value
        assert isinstance(caught.value, ValueError)


async def test_reads_refuse_with_invalid_argument_and_appends_with_invalid_event() -> None:
    async with open_backend("memory://") as backend:
        aid = uuid4()
        with pytest.raises(InvalidArgumentError) as read:
            await backend.events.get_events(aid, "CtItem", from_version=-1)
        assert not isinstance(read.value, InvalidEventError)
        with pytest.raises(InvalidArgumentError) as stream:
            async for _ in backend.events.read_stream("not-a-stream-id"):
                pass
        assert not isinstance(stream.value, InvalidEventError)
        with pytest.raises(InvalidArgumentError) as outbox:
            await backend.outbox.get_pending_events(limit=-1)
        assert not isinstance(outbox.value, InvalidEventError)
        with pytest.raises(InvalidEventError, match="aggregate_id"):
            await backend.events.append_events(
                str(aid),  # type: ignore[arg-type]
                "CtItem",
                [CtItemAdded(aggregate_id=aid, sku="x")],
                0,
            )
        assert await backend.events.get_stream_version(aid, "CtItem") == 0
