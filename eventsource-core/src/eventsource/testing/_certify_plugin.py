"""The pytest plugin of a certification run (``-p eventsource.testing._certify_plugin``).

Loaded only in the pytest process that :func:`eventsource.testing.certify` starts: it reads
the URL under test, registers any extra plugin modules, resolves the backend and its
``scratch_storage``, and writes every kit test's outcome (with the fix hint of each failure)
as a :class:`CertificationReport` in JSON when the session ends.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import time
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .._exceptions import ConfigurationError, InvalidArgumentError
from ..plugins._manager import BackendSpec, get_registry
from ..plugins._specs import ScratchStorageFactory
from ..plugins._url import BackendURL, parse_url
from ._certify_report import KitFailure, KitSkip, KitTest, ReportBuilder, fix_hint, skip_kind
from ._conformance import BackendConformance
from ._processes import ProcessConcurrencyConformance

__all__ = ["URL_VARIABLE", "CertifyTarget", "pytest_addoption", "pytest_configure", "target_of"]

#: The environment variable that carries the URL to the run (argv would show a password).
URL_VARIABLE = "EVENTSOURCE_CERTIFY_URL"

_PARAMS = re.compile(r"\[.*\]$")


@dataclass(frozen=True, slots=True)
class CertifyTarget:
    """What the run certifies: the URL, its backend's roles and its scratch storage."""

    url: BackendURL
    spec: BackendSpec
    scratch: ScratchStorageFactory


_TARGET = pytest.StashKey[CertifyTarget]()
_BUILDER = pytest.StashKey[ReportBuilder]()
_STARTED = pytest.StashKey[float]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """The run's options (given by ``certify``, not by people)."""
    group = parser.getgroup("eventsource-certify", "eventsource certification run")
    group.addoption("--eventsource-certify-report", dest="certify_report", default=None)
    group.addoption("--eventsource-certify-progress", dest="certify_progress", default=None)
    group.addoption(
        "--eventsource-certify-plugin", dest="certify_plugins", action="append", default=[]
    )


def resolve_target(url: str, plugins: list[str] | tuple[str, ...] = ()) -> CertifyTarget:
    """The backend ``url`` names, with the extra ``plugins`` (module names) registered first.

    Raises :class:`InvalidArgumentError` for a plugin module that does not import and
    :class:`ConfigurationError` when the backend gives no ``scratch_storage``.
    """
    registry = get_registry()
    for module_name in plugins:
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise InvalidArgumentError(
                f"plugin module {module_name!r} does not import: {type(exc).__name__}: {exc}"
            ) from exc
        if not registry.plugin_manager.is_registered(module):
            registry.register(module, name=module_name)
    parsed = parse_url(url)
    spec = registry.get_backend(parsed.scheme)
    factory = spec.event_store.scratch_storage
    if factory is None:
        raise ConfigurationError(
            f"backend {spec.name!r} cannot be certified from a URL: its EventStoreSpec gives "
            "no scratch_storage (fresh storage per kit test; see docs/writing-a-backend.md, "
            "'Certifying from a URL'). Run the kit from a test file instead."
        )
    spec.event_store.from_url(parsed)  # unconnected: a bad host or option is refused here
    return CertifyTarget(parsed, spec, factory)


def target_of(config: pytest.Config) -> CertifyTarget:
    """The run's target (set up when the session is configured)."""
    return config.stash[_TARGET]


def pytest_configure(config: pytest.Config) -> None:
    """Resolve the target and start the report."""
    url = os.environ.get(URL_VARIABLE)
    if url is None:
        return
    target = resolve_target(url, config.getoption("certify_plugins"))
    config.stash[_TARGET] = target
    config.stash[_STARTED] = time.monotonic()
    config.stash[_BUILDER] = ReportBuilder(
        url=str(target.url),
        backend=target.spec.name,
        capabilities=tuple(target.spec.event_store.capabilities.enabled()),
        selection=config.getoption("keyword") or None,
    )


def _progress(config: pytest.Config, line: str) -> None:
    """Append ``line`` to the progress file ``certify`` watches, if it gave one."""
    path = config.getoption("certify_progress", None)
    if path:
        with open(path, "a", encoding="utf-8") as progress:
            progress.write(line + "\n")


def pytest_collection_finish(session: pytest.Session) -> None:
    """Say how many tests the run holds."""
    _progress(session.config, f"total {len(session.items)}")


def _kit_class(item: pytest.Item) -> tuple[str, str]:
    """The kit class that defines ``item``'s test, and that test's fix hint."""
    cls = getattr(item, "cls", None)
    name = _PARAMS.sub("", item.name)
    for base in cls.__mro__[1:] if cls else ():
        if base.__module__.startswith("eventsource.testing") and name in vars(base):
            return base.__name__, fix_hint(getattr(vars(base)[name], "__doc__", None))
    return cls.__name__ if cls else "", ""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Carry the kit class and hint on each report."""
    report = yield
    kit_class, hint = _kit_class(item)
    report.user_properties.append(("kit_class", kit_class))
    report.user_properties.append(("hint", hint))
    return report


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Let ``-k`` select by kit class: ``-k CheckpointConformance``."""
    for item in items:
        kit_class, _ = _kit_class(item)
        if kit_class:
            item.extra_keyword_matches.add(kit_class)


_LOCATION = re.compile(r"^(?P<path>\S+):(?P<line>\d+): \w+")


def _crash(report: pytest.TestReport) -> tuple[str, str]:
    """What failed (the ``E`` lines, else the crash message) and where (``file:line:
    statement``), from the report's text."""
    lines = report.longreprtext.splitlines()
    marks = [i for i, line in enumerate(lines) if line.startswith(">")]
    start = marks[-1] + 1 if marks else 0
    errors = [line[1:].strip() for line in lines[start:] if line.startswith("E ")]
    crash = getattr(report.longrepr, "reprcrash", None)
    message = "; ".join(errors[:4]) or str(getattr(crash, "message", "") or lines[-1:])
    where = ""
    for line in reversed(lines):
        if found := _LOCATION.match(line):
            where = f"{found['path'].rsplit('/', 1)[-1]}:{found['line']}"
            break
    if marks:
        where += f": {lines[marks[-1]][1:].strip()}"
    return _short(message), _short(where)


def _short(text: str, limit: int = 600) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Record each test once: its call, or the setup or teardown that failed or skipped."""
    builder = _builder
    if builder is None:
        return
    if report.when == "teardown" and _config is not None:
        _progress(_config, "done")
    props = dict(report.user_properties)
    kit_class, hint = str(props.get("kit_class", "")), str(props.get("hint", ""))
    name = report.nodeid.split("::")[-1]
    xfail = hasattr(report, "wasxfail")
    if report.when == "call" or (report.when == "setup" and not report.passed):
        # an xfail has ``wasxfail``; a strict xfail that passed is a plain failure
        outcome = ("xfailed" if report.skipped else "xpassed") if xfail else report.outcome
        builder.tests.append(KitTest(name, kit_class, outcome, round(report.duration, 4)))
        if report.failed:
            builder.failures.append(_failure(report, name, kit_class, hint))
        elif report.skipped and not xfail:
            reason = _skip_reason(report)
            kind, lacks = skip_kind(reason)
            builder.skips.append(KitSkip(name, kit_class, reason, kind, lacks))
    elif report.when == "teardown" and report.failed:
        builder.failures.append(_failure(report, name, kit_class, hint, "teardown: "))


def _failure(
    report: pytest.TestReport, name: str, kit_class: str, hint: str, prefix: str = ""
) -> KitFailure:
    message, where = _crash(report)
    detail = report.longreprtext[-3000:]
    return KitFailure(name, kit_class, prefix + message, hint, detail, where)


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """A module or class that failed to collect is an error of the run."""
    if _builder is not None and report.failed:
        _builder.errors.append(f"collecting {report.nodeid}: {report.longreprtext[-2000:]}")


_builder: ReportBuilder | None = None
_config: pytest.Config | None = None

#: Kit classes in the order BackendConformance lists them (the event store first).
_ORDER = {
    cls.__name__: i
    for i, cls in enumerate([*BackendConformance.__mro__, ProcessConcurrencyConformance])
}


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Make the report reachable from the report hooks (which get no config)."""
    global _builder, _config
    _builder = session.config.stash.get(_BUILDER, None)
    _config = session.config


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Write the report where ``certify`` reads it."""
    path = session.config.getoption("certify_report")
    builder = session.config.stash.get(_BUILDER, None)
    if path is None or builder is None:
        return
    seconds = time.monotonic() - session.config.stash[_STARTED]
    for found in (builder.tests, builder.failures, builder.skips):
        found.sort(key=lambda entry: _ORDER.get(entry.kit_class, len(_ORDER)))
    report = builder.build(seconds)
    Path(path).write_text(json.dumps(report.to_dict(), indent=1))
