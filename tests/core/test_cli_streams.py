"""``eventsource streams delete|restore|truncate|scavenge`` on a real SQLite file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from eventsource import StreamDeleted, open_backend
from eventsource.cli import main
from eventsource.testing._events import AGGREGATE_TYPE, noted


async def _seed(url: str, aid: UUID, count: int) -> None:
    async with open_backend(url) as backend:
        await backend.events.append_events(aid, AGGREGATE_TYPE, noted(aid, count), 0)


async def _stream(url: str, aid: UUID) -> tuple[list[int], list[str]]:
    async with open_backend(url) as backend:
        stream = await backend.events.get_events(aid, AGGREGATE_TYPE)
        types = [s.event.event_type async for s in backend.events.read_all()]
    return [e.aggregate_version for e in stream.events], types


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_streams_commands(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    aid = uuid4()
    asyncio.run(_seed(url, aid, 6))
    key = [str(aid), AGGREGATE_TYPE]
    assert _run(capsys, "--url", url, "streams", "truncate", *key, "--before", "3") == (
        0,
        "removed: 2\n",
    )
    code, out = _run(
        capsys, "--url", url, "--json", "streams", "scavenge", AGGREGATE_TYPE, "--max-count", "2"
    )
    assert (code, json.loads(out)) == (0, {"removed": 2})
    assert asyncio.run(_stream(url, aid))[0] == [5, 6]
    assert _run(capsys, "--url", url, "streams", "delete", *key) == (0, "deleted: 2\n")
    assert _run(capsys, "--url", url, "streams", "restore", *key) == (0, "restored: 2\n")
    assert _run(capsys, "--url", url, "streams", "delete", *key, "--hard") == (0, "deleted: 2\n")
    versions, types = asyncio.run(_stream(url, aid))
    assert versions == []
    assert types.count(StreamDeleted.default_event_type()) == 2
    assert main(["--url", url, "streams", "restore", *key]) == 1  # a hard delete is final
    assert "hard-deleted" in capsys.readouterr().err
    # TYPE alone applies its stored policy (none here); options need a TYPE
    assert _run(capsys, "--url", url, "streams", "scavenge", AGGREGATE_TYPE) == (0, "removed: 0\n")
    assert main(["--url", url, "streams", "scavenge", "--max-count", "2"]) == 2
