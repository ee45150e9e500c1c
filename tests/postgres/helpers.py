"""Helpers shared by the PostgreSQL tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

from eventsource_postgres import PostgreSQLEventStore

from .events import PgItemAdded


def added(aggregate_id: UUID, n: int = 1, start: int = 1, **fields: Any) -> list[PgItemAdded]:
    """``n`` PgItemAdded events for one aggregate, versions ``start``..."""
    return [
        PgItemAdded(
            aggregate_id=aggregate_id,
            aggregate_type="Cart",
            aggregate_version=start + i,
            name=f"item-{start + i}",
            quantity=i,
            **fields,
        )
        for i in range(n)
    ]


@contextlib.asynccontextmanager
async def open_stores(
    url: str, count: int, **kwargs: Any
) -> AsyncIterator[list[PostgreSQLEventStore]]:
    """``count`` connected stores, each with its own pool, on ``url`` (schema initialized)."""
    async with contextlib.AsyncExitStack() as stack:
        stores = []
        for _ in range(count):
            store = await stack.enter_async_context(PostgreSQLEventStore(url, **kwargs))
            stores.append(store)
        await stores[0].initialize()
        yield stores
