"""Run in a fresh venv by ``scripts/smoke_wheels.py``: use the installed packages as a user would.

    python -I smoke_check.py REPO_ROOT WORKDIR [BACKEND ...]

BACKEND names the backends that must be installed besides ``memory`` (``sqlite``,
``postgresql``); exactly those must be registered, from non-editable distributions inside this
venv, with nothing of the repository on ``sys.path``. Then ``memory://`` and every installed
backend get one event appended and read back through ``open_backend`` (PostgreSQL only when
``EVENTSOURCE_TEST_POSTGRES_URL`` is set, in a schema of its own that is dropped afterwards),
``py.typed`` must ship in each package, and the ``eventsource`` console script must run.
Exits non-zero with a message naming what failed. Standard library and the installed packages
only: this file is never imported from the repository.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata as md
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any
from uuid import uuid4

#: backend name -> (distribution, import package)
SHIPPED = {
    "memory": ("eventsource-core", "eventsource"),
    "sqlite": ("eventsource-sqlite", "eventsource_sqlite"),
    "postgresql": ("eventsource-postgres", "eventsource_postgres"),
}


def fail(message: str) -> None:
    """Stop with ``message``."""
    sys.exit(f"smoke check failed: {message}")


def inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` lies in ``folder``."""
    return path.resolve().is_relative_to(folder.resolve())


def check_installed(root: Path, expected: set[str]) -> None:
    """The wanted distributions, installed for real into this venv, and only those backends."""
    prefix = Path(sys.prefix)
    site = Path(sysconfig.get_paths()["purelib"])
    if prefix == Path(sys.base_prefix):
        fail(f"not running in a venv ({sys.executable})")
    leaks = [p for p in sys.path if p and inside(Path(p), root)]
    if leaks:
        fail(f"the repository is on sys.path: {leaks}")
    for backend in expected:
        dist_name, package = SHIPPED[backend]
        try:
            dist = md.distribution(dist_name)
        except md.PackageNotFoundError:
            fail(f"{dist_name} is not installed")
        if not inside(Path(str(dist.locate_file(""))), site):
            fail(f"{dist_name} is installed outside {site}")
        direct_url = dist.read_text("direct_url.json")
        if direct_url and json.loads(direct_url).get("dir_info", {}).get("editable"):
            fail(f"{dist_name} is an editable install")
        module = importlib.import_module(package)
        if not inside(Path(str(module.__file__)), site):
            fail(f"{package} imports from {module.__file__}, not from {site}")
        typed = Path(str(module.__file__)).with_name("py.typed")
        recorded = {str(f) for f in dist.files or []}
        if not typed.is_file() or f"{package}/py.typed" not in recorded:
            fail(f"{dist_name} does not ship {package}/py.typed")
    points = md.entry_points(group="eventsource.backends")
    found = {ep.name for ep in points}
    if found != expected:
        fail(f"registered backends {sorted(found)}, expected {sorted(expected)}")
    for ep in points:
        if ep.dist is None or not inside(Path(str(ep.dist.locate_file(""))), site):
            fail(f"entry point {ep.name} does not come from a distribution in {site}")


async def roundtrip(urls: list[str]) -> None:
    """Append one event at each of ``urls`` through the public API and read it back."""
    from eventsource import DomainEvent

    class SmokeChecked(DomainEvent):
        note: str

    for url in urls:
        event = SmokeChecked(aggregate_id=uuid4(), aggregate_type="Smoke", note="hello")
        await _append_and_read(url, event)


async def _append_and_read(url: str, event: Any) -> None:
    from eventsource import open_backend

    aggregate_id = event.aggregate_id
    async with open_backend(url) as backend:
        result = await backend.events.append_events(aggregate_id, "Smoke", [event], 0)
        if result.new_version != 1:
            fail(f"{url}: appended at version {result.new_version}, expected 1")
        read = [stored async for stored in backend.events.read_all()]
        if [s.event_id for s in read] != [event.event_id]:
            fail(f"{url}: read back {read}, expected the one event appended")
        if read[0].event.model_dump() != event.model_dump():
            fail(f"{url}: the event read back differs: {read[0].event!r} != {event!r}")


async def drop_schema(url: str, schema: str) -> None:
    """Drop the PostgreSQL schema the check used."""
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()


def cli(*args: str) -> str:
    """Run the ``eventsource`` console script of this venv; its stdout."""
    script = Path(sysconfig.get_paths()["scripts"]) / "eventsource"
    done = subprocess.run([str(script), *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        fail(f"eventsource {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done.stdout


def check_cli(workdir: Path, expected: set[str], sqlite_url: str | None) -> None:
    """``--help``, ``backends`` and ``info`` through the console script."""
    if "backends" not in cli("--help"):
        fail("eventsource --help does not list its commands")
    listed = {b["name"] for b in json.loads(cli("backends", "--json"))["backends"]}
    if listed != expected:
        fail(f"eventsource backends lists {sorted(listed)}, expected {sorted(expected)}")
    if sqlite_url is not None:
        info = json.loads(cli("info", "--json", "--url", sqlite_url))
        if info.get("backend") != "sqlite" or info.get("global_position") != 1:
            fail(f"eventsource info on {sqlite_url} does not show the 1 event: {info}")
        demo = cli("demo", "--url", f"sqlite:///{workdir / 'demo.db'}")
        if "Read every event back" not in demo:
            fail(f"eventsource demo did not run the demo:\n{demo}")


def main() -> None:
    """Check what the command line asks for; print what was exercised."""
    root, workdir = Path(sys.argv[1]), Path(sys.argv[2])
    expected = {"memory", *sys.argv[3:]}
    check_installed(root, expected)
    urls = ["memory://"]
    sqlite_url = None
    if "sqlite" in expected:
        sqlite_url = f"sqlite:///{workdir / 'x.db'}"
        urls.append(sqlite_url)
    postgres = os.environ.get("EVENTSOURCE_TEST_POSTGRES_URL")
    schema = f"smoke_{uuid4().hex[:12]}"
    if "postgresql" in expected and postgres:
        urls.append(f"{postgres}{'&' if '?' in postgres else '?'}schema={schema}")
    try:
        asyncio.run(roundtrip(urls))
    finally:
        if len(urls) > 1 and "schema=" in urls[-1]:
            asyncio.run(drop_schema(str(postgres), schema))
    check_cli(workdir, expected, sqlite_url)
    shown = ", ".join("postgresql" if "schema=" in u else u.split(":")[0] for u in urls)
    print(f"ok: backends {', '.join(sorted(expected))}; one event round trip on {shown}; cli")


if __name__ == "__main__":
    main()
