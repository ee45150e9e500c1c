"""Conformance with writers in separate OS processes: what tasks in one process cannot show
(a backend that orders or batches per process, per connection pool, or per client library).

Not part of :class:`BackendConformance` (each test starts processes and takes seconds): add
:class:`ProcessConcurrencyConformance` to a test class of its own and give it a
``backend_url`` fixture, the URL a child process opens with ``open_backend`` to reach the
test's storage (a backend without one, e.g. memory, skips these tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from uuid import UUID, uuid4

import pytest

from ..stores._types import ReadOptions, StoredEvent
from ._base import ConformanceBase, ids, read_all_list
from ._events import AGGREGATE_TYPE, retry_batch
from ._roles import RoleBackend

__all__ = ["ProcessConcurrencyConformance"]


@contextlib.contextmanager
def _children(argvs: list[list[str]]) -> Iterator[list[subprocess.Popen[str]]]:
    """Started children, each ready (it printed ``ready``) and then released together."""
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "eventsource.testing._process_child", *argv],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for argv in argvs
    ]
    try:
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline().strip()
            assert line == "ready", f"a writer process failed to open the backend: {line!r}"
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        yield children
    finally:
        for child in children:
            child.kill()
            child.wait(timeout=30)
            for pipe in (child.stdin, child.stdout):
                if pipe is not None:
                    pipe.close()


def _output(child: subprocess.Popen[str]) -> list[str]:
    """A finished child's printed lines before ``done``; fails if it did not finish cleanly."""
    out, _ = child.communicate(timeout=300)
    lines = out.split()
    assert child.returncode == 0 and lines[-1:] == ["done"], (
        f"a writer process failed (exit {child.returncode}): {out[-2000:]!r}"
    )
    return lines[:-1]


class ProcessConcurrencyConformance(ConformanceBase):
    """Races between writer processes (``writer_processes`` of them, 8 by default)."""

    #: Starting processes takes long on a busy machine: at least this long per test.
    min_timeout = 300.0
    #: How many writer processes each race starts.
    writer_processes: int = 8
    #: Events each process writes in the tailing-reader race.
    process_events_per_writer: int = 60
    #: Rounds of the contested appends per process.
    contest_rounds: int = 20

    @pytest.fixture
    def backend_url(self) -> str | None:
        """Override: the URL of the test's storage, for ``open_backend`` in a child process
        (None: these tests are skipped)."""
        return None

    def _url(self, backend_url: str | None) -> str:
        if backend_url is None:
            pytest.skip("no backend_url fixture: a child process cannot reach the storage")
        return backend_url

    async def test_race_tailing_reader_with_writer_processes(
        self, backend: RoleBackend, backend_url: str | None
    ) -> None:
        """While writer *processes* commit, a reader tailing read_all from the last position
        it saw (and wait_for_events) ends having seen every event exactly once, in strictly
        increasing positions: no event becomes visible below a position already seen, however
        the backend combines commits across processes.

        Fix: positions must be assigned in visibility order database-wide, not per process or
        per pool (a lock held through commit, or ordering done by one holder at a time).
        """
        url = self._url(backend_url)
        per_writer = self.process_events_per_writer
        seen: list[StoredEvent] = []
        with _children(
            [["tail", url, str(i), str(per_writer)] for i in range(self.writer_processes)]
        ) as children:
            finished = asyncio.ensure_future(
                asyncio.to_thread(lambda: list(map(_output, children)))
            )
            position = 0
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 300
            while loop.time() < deadline:
                done = finished.done()
                got = 0
                async for stored in backend.events.read_all(
                    ReadOptions(from_position=position, limit=100)
                ):
                    assert stored.global_position > position, (
                        f"read_all from {position} yielded position {stored.global_position}"
                    )
                    position = stored.global_position
                    seen.append(stored)
                    got += 1
                if done and got == 0:
                    break
                if got == 0:
                    await backend.events.wait_for_events(position, 0.05)
            else:
                raise AssertionError("the tailing reader did not finish within 300s")
            outputs = await finished
        written = [UUID(line) for out in outputs for line in out]
        assert len(written) == per_writer * self.writer_processes
        seen_ids = ids(seen)
        missing = set(written) - set(seen_ids)
        assert not missing, f"the tailing reader skipped {len(missing)} of {len(written)} events"
        assert len(seen_ids) == len(set(seen_ids)), "the tailing reader saw an event twice"
        assert ids(await read_all_list(backend)) == seen_ids

    async def test_race_processes_one_winner_per_expected_version(
        self, backend: RoleBackend, backend_url: str | None
    ) -> None:
        """Writer processes append to one stream expecting versions 0, 1, 2, ... in turn, and
        to a second stream with ANY: every version of the first is won by exactly one process
        (the stream holds exactly the winners' events), and no ANY append fails.

        Fix: check the expected version and write in one step that serialises the writers of
        a stream across connections and processes (a unique key on (stream, version), a lock).
        """
        url = self._url(backend_url)
        contested = uuid4()
        shared = UUID(int=contested.int ^ 1)
        rounds = self.contest_rounds
        with _children(
            [["contest", url, str(contested), str(rounds)] for _ in range(self.writer_processes)]
        ) as children:
            outputs = await asyncio.to_thread(lambda: list(map(_output, children)))
        won = [int(line) for out in outputs for line in out]
        stream = await backend.events.get_events(contested, AGGREGATE_TYPE)
        assert sorted(won) == list(range(1, stream.version + 1)), (
            f"versions won {sorted(won)} against a stream at version {stream.version}"
        )
        assert [e.aggregate_version for e in stream.events] == list(range(1, len(won) + 1))
        assert stream.version >= 1
        others = await backend.events.get_events(shared, AGGREGATE_TYPE)
        total = rounds * self.writer_processes
        assert [e.aggregate_version for e in others.events] == list(range(1, total + 1))

    async def test_race_processes_retries_write_once(
        self, backend: RoleBackend, backend_url: str | None
    ) -> None:
        """Writer processes append the same batches (the same event ids) to one stream, round
        after round, each expecting the version before its round: every append of every
        process succeeds, all processes get the same results, and each batch is written
        exactly once.

        Fix: answer a conflict with ``original_result`` after looking the ids up, so the
        losers of a retry race across processes get the winner's result.
        """
        url = self._url(backend_url)
        aid = uuid4()
        rounds = self.contest_rounds
        with _children(
            [["retry", url, str(aid), str(rounds)] for _ in range(self.writer_processes)]
        ) as children:
            outputs = await asyncio.to_thread(lambda: list(map(_output, children)))
        assert all(out == outputs[0] for out in outputs), (
            f"writer processes got different results for the same appends: {outputs}"
        )
        stream = await backend.events.get_events(aid, AGGREGATE_TYPE)
        expected = [e.event_id for r in range(rounds) for e in retry_batch(aid, r)]
        assert ids(stream.events) == expected
        assert len(await read_all_list(backend)) == 2 * rounds, "a batch was written twice"
        assert [line.split("/")[0] for line in outputs[0]] == [
            str(2 * (r + 1)) for r in range(rounds)
        ]
