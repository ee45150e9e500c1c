"""docs/migrating-from-eventsource-py.md's before/after application runs as written (the
0.5.0 code unchanged) and prints what the page shows; its deviation table names a test for
each row's behaviour in this suite."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "migrating-from-eventsource-py.md"
SECTION = "## A small application before and after"


def test_before_and_after_run_as_written(tmp_path: Path) -> None:
    text = PAGE.read_text().split(SECTION, 1)[1]
    code = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    expected = "".join(re.findall(r"```text\n(.*?)```", text, flags=re.S))
    assert len(code) == 2 and code[0].startswith("# before: eventsource-py 0.5.0")
    script = tmp_path / "app.py"
    script.write_text("\n".join(code))
    done = subprocess.run(
        [sys.executable, "-W", "error", str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == expected


def test_the_page_lists_every_deviation_we_test() -> None:
    text = PAGE.read_text()
    table = text.split("## What changed and why", 1)[1].split("## A small application", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) >= 15  # header + one row per deviation
    for phrase in ("ANY", "moved back", "from_position", "claimed", "DuplicateEventError"):
        assert phrase in table, phrase
