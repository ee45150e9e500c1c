"""Recognising a schema written by eventsource-py 0.5.0 (or one whose conversion is unfinished).

0.5.0's ``events`` has ``version`` where ours has ``aggregate_version``, and there is no
``eventsource_schema``. A conversion renames 0.5.0's tables ``legacy050_*`` and marks itself in
``eventsource_legacy_upgrade`` until it has finished.
"""

from __future__ import annotations

from typing import Any

from eventsource.spi import LegacyState, legacy_schema_error

from ._options import PostgresOptions

__all__ = [
    "LEGACY_PREFIX",
    "LEGACY_TABLE_NAMES",
    "MARK_TABLE",
    "command_url",
    "legacy_state",
    "refuse_legacy",
]

LEGACY_PREFIX = "legacy050_"
#: 0.5.0's tables of ``all.sql`` (snapshots are moved aside, not converted).
LEGACY_TABLE_NAMES = (
    "events",
    "event_outbox",
    "projection_checkpoints",
    "dead_letter_queue",
    "snapshots",
)
MARK_TABLE = "eventsource_legacy_upgrade"

_PROBE = """
SELECT to_regclass($1) IS NOT NULL,
       to_regclass($2) IS NOT NULL,
       EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = $3 AND table_name = 'events' AND column_name = 'version'),
       EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = $3
               AND table_name = 'events' AND column_name = 'aggregate_version')
"""


async def legacy_state(conn: Any, options: PostgresOptions) -> LegacyState:
    """What ``options.schema`` holds, as far as a conversion is concerned (only reads)."""
    s = options.quoted_schema
    marked, versioned, old, new = await conn.fetchrow(
        _PROBE, f"{s}.{MARK_TABLE}", f"{s}.eventsource_schema", options.schema
    )
    if marked:
        return LegacyState.CONVERTING
    if versioned and await conn.fetchval(f"SELECT count(*) FROM {s}.eventsource_schema"):
        return LegacyState.CURRENT
    if old and not new:
        return LegacyState.LEGACY
    return LegacyState.EMPTY


def command_url(where: str | None, schema: str) -> str:
    """The URL to name in ``eventsource upgrade URL`` for ``schema`` at ``where``."""
    base = (where or "").split("?", 1)[0]
    if not base.startswith("postgres"):
        base = "postgresql://USER@HOST:5432/DATABASE"
    return base if schema == "public" else f"{base}?schema={schema}"


async def refuse_legacy(conn: Any, options: PostgresOptions, where: str | None) -> None:
    """Raise :class:`~eventsource.LegacySchemaError` for a 0.5.0 schema or an unfinished
    conversion; return for anything else."""
    state = await legacy_state(conn, options)
    if state in (LegacyState.LEGACY, LegacyState.CONVERTING):
        raise legacy_schema_error(
            f"PostgreSQL schema {options.schema!r}",
            command_url(where, options.schema),
            converting=state is LegacyState.CONVERTING,
        )
