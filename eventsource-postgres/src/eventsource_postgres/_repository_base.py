"""What the three repositories share: where their connections come from and their schema."""

from __future__ import annotations

import json
from typing import Any

from eventsource.spi import (
    DEFAULT_MAX_EVENT_BYTES,
)

from ._connections import ConnectionSource
from ._options import PostgresOptions

__all__ = ["PostgresRepository", "dump_json", "load_json"]


def dump_json(data: Any) -> str:
    """``data`` as JSON text for a jsonb column (unknown types as strings)."""
    return json.dumps(data, default=str)


def load_json(text: Any) -> Any:
    """A jsonb column's value (asyncpg hands jsonb over as text) as Python data."""
    return json.loads(text) if isinstance(text, str | bytes) else text


class PostgresRepository:
    """Base of the PostgreSQL repositories.

    ``source`` is a :class:`PostgreSQLEventStore` (share its pool and schema), an asyncpg
    pool, or an asyncpg connection: over a connection the repository writes inside whatever
    transaction the caller has open and never commits it.
    """

    def __init__(self, source: Any, *, schema: str | None = None) -> None:
        from ._store import PostgreSQLEventStore

        self._event_store = source if isinstance(source, PostgreSQLEventStore) else None
        if isinstance(source, PostgreSQLEventStore):
            self._source = source.source
            if schema is not None and schema != source.schema:
                self._source = ConnectionSource(
                    PostgresOptions(schema=schema), pool=source.source.pool
                )
        else:
            self._source = ConnectionSource.wrap(source, PostgresOptions(schema=schema or "public"))
        self._s = self._source.options.quoted_schema

    @property
    def max_event_bytes(self) -> int:
        """The largest event document an outbox entry may hold: the store's limit, if built
        over a store."""
        store = self._event_store
        return store.max_event_bytes if store is not None else DEFAULT_MAX_EVENT_BYTES

    @property
    def schema(self) -> str:
        """The PostgreSQL schema holding the repository's table."""
        return self._source.options.schema

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        rows: list[Any] = await self._source.run(lambda c: c.fetch(sql, *args), retry=True)
        return rows

    async def _fetchrow(self, sql: str, *args: Any, write: bool = False) -> Any:
        return await self._source.run(lambda c: c.fetchrow(sql, *args), retry=not write)

    async def _fetchval(self, sql: str, *args: Any, write: bool = False) -> Any:
        return await self._source.run(lambda c: c.fetchval(sql, *args), retry=not write)

    async def _execute(self, sql: str, *args: Any) -> str:
        result: str = await self._source.run(lambda c: c.execute(sql, *args))
        return result
