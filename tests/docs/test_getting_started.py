"""The getting-started page runs as written: its Python blocks, in order, as one program.

It runs in a child process so that its event classes do not share a registry with the rest
of the suite.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "getting-started.md"


def python_blocks(text: str) -> list[str]:
    """The fenced ```python blocks of a Markdown page."""
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_getting_started_runs(tmp_path: Path) -> None:
    pytest.importorskip("eventsource_sqlite")
    blocks = python_blocks(DOC.read_text())
    assert len(blocks) == 2
    script = tmp_path / "getting_started.py"
    script.write_text("\n".join(blocks))
    done = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert out[0] == "shipped at version 2"
    assert [line.split()[2] for line in out[1:]] == ["OrderCreated", "OrderShipped"]
    assert (tmp_path / "orders.db").exists()
