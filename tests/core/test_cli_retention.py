"""``eventsource streams retention set|clear|list`` and ``streams scavenge`` applying the
stored policies, on a real SQLite file: a policy stored by one command is applied by another
process's scavenge and recorded by StreamTruncated events."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from uuid import UUID, uuid4

import pytest

from eventsource import RetentionPolicy, StreamTruncated, open_backend
from eventsource.cli import main
from eventsource.testing._events import AGGREGATE_TYPE, OTHER_AGGREGATE_TYPE, noted


async def _seed(url: str, streams: dict[UUID, tuple[str, int]]) -> None:
    async with open_backend(url) as backend:
        for aid, (aggregate_type, count) in streams.items():
            events = noted(aid, count, aggregate_type=aggregate_type)
            await backend.events.append_events(aid, aggregate_type, events, 0)


async def _state(url: str) -> tuple[dict[str, RetentionPolicy], list[tuple[str, int]]]:
    async with open_backend(url) as backend:
        policies = await backend.events.load_retention()
        truncations = [
            (s.event.stream_type, s.event.removed)
            async for s in backend.events.read_all()
            if isinstance(s.event, StreamTruncated)
        ]
    return policies, truncations


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_stored_policies_drive_scavenge(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    first, second = uuid4(), uuid4()
    asyncio.run(_seed(url, {first: (AGGREGATE_TYPE, 6), second: (OTHER_AGGREGATE_TYPE, 4)}))
    base = ["--url", url, "streams", "retention"]
    assert _run(capsys, *base, "list") == (0, "no retention policies stored\n")
    assert _run(capsys, *base, "set", AGGREGATE_TYPE, "--max-count", "2") == (
        0,
        f"stored: {AGGREGATE_TYPE}\n",
    )
    code, out = _run(capsys, "--json", *base, "set", OTHER_AGGREGATE_TYPE, "--max-count", "3")
    assert code == 0 and json.loads(out)["max_count"] == 3
    code, out = _run(capsys, "--json", *base, "list")
    assert (code, json.loads(out)) == (
        0,
        [
            {"aggregate_type": AGGREGATE_TYPE, "max_count": 2, "max_age_days": None},
            {"aggregate_type": OTHER_AGGREGATE_TYPE, "max_count": 3, "max_age_days": None},
        ],
    )
    # TYPE alone: only that type's stored policy
    assert _run(capsys, "--url", url, "streams", "scavenge", OTHER_AGGREGATE_TYPE) == (
        0,
        "removed: 1\n",
    )
    assert _run(capsys, "--url", url, "streams", "scavenge") == (0, "removed: 4\n")
    policies, truncations = asyncio.run(_state(url))
    assert sorted(truncations) == [(AGGREGATE_TYPE, 4), (OTHER_AGGREGATE_TYPE, 1)]
    assert policies == {
        AGGREGATE_TYPE: RetentionPolicy(max_count=2),
        OTHER_AGGREGATE_TYPE: RetentionPolicy(max_count=3),
    }
    assert _run(capsys, *base, "clear", AGGREGATE_TYPE) == (0, f"removed: {AGGREGATE_TYPE}\n")
    assert _run(capsys, *base, "clear", AGGREGATE_TYPE) == (
        0,
        f"no policy stored for {AGGREGATE_TYPE}\n",
    )
    assert list(asyncio.run(_state(url))[0]) == [OTHER_AGGREGATE_TYPE]


def test_bad_retention_input_changes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/cli.db"
    asyncio.run(_seed(url, {uuid4(): (AGGREGATE_TYPE, 1)}))
    base = ["--url", url, "streams", "retention", "set"]
    assert main([*base, AGGREGATE_TYPE]) == 2  # neither option
    assert main([*base, AGGREGATE_TYPE, "--max-count", "0"]) == 2
    assert main([*base, AGGREGATE_TYPE, "--max-age", "-1"]) == 2
    assert main([*base, "eventsource.Stream", "--max-count", "1"]) != 0
    capsys.readouterr()
    assert asyncio.run(_state(url))[0] == {}
