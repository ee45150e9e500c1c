"""docs/projections.md, outbox.md, values.md, evolution.md, appends.md, scaling.md,
lifecycle.md and performance.md run as written: their Python blocks, in order, as one program
in a child process (so their event classes stay out of this registry), printing exactly what
their ``text`` blocks show."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"


def blocks(text: str, language: str) -> list[str]:
    """The fenced blocks of ``language`` in a Markdown page."""
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize(
    "page",
    [
        "projections.md",
        "outbox.md",
        "values.md",
        "evolution.md",
        "appends.md",
        "scaling.md",
        "lifecycle.md",
        "performance.md",
    ],
)
async def test_doc_runs_and_prints_what_it_says(page: str, tmp_path: Path) -> None:
    text = (DOCS / page).read_text()
    code = blocks(text, "python")
    expected = "".join(blocks(text, "text")).splitlines()
    assert len(code) >= 2 and expected
    script = tmp_path / page.replace(".md", ".py")
    script.write_text("\n".join(code))
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-W",
        "error",
        str(script),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(), 60)
    assert child.returncode == 0, err.decode()
    assert out.decode().splitlines() == expected
