"""Four ordered relay processes on one PostgreSQL schema: every entry published once, each
aggregate's in add order (marked ``slow``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from relay_order_race import check_order, fill, run_relay_processes

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


async def test_four_ordered_relay_processes_keep_aggregate_order(
    pg_url_with_fresh_schema: str, tmp_path: Path
) -> None:
    url = pg_url_with_fresh_schema.replace("pool_max=4", "pool_max=2")
    added = await fill(url, aggregates=50, entries=2000)
    rows = run_relay_processes(url, tmp_path / "published.log", processes=4)
    workers = check_order(added, rows)
    assert len(rows) == 2000 and len(workers) > 1, f"published by {workers}"
