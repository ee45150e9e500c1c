"""The second baseline: the raw driver with no framework at all.

What a user writing the SQL by hand would do: events are plain dicts, payloads JSON text from
the stdlib ``json`` module, rows stay driver tuples (decoding a read means ``json.loads`` of
the payload; a metadata-only read touches the row's columns and nothing else). Compared with
the "same decoding" baseline this also charges us for pydantic, so both ratios together say
what the framework costs and what typed events cost.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

__all__ = ["LABEL", "doc", "docs", "dumps", "loads"]

#: Suffix of the baseline's label in the table.
LABEL = "no framework"

dumps = json.dumps
loads = json.loads


def doc(aggregate_id: UUID, version: int, i: int) -> dict[str, Any]:
    """The event a hand-written app would store: the same fields as the benchmark event."""
    return {
        "event_id": str(uuid4()),
        "event_type": "BenchItemAdded",
        "event_version": 1,
        "occurred_at": datetime.now(UTC).isoformat(),
        "aggregate_id": str(aggregate_id),
        "aggregate_type": "Cart",
        "aggregate_version": version,
        "tenant_id": None,
        "actor_id": None,
        "correlation_id": str(uuid4()),
        "causation_id": None,
        "metadata": {},
        "sku": f"SKU-{i:05d}",
        "quantity": i + 1,
        "price_cents": 1999,
        "note": "gift wrap",
    }


def docs(count: int) -> list[dict[str, Any]]:
    """``count`` events of one new stream, versions 1..count."""
    aggregate_id = uuid4()
    return [doc(aggregate_id, i + 1, i) for i in range(count)]
