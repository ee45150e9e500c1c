"""Whether a schema holds an eventsource store, asked without creating anything."""

from __future__ import annotations

from typing import Any

from eventsource.spi import (
    StoreNotFoundError,
)

from ._legacy import refuse_legacy
from ._options import PostgresOptions

__all__ = ["require_store"]

_PROBE = """
SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1),
       to_regclass($2) IS NOT NULL
"""


async def require_store(conn: Any, options: PostgresOptions, where: str) -> None:
    """Raise :class:`StoreNotFoundError` unless ``options.schema`` exists and holds an
    initialised eventsource store (its version table with a version); only reads."""
    schema, s = options.schema, options.quoted_schema
    location = f"schema {schema!r} at {where}"
    has_schema, has_table = await conn.fetchrow(_PROBE, schema, f"{s}.eventsource_schema")
    if not has_schema:
        raise StoreNotFoundError(
            f"PostgreSQL schema {schema!r} does not exist at {where} (nothing was created;"
            " check ?schema=)",
            location=location,
        )
    version = None
    if has_table:
        version = await conn.fetchval(f"SELECT max(version) FROM {s}.eventsource_schema")
    if version is None:
        await refuse_legacy(conn, options, where)
        raise StoreNotFoundError(
            f"PostgreSQL schema {schema!r} at {where} exists but holds no eventsource store "
            "(no initialised eventsource_schema table; nothing was created)",
            location=location,
        )
