"""The getting-started page runs as written: its Python blocks, in order, in one namespace."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "getting-started.md"


def python_blocks(text: str) -> list[str]:
    """The fenced ```python blocks of a Markdown page."""
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_getting_started_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("eventsource_sqlite")
    blocks = python_blocks(DOC.read_text())
    assert len(blocks) == 2
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        namespace: dict[str, object] = {"__name__": "getting_started"}
        for block in blocks:
            exec(compile(block, str(DOC), "exec"), namespace)
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "shipped at version 2"
    assert [line.split()[2] for line in out[1:]] == ["OrderCreated", "OrderShipped"]
    assert (tmp_path / "orders.db").exists()
