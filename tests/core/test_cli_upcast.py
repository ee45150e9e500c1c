"""``eventsource events upcast --dry-run`` on a real SQLite file: the chains of a registry the
command imports (``--registry MODULE:ATTR``, or modules that register upcasters with
``--import``), per stored type and version; exit 1 when some events would fail."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
from pathlib import Path
from uuid import uuid4

import pytest

from eventsource import DomainEvent, EventRegistry, open_backend
from eventsource.cli import main

APP = """
from eventsource import DomainEvent, EventRegistry, upcaster


class Paid(DomainEvent):
    __register__ = False
    event_type: str = "cliup.Paid"
    event_version: int = 3
    cents: int


def _step(data):
    return data


def registry():
    found = EventRegistry([Paid])
    found.register_upcaster("cliup.Paid", 1, _step)
    found.register_upcaster("cliup.Paid", 2, _step)
    return found


broken = EventRegistry([Paid])
broken.register_upcaster("cliup.Paid", 2, _step)


@upcaster("cliup.Imported." + __name__, 1)
def _imported(data):
    return data
"""


class PaidV1(DomainEvent):
    __register__ = False
    event_type: str = "cliup.Paid"
    amount: float


@pytest.fixture
def app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module of the application's, importable from the current directory."""
    name = f"cliup_app_{uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(APP))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


async def _seed(url: str, count: int) -> None:
    async with open_backend(url) as backend:
        backend.events.event_registry = EventRegistry([PaidV1])
        for _ in range(count):
            aid = uuid4()
            await backend.events.append_events(
                aid, "Order", [PaidV1(aggregate_id=aid, amount=1)], 0
            )


def test_dry_run_reports_each_chain(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, app: str
) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    asyncio.run(_seed(url, 3))
    argv = ["--url", url, "events", "upcast", "--dry-run", "--registry", f"{app}:registry"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["TYPE", "VERSION", "EVENTS", "CHAIN", "RESULT"]
    assert lines[1].split() == [
        "cliup.Paid", "1", "3", "cliup.Paid", "1", "->", "cliup.Paid", "2", "->", "cliup.Paid",
        "3", "ok",
    ]  # fmt: skip
    assert main(["--json", *argv]) == 0
    [use] = json.loads(capsys.readouterr().out)
    assert use == {
        "event_type": "cliup.Paid",
        "event_version": 1,
        "events": 3,
        "steps": [["cliup.Paid", 1], ["cliup.Paid", 2]],
        "to_type": "cliup.Paid",
        "to_version": 3,
        "error": None,
    }


def test_a_missing_link_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, app: str
) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    asyncio.run(_seed(url, 2))
    argv = ["--url", url, "--json", "events", "upcast", "--dry-run", "--registry", f"{app}:broken"]
    assert main(argv) == 1
    captured = capsys.readouterr()
    [use] = json.loads(captured.out)
    assert use["events"] == 2 and use["steps"] == [] and "missing link" in use["error"]
    assert "2 stored event(s) cannot be decoded" in captured.err


def test_import_registers_into_the_default_registry(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, app: str
) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    asyncio.run(_seed(url, 1))
    assert main(["--url", url, "events", "upcast", "--dry-run", "--import", app]) == 0
    assert capsys.readouterr().out == "no stored event goes through an upcaster\n"
    from eventsource import default_registry

    assert default_registry.has_upcasters(f"cliup.Imported.{app}")


def test_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path, app: str) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    asyncio.run(_seed(url, 1))
    base = ["--url", url, "events", "upcast"]
    assert main(base) == 2  # no --dry-run
    assert "give --dry-run" in capsys.readouterr().err
    assert main([*base, "--dry-run", "--registry", "nocolon"]) == 2
    assert main([*base, "--dry-run", "--registry", f"{app}:nothing_here"]) == 2
    assert main([*base, "--dry-run", "--import", "no_such_module_cliup"]) == 2
