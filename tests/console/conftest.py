"""The console tests' fixtures: a seeded SQLite file, the console serving it in a real
subprocess on a free port, and a headless Debian chromium driven by selenium.

Outside CI a missing chromium or chromedriver skips the browser tests with the apt-get line;
with ``CI=true`` it fails them (as tests/postgres/conftest.py does for the server).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .model import Seeded, seed

#: Debian's browser and driver; $EVENTSOURCE_CHROMIUM / $EVENTSOURCE_CHROMEDRIVER name others.
CHROMIUM = os.environ.get("EVENTSOURCE_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("EVENTSOURCE_CHROMEDRIVER", "/usr/bin/chromedriver")
TESTS = Path(__file__).resolve().parent.parent


@dataclass
class Console:
    """A console serving in a subprocess."""

    process: subprocess.Popen[str]
    base: str
    token: str | None
    replay_log: Path
    lines: list[str]

    def url(self, path: str = "/") -> str:
        """The absolute URL of ``path``."""
        return self.base.rstrip("/") + path


#: The installed ``eventsource`` command, beside this interpreter.
COMMAND = Path(sys.executable).with_name("eventsource")


def start_console(url: str, tmp: Path, *, allow_writes: bool = False, cli: bool = False) -> Console:
    """Start ``python -m eventsource.console`` (or, with ``cli``, ``eventsource console``) on
    a free port; wait for its start-up lines."""
    replay_log = tmp / "replayed.log"
    program = [str(COMMAND), "console"] if cli else [sys.executable, "-m", "eventsource.console"]
    argv = [*program, "--url", url, "--port", "0"]
    argv += ["--projection", "console.model:OrdersProjection", "--sample-interval", "0.5"]
    if allow_writes:
        argv.append("--allow-writes")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")]),
        "CONSOLE_REPLAY_LOG": str(replay_log),
    }
    process = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert process.stdout is not None
    lines: list[str] = []
    base = token = None
    while True:
        line = process.stdout.readline()
        if not line:
            process.wait(10)
            process.stdout.close()
            raise AssertionError("the console did not start:\n" + "".join(lines))
        lines.append(line)
        if match := re.search(r"(http://127\.0\.0\.1:\d+/)", line):
            base = match.group(1)
        if match := re.search(r"token: (\S+)", line):
            token = match.group(1)
        if base and (token or not allow_writes) and len(lines) >= 2:
            break
    return Console(process, base, token, replay_log, lines)


def stop_console(console: Console) -> None:
    """Stop the console (SIGINT, as Ctrl-C) and wait for it."""
    if console.process.poll() is None:
        console.process.send_signal(signal.SIGINT)
        try:
            console.process.wait(10)
        except subprocess.TimeoutExpired:
            console.process.kill()
            console.process.wait(10)
    if console.process.stdout is not None:
        console.process.stdout.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> tuple[str, Seeded]:
    """A seeded SQLite file's URL and what was written into it."""
    url = f"sqlite:///{tmp_path / 'console.db'}"
    return url, asyncio.run(seed(url))


@pytest.fixture
def console_factory(tmp_path: Path) -> Iterator[Callable[..., Console]]:
    """Start consoles over a URL; each is stopped at the end of the test."""
    started: list[Console] = []

    def start(url: str, **options: Any) -> Console:
        console = start_console(url, tmp_path, **options)
        started.append(console)
        return console

    yield start
    for console in started:
        stop_console(console)


def _missing_browser() -> str | None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if not missing:
        return None
    return (
        f"{', '.join(missing)} missing: install Debian's browser with "
        "`apt-get install -y chromium chromium-driver`"
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless chromium for the session (skipped without it, failed under CI=true)."""
    problem = _missing_browser()
    if problem is not None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema on the test PostgreSQL server (dropped afterwards); skipped when the
    server is unreachable, failed under CI=true (as in tests/postgres/conftest.py)."""
    import uuid

    import asyncpg

    from postgres.conftest import DEFAULT_URL, ENV_VAR, server_url, with_options

    server = server_url()

    async def probe() -> None:
        conn = await asyncio.wait_for(asyncpg.connect(server), 5)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        message = f"PostgreSQL is not reachable at {server} ({exc}); set {ENV_VAR} ({DEFAULT_URL})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    schema = f"es_console_{uuid.uuid4().hex[:12]}"
    yield with_options(server, schema=schema, pool_min=1, pool_max=4)

    async def drop() -> None:
        conn = await asyncpg.connect(server)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()

    asyncio.run(drop())
