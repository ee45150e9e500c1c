"""``certify(url)``: run the conformance kit against the backend a URL names, and report.

The kit runs in a child pytest process (its own event loop, signals and imports, isolated
from the caller), each test on fresh storage the backend's ``scratch_storage`` gives beside
what the URL names: a temporary file, schema or name, removed after the test. The store the
URL names is never opened.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from .._exceptions import (
    ConfigurationError,
    EventSourceError,
    InvalidArgumentError,
    StorageUnavailableError,
)
from ..plugins._manager import get_registry
from ..plugins._url import parse_url
from ._certify_plugin import URL_VARIABLE, CertifyTarget, resolve_target
from ._certify_report import CertificationReport
from ._roles import RoleBackend

__all__ = ["certify"]

_INI = """[pytest]
asyncio_mode = strict
asyncio_default_fixture_loop_scope = function
"""

_MODULE = """from eventsource.testing._certify_target import CertifiedBackend, CertifiedProcesses


class TestBackend(CertifiedBackend):
    pass
"""

_PROCESSES = """

class TestProcesses(CertifiedProcesses):
    pass
"""

#: Seconds between looks at the child's progress.
_POLL = 0.2

#: pytest's exit status for a usage error (a bad ``-k`` expression).
_PYTEST_USAGE_ERROR = 4

_PLUGINS = (
    "eventsource.pytest_plugin",
    "pytest_asyncio.plugin",
    "eventsource.testing._certify_plugin",
)


async def _preflight(target: CertifyTarget) -> None:
    """Open (and remove) one scratch storage: an unreachable server fails here, once."""
    async with target.scratch(target.url) as storage:
        store = target.spec.event_store.from_url(parse_url(storage.url))
        async with RoleBackend(store, name=target.spec.name):
            pass


def certify(
    url: str,
    *,
    keyword: str | None = None,
    processes: bool = False,
    plugins: Sequence[str] = (),
    timeout: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> CertificationReport:
    """Run the kit against the backend ``url`` names and return the report.

    ``keyword``: a pytest ``-k`` expression selecting tests (``"checkpoint or outbox"``);
    ``processes``: also run the races between writer processes (seconds more);
    ``plugins``: module names of plugins to register first (a backend not installed through
    an entry point; importable here, and in the child, which gets this ``sys.path``);
    ``timeout``: seconds per kit test (``--eventsource-timeout``); ``progress``: called with
    ``(tests done, tests in the run)`` as tests finish, in the calling thread.

    Raises :class:`ConfigurationError` (or a subclass: unknown backend, bad URL) when the URL
    names no backend that can be certified from a URL, and :class:`StorageUnavailableError`
    when its scratch storage cannot be opened (the server is down), before any test runs;
    :class:`InvalidArgumentError` for a ``keyword`` that selects nothing or does not parse, or
    a plugin module that does not import. Failures of the kit are in the report, not raised.
    """
    registry = get_registry()
    before = {name for name, _ in registry.plugin_manager.list_name_plugin()}
    try:
        return _certify(url, keyword, processes, tuple(plugins), timeout, progress)
    finally:
        for name, _ in registry.plugin_manager.list_name_plugin():
            if name not in before and name in plugins:
                registry.unregister(name)


def _certify(
    url: str,
    keyword: str | None,
    processes: bool,
    plugins: tuple[str, ...],
    timeout: float | None,
    progress: Callable[[int, int], None] | None,
) -> CertificationReport:
    target = resolve_target(url, plugins)
    try:
        # in a thread of its own: the caller may be inside a running event loop
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, _preflight(target)).result()
    except (ConfigurationError, InvalidArgumentError):
        raise
    except EventSourceError as exc:
        raise StorageUnavailableError(
            f"cannot open scratch storage for {target.url}: {exc}"
        ) from exc
    except OSError as exc:
        raise StorageUnavailableError(
            f"cannot open scratch storage for {target.url}: {type(exc).__name__}: {exc}"
        ) from exc
    with tempfile.TemporaryDirectory(prefix="eventsource-certify-") as work:
        root = Path(work)
        (root / "pytest.ini").write_text(_INI)
        (root / "test_certify.py").write_text(_MODULE + (_PROCESSES if processes else ""))
        report_path = root / "report.json"
        command = [sys.executable, "-m", "pytest", "-c", str(root / "pytest.ini")]
        command += ["--rootdir", str(root), "-p", "no:cacheprovider", "-q", "--no-header"]
        for plugin in _PLUGINS:
            command += ["-p", plugin]
        command += ["--eventsource-certify-report", str(report_path)]
        command += ["--eventsource-certify-progress", str(root / "progress")]
        for module in plugins:
            command += ["--eventsource-certify-plugin", module]
        if keyword:
            command += ["-k", keyword]
        if timeout is not None:
            command += [f"--eventsource-timeout={timeout:g}"]
        command.append(str(root / "test_certify.py"))
        child_env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(os.path.abspath(p) for p in sys.path),
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            URL_VARIABLE: target.url.render(hide_password=False),  # not in argv: ps shows it
        }
        returncode, output = _run(command, child_env, root, progress)
        if returncode == _PYTEST_USAGE_ERROR:
            lines = output.strip().splitlines()
            raise InvalidArgumentError(
                lines[-1] if lines else "the kit's run refused its arguments"
            )
        if not report_path.exists():
            raise ConfigurationError(
                f"the kit's run for {target.url} ended (exit {returncode}) without a "
                f"report:\n{output.strip()[-3000:]}"
            )
        report = CertificationReport.from_dict(json.loads(report_path.read_text()))
    if not report.tests and not report.errors:
        raise InvalidArgumentError(f"no kit test matches -k {keyword!r}")
    return report


def _run(
    command: list[str],
    env: dict[str, str],
    root: Path,
    progress: Callable[[int, int], None] | None,
) -> tuple[int, str]:
    """Run the child pytest (its output to a file: no pipe to fill), reporting progress from
    the lines its plugin appends to ``root/progress``; its exit status and output."""
    log = root / "output"
    with log.open("w") as output:
        child = subprocess.Popen(
            command, cwd=os.getcwd(), env=env, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            shown = (-1, -1)
            while True:
                try:
                    child.wait(timeout=_POLL)
                    finished = True
                except subprocess.TimeoutExpired:
                    finished = False
                if progress is not None:
                    now = _progress_of(root / "progress")
                    if now != shown and now[1] >= 0:
                        progress(*now)
                        shown = now
                if finished:
                    break
        finally:
            if child.poll() is None:  # interrupted: stop the child, then let it be reaped
                child.terminate()
                child.wait()
    return child.returncode, log.read_text(errors="replace")


def _progress_of(path: Path) -> tuple[int, int]:
    """``(tests done, tests in the run)`` from the progress file (-1 before collection)."""
    try:
        lines = path.read_text().splitlines()
    except FileNotFoundError:
        return 0, -1
    total = next((int(line.split()[1]) for line in lines if line.startswith("total ")), -1)
    return sum(1 for line in lines if line == "done"), total
