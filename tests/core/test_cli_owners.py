"""``eventsource checkpoints owners``: who owns each projection, since when."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from eventsource import parse_url
from eventsource.cli import main
from eventsource.memory import MemoryCheckpointRepository
from eventsource.memory import plugin as memory_plugin


def test_checkpoints_owners_lists_live_expired_and_released_leases(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"memory://cli-owners-{uuid4().hex[:10]}"
    store = memory_plugin.store_from_url(parse_url(url))
    repo = MemoryCheckpointRepository(store)
    now = datetime.now(UTC)

    async def fill() -> None:
        await repo.acquire_lease("orders", "host-1-a", timedelta(hours=1))
        await repo.acquire_lease("stale", "host-2-b", timedelta(seconds=1), now=now - timedelta(1))
        gone = await repo.acquire_lease("totals", "host-3-c", timedelta(hours=1))
        assert gone is not None
        await repo.release_lease(gone)

    assert main(["--url", url, "checkpoints", "owners"]) == 0
    assert capsys.readouterr().out.strip() == "No owners."
    asyncio.run(fill())
    assert main(["--url", url, "checkpoints", "owners"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["PROJECTION", "OWNER", "STATE", "TOKEN", "SINCE", "EXPIRES"]
    assert [line.split()[:4] for line in lines[1:]] == [
        ["orders", "host-1-a", "live", "1"],
        ["stale", "host-2-b", "expired", "1"],
        ["totals", "host-3-c", "released", "1"],
    ]
    assert main(["--url", url, "--json", "checkpoints", "owners"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(x["projection_name"], x["state"], x["token"]) for x in data] == [
        ("orders", "live", 1),
        ("stale", "expired", 1),
        ("totals", "released", 1),
    ]


def test_checkpoints_owners_hides_the_heartbeats_of_workers_gone_for_good(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"memory://cli-owners-{uuid4().hex[:10]}"
    repo = MemoryCheckpointRepository(memory_plugin.store_from_url(parse_url(url)))
    now = datetime.now(UTC)
    ttl = timedelta(seconds=3)

    async def fill() -> None:
        await repo.acquire_lease("p#workers/live", "live", ttl)
        await repo.acquire_lease("p#workers/late", "late", ttl, now=now - 2 * ttl)  # expired
        await repo.acquire_lease("p#workers/gone", "gone", ttl, now=now - 10 * ttl)  # stale
        left = await repo.acquire_lease("p#workers/left", "left", ttl)
        assert left is not None and await repo.release_lease(left)
        await repo.acquire_lease("p#0/2", "old", ttl, now=now - 10 * ttl)  # a shard: kept

    asyncio.run(fill())
    assert main(["--url", url, "--json", "checkpoints", "owners"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(x["projection_name"], x["state"]) for x in data] == [
        ("p#0/2", "expired"),
        ("p#workers/late", "expired"),
        ("p#workers/live", "live"),
    ]
