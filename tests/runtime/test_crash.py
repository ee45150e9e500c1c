"""SIGKILL a runner process mid-stream over a SQLite file: after a restart no event is lost
(at-least-once: every event handled at least once)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from eventsource import open_backend

from ._events import append_items

pytestmark = pytest.mark.slow

CHILD = Path(__file__).with_name("_crash_child.py")
TOTAL = 4000


def _handled(log: Path) -> Counter[int]:
    if not log.exists():
        return Counter()
    return Counter(int(line) for line in log.read_text().split())


async def _wait_for(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if predicate():
            return True
        await asyncio.sleep(0.02)
    return False


async def test_sigkill_mid_stream_loses_no_event(tmp_path: Path) -> None:
    pytest.importorskip("eventsource_sqlite")
    db = tmp_path / "crash.db"
    log = tmp_path / "handled.log"
    async with open_backend(f"sqlite:///{db}") as backend:
        await append_items(backend.events, TOTAL // 2, per_batch=200)
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            str(CHILD),
            str(db),
            str(log),
            "run",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            # Live: more events arrive while the child catches up and follows.
            writer = asyncio.create_task(
                append_items(backend.events, TOTAL // 2, start=TOTAL // 2, per_batch=50)
            )
            assert await _wait_for(lambda: len(_handled(log)) > TOTAL // 3, timeout=60)
            os.kill(child.pid, signal.SIGKILL)
            await child.wait()
            await writer
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
        assert child.returncode == -signal.SIGKILL
        before_restart = _handled(log)
        assert 0 < len(before_restart) < TOTAL  # killed mid-stream
        checkpoint = await backend.checkpoints.get_position("rttest.crash")
    restart = await asyncio.create_subprocess_exec(
        sys.executable,
        str(CHILD),
        str(db),
        str(log),
        "catchup",
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(restart.communicate(), 120)
    assert restart.returncode == 0, err.decode()
    assert out.decode().split() == ["caught-up", str(TOTAL)]
    handled = _handled(log)
    assert set(handled) == set(range(TOTAL))  # nothing lost
    redelivered = sum(c - 1 for c in handled.values())
    # Only events after the last checkpoint come again (checkpoint_every=50).
    assert redelivered <= len(before_restart) - (checkpoint or 0)
    assert redelivered <= 50
