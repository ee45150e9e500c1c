"""``eventsource conformance URL``, run as the installed console script: the report, its
JSON, the exit codes (0 certified, 1 not, 2 a bad selection, 3/4/6 for the URL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CONSOLE_SCRIPT = Path(sys.executable).with_name("eventsource")
THIRDPARTY = Path(__file__).parents[1] / "thirdparty"


def conformance(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "EVENTSOURCE_URL"}
    return subprocess.run(
        [str(CONSOLE_SCRIPT), *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def test_memory_is_certified(tmp_path: Path) -> None:
    """The whole kit on memory://: a table per kit class, the skips by cause, the verdict."""
    done = conformance("conformance", "memory://", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "Traceback" not in done.stderr
    assert "KIT CLASS" in out and "EventStoreConformance" in out and "TOTAL" in out
    assert "Skipped, capability not declared: persistent (1)" in out
    assert out.rstrip().splitlines()[-1].startswith("CERTIFIED: memory: ")
    assert list(tmp_path.iterdir()) == []


def test_sqlite_json_report_and_nothing_left(tmp_path: Path) -> None:
    """--json prints the report; the relative sqlite URL's directory is left as it was."""
    done = conformance("--json", "conformance", "sqlite:///app.db", "-k", "Opening", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["certified"] is True and report["backend"] == "sqlite"
    assert report["counts"]["passed"] == 2 and report["selection"] == "Opening"
    assert list(tmp_path.iterdir()) == []


def test_a_broken_backend_is_not_certified_and_shows_the_fix() -> None:
    """A plugin module from the current directory, deliberately broken: exit 1, each failure
    with where it failed and the kit's Fix: line."""
    done = conformance(
        "conformance",
        "brokenjsonl:///./",
        "--plugin",
        "eventsource_jsonl.plugin",
        "--plugin",
        "broken_jsonl",
        "-k",
        "EventStoreConformance and event_exists",
        cwd=THIRDPARTY,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "Failed (1):" in out
    assert "test_event_exists_and_positions (EventStoreConformance)" in out
    assert "at _event_store.py:" in out and "assert False" in out
    assert "Fix: answer from committed data only." in out
    assert out.rstrip().splitlines()[-1].startswith("NOT CERTIFIED: brokenjsonl: ")
    assert not [p for p in THIRDPARTY.iterdir() if p.name.startswith(".jsonl-kit-")]


@pytest.mark.parametrize(
    ("argv", "code", "error"),
    [
        (["conformance", "nosuch://x"], 4, "unknown_backend"),
        (["conformance", "sqlite://host/x.db"], 3, "bad_url"),
        (["conformance", "sqlite:///no/such/dir/x.db"], 6, "unavailable"),
        (["conformance", "memory://", "-k", "no_such_kit_test"], 2, "usage"),
        (["conformance", "memory://", "-k", "and ("], 2, "usage"),
        (["conformance", "memory://", "--plugin", "no_such_plugin_module"], 2, "usage"),
    ],
)
def test_errors_are_one_json_line(tmp_path: Path, argv: list[str], code: int, error: str) -> None:
    """A bad URL, backend, directory or selection: its exit code, one JSON error line."""
    done = conformance("--json", *argv, cwd=tmp_path)
    assert done.returncode == code, done.stdout + done.stderr
    assert done.stdout == ""
    assert json.loads(done.stderr.strip().splitlines()[-1])["code"] == error


def test_without_pytest_the_command_says_what_to_install(tmp_path: Path) -> None:
    """pytest shadowed by a package that fails to import (as if not installed): one error
    naming the extra to install, exit 1, no traceback."""
    shadow = tmp_path / "shadow" / "pytest"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text('raise ImportError("no pytest here")\n')
    env = {k: v for k, v in os.environ.items() if k != "EVENTSOURCE_URL"}
    env["PYTHONPATH"] = str(shadow.parent)
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "--json", "conformance", "memory://"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    error = json.loads(done.stderr)
    assert error["code"] == "kit_not_installed"
    assert "eventsource-core[testing]" in error["error"]
