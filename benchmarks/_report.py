"""Shared reporting for the benchmark suite: one table row per workload, ours beside raw."""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["Row", "drop_schemas", "format_table", "median_rate"]


@dataclass(frozen=True)
class Row:
    """One workload's result: events/s for our store and for the raw driver baseline."""

    backend: str
    workload: str
    ours: float
    raw: float
    raw_label: str
    unit: str = "events/s"
    target: float | None = None
    note: str = ""
    #: For rows judged on something other than the ratio (a latency or memory bound):
    #: the bound as text, and whether the measurement is within it.
    bound: str = ""
    within_bound: bool | None = None

    @property
    def ratio(self) -> float:
        """ours / raw (for latency rows, raw / ours so that higher is better)."""
        return self.ours / self.raw if self.raw else 0.0

    @property
    def met(self) -> str:
        """'yes'/'NO' against the target ratio (or the bound), '' without one."""
        if self.within_bound is not None:
            return "yes" if self.within_bound else "NO"
        if self.target is None:
            return ""
        return "yes" if self.ratio >= self.target else "NO"


async def median_rate(run: Callable[[], Awaitable[int]], rounds: int = 3) -> float:
    """Median events/s over ``rounds`` calls of ``run`` (which returns how many events it did
    and is timed whole)."""
    import time

    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        count = await run()
        rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates)


def format_table(rows: list[Row]) -> str:
    """The rows as an aligned text table."""
    header = ("backend", "workload", "ours", "raw", "baseline", "ratio", "target", "met", "note")
    lines = [header]
    for r in rows:
        lines.append(
            (
                r.backend,
                r.workload,
                f"{r.ours:,.0f}",
                f"{r.raw:,.0f}" if r.raw else "-",
                r.raw_label,
                f"{r.ratio:.2f}" if r.raw else "-",
                r.bound or ("" if r.target is None else f">= {r.target:.2f}"),
                r.met,
                r.note,
            )
        )
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(line)).rstrip()
        for line in lines
    )


async def drop_schemas(url: str, *schemas: str) -> None:
    """Drop the PostgreSQL ``schemas`` a benchmark made (``CASCADE``; missing ones are fine)."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        for schema in schemas:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()
