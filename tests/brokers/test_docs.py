"""docs/brokers.md runs as written against the real brokers: its Python blocks, in order, as one
program in a child process, printing exactly what its ``text`` blocks show."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


async def test_brokers_doc_runs_and_prints_what_it_says(
    rabbitmq_url: str, redis_url: str, nats_url: str, tmp_path: Path
) -> None:
    text = (DOCS / "brokers.md").read_text()
    code = blocks(text, "python")
    expected = "".join(blocks(text, "text")).splitlines()
    assert len(code) == 4 and len(expected) == 5
    script = tmp_path / "brokers_doc.py"
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
    out, err = await asyncio.wait_for(child.communicate(), 120)
    assert child.returncode == 0, err.decode()
    assert out.decode().splitlines() == expected
