"""SIGKILL a runner process mid-stream over a SQLite file: after a restart no event is lost
(at-least-once: every event handled at least once), and a SQLiteProjection (read model and
position in one transaction, in the event store's own file) applies every event exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from eventsource import Backend, EventStore, open_backend

from ._events import append_items

pytestmark = pytest.mark.slow

CHILD = Path(__file__).with_name("_crash_child.py")
EXACT_CHILD = Path(__file__).with_name("_exact_child.py")
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


# -- exactly once: SQLiteProjection in the event store's file ---------------------------------


def _read_model(db: Path) -> tuple[int, int, int]:
    """The exactly-once child's read model: (rows, highest seq, stored position); zeros
    before the child has created it."""
    with contextlib.closing(sqlite3.connect(db, timeout=10)) as conn:
        try:
            rows, top = conn.execute(
                "SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM handled"
            ).fetchone()
            [position] = conn.execute(
                "SELECT COALESCE(MAX(global_position), 0) FROM projection_positions"
                " WHERE projection_name = 'rttest.exact'"
            ).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            return 0, 0, 0
    return int(rows), int(top), int(position)


async def _exact_child(db: Path, mode: str, *kill: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXACT_CHILD),
        str(db),
        mode,
        *kill,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def _finish(db: Path, backend: Backend, killed_at: int) -> None:
    """Restart the child to catch up and check every event is in the read model exactly once,
    with the position on the last event."""
    restart = await _exact_child(db, "catchup")
    out, err = await asyncio.wait_for(restart.communicate(), 60)
    assert restart.returncode == 0, err.decode()
    last = await backend.events.get_global_position()
    # The runner started from the projection's own position: nothing came twice (the
    # projection would have skipped and counted it), nothing was missed.
    assert out.decode().split() == ["caught-up", str(last), str(last - killed_at), "0"]
    assert _read_model(db) == (last, last, last)
    with contextlib.closing(sqlite3.connect(db)) as conn:
        ns = sorted(n for (n,) in conn.execute("SELECT n FROM handled"))
        [matched] = conn.execute(
            "SELECT COUNT(*) FROM handled h JOIN events e"
            " ON e.event_id = h.event_id AND e.global_position = h.seq"
        ).fetchone()
    assert ns == list(range(last))  # each event once (event_id is the primary key)
    assert matched == last  # each row at its event's own global position
    assert await backend.dlq.get_failed_events("rttest.exact") == []
    assert await backend.checkpoints.get_checkpoint_data("rttest.exact") is None


async def _paced_append(store: EventStore, count: int, start: int) -> None:
    """Append in small batches with pauses, so a runner follows them live."""
    for first in range(start, start + count, 25):
        await append_items(store, 25, start=first, per_batch=25)
        await asyncio.sleep(0.03)


async def _run_and_kill(db: Path, target: int, context: str) -> int:
    """Start the child, SIGKILL it once its read model has ``target`` rows and return the
    position it stored, checking the read model agrees with it."""
    child = await _exact_child(db, "run")
    try:
        assert await _wait_for(
            lambda: child.returncode is not None or _read_model(db)[0] >= target, timeout=30
        ), f"{context}: the child never reached {target} events"
        if child.returncode is None:
            os.kill(child.pid, signal.SIGKILL)
        _, err = await child.communicate()
    finally:
        if child.returncode is None:
            child.kill()
            await child.wait()
    assert child.returncode == -signal.SIGKILL, f"{context}: {err.decode()}"
    rows, top, position = _read_model(db)
    # Read model and position were committed together: no event applied without its
    # position, no position without its event.
    assert rows == top == position, f"{context}: rows, max seq, position = {rows, top, position}"
    return position


async def test_sigkill_mid_stream_applies_each_event_exactly_once(tmp_path: Path) -> None:
    """Three SIGKILLs at random moments (catching up, then live) and restarts: after each
    kill the read model and the stored position agree; at the end every event is applied
    exactly once and the position is the last global position."""
    pytest.importorskip("eventsource_sqlite")
    db = tmp_path / "exact.db"
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    killed: list[int] = []
    async with open_backend(f"sqlite:///{db}") as backend:
        await append_items(backend.events, TOTAL // 2, per_batch=200)
        writer = asyncio.create_task(_paced_append(backend.events, TOTAL // 2, TOTAL // 2))
        try:
            for low, high in ((0.05, 0.3), (0.55, 0.7), (0.75, 0.9)):
                target = int(TOTAL * rng.uniform(low, high))
                position = await _run_and_kill(db, target, f"seed {seed}")
                assert 0 < position < TOTAL, f"seed {seed}: kill at {position} not mid-stream"
                killed.append(position)
        finally:
            await writer
        await _finish(db, backend, killed[-1])


@pytest.mark.parametrize("where", ["in-tx", "after-commit"])
async def test_sigkill_at_a_chosen_point_of_the_transaction(tmp_path: Path, where: str) -> None:
    """Killed inside the transaction (before COMMIT) the event is rolled back and applied
    after the restart; killed just after COMMIT it is not applied again."""
    pytest.importorskip("eventsource_sqlite")
    db = tmp_path / "exact.db"
    kill_at = random.randrange(100, 900)
    async with open_backend(f"sqlite:///{db}") as backend:
        await append_items(backend.events, 1000, per_batch=200)
        child = await _exact_child(db, "catchup", str(kill_at), where)
        _, err = await asyncio.wait_for(child.communicate(), 60)
        assert child.returncode == -signal.SIGKILL, err.decode()
        # n = global position - 1: in-tx, events 0..kill_at-1 are in; after-commit, kill_at too.
        applied = kill_at if where == "in-tx" else kill_at + 1
        assert _read_model(db) == (applied, applied, applied)
        await _finish(db, backend, applied)
