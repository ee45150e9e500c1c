"""The schema of all five roles, versioned so a later release can migrate an existing file.

The version lives in the one-row table ``eventsource_schema`` (not ``PRAGMA user_version``,
which the application may use for itself). :func:`ensure_schema` applies the migrations from
the stored version up to :data:`SCHEMA_VERSION` in one write transaction, and refuses a file
whose schema is newer than this release with :class:`SchemaVersionError`.

Times are stored as integer microseconds since the Unix epoch (UTC); UUIDs as text.
Versions: 1 events, checkpoints, outbox, DLQ; 2 adds ``aggregate_snapshots`` (a table a
release-1 process never touches, so it keeps working on a migrated file); 3 adds stream
lifecycle: ``stream_lifecycle`` (the deleted marks) and ``events_deleted`` (soft-deleted rows,
kept aside for a restore).
"""

from __future__ import annotations

import sqlite3

from eventsource.spi import (
    SchemaVersionError,
)

from ._legacy import refuse_legacy
from ._tx import write_transaction

__all__ = [
    "LATER_INDEXES",
    "LATER_TABLES",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "create_tables",
    "ensure_schema",
    "record_version",
    "stored_schema_version",
]

_V1 = [
    """CREATE TABLE IF NOT EXISTS events (
        global_position INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL,
        aggregate_id TEXT NOT NULL,
        aggregate_type TEXT NOT NULL,
        aggregate_version INTEGER NOT NULL,
        event_type TEXT NOT NULL,
        event_version INTEGER NOT NULL,
        tenant_id TEXT,
        occurred_at INTEGER NOT NULL,
        stored_at INTEGER NOT NULL,
        payload TEXT NOT NULL
    )""",
    # stream reads, stream version (MAX) and one winner per expected version
    """CREATE UNIQUE INDEX IF NOT EXISTS events_stream
        ON events (aggregate_id, aggregate_type, aggregate_version)""",
    "CREATE UNIQUE INDEX IF NOT EXISTS events_event_id ON events (event_id)",
    # get_events_by_type, in global order
    """CREATE INDEX IF NOT EXISTS events_aggregate_type
        ON events (aggregate_type, global_position)""",
    # read_all(event_types=...) and checkpoint lag metrics
    "CREATE INDEX IF NOT EXISTS events_event_type ON events (event_type, global_position)",
    # read_all(tenant_id=...); partial: events without a tenant cost nothing here
    """CREATE INDEX IF NOT EXISTS events_tenant
        ON events (tenant_id, global_position) WHERE tenant_id IS NOT NULL""",
    """CREATE TABLE IF NOT EXISTS projection_checkpoints (
        projection_name TEXT PRIMARY KEY,
        last_event_id TEXT,
        last_event_type TEXT,
        global_position INTEGER,
        events_processed INTEGER NOT NULL DEFAULT 0,
        updated_at INTEGER NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS event_outbox (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        event_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        aggregate_id TEXT NOT NULL,
        aggregate_type TEXT NOT NULL,
        tenant_id TEXT,
        event_data TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        retry_count INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        published_at INTEGER,
        claimed_by TEXT,
        claimed_until INTEGER,
        available_at INTEGER
    )""",
    # pending entries, oldest first; partial: published entries cost nothing here
    "CREATE INDEX IF NOT EXISTS outbox_pending ON event_outbox (seq) WHERE status = 'pending'",
    # cleanup_published
    """CREATE INDEX IF NOT EXISTS outbox_published
        ON event_outbox (published_at) WHERE status = 'published'""",
    """CREATE TABLE IF NOT EXISTS dead_letter_queue (
        id INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL,
        projection_name TEXT NOT NULL,
        event_type TEXT NOT NULL,
        event_data TEXT NOT NULL,
        error_type TEXT NOT NULL,
        error_message TEXT NOT NULL,
        error_stacktrace TEXT NOT NULL,
        retry_count INTEGER NOT NULL,
        first_failed_at INTEGER NOT NULL,
        last_failed_at INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'failed',
        resolved_at INTEGER,
        resolution TEXT,
        UNIQUE (event_id, projection_name)
    )""",
    # failed (or retrying / resolved) entries, oldest failure first, of all or one projection
    """CREATE INDEX IF NOT EXISTS dlq_status
        ON dead_letter_queue (status, first_failed_at, id)""",
    """CREATE INDEX IF NOT EXISTS dlq_projection_status
        ON dead_letter_queue (projection_name, status, first_failed_at, id)""",
]

# Snapshots: one row per aggregate, the state as the JSON text core wrote, and its checksum.
# (Not "snapshots": eventsource-py 0.5.0 files have a table of that name and another shape.)
_V2 = [
    """CREATE TABLE IF NOT EXISTS aggregate_snapshots (
        aggregate_id TEXT NOT NULL,
        aggregate_type TEXT NOT NULL,
        version INTEGER NOT NULL,
        schema_version INTEGER NOT NULL,
        state TEXT NOT NULL,
        event_id TEXT,
        created_at INTEGER NOT NULL,
        checksum TEXT NOT NULL,
        PRIMARY KEY (aggregate_id, aggregate_type)
    )""",
    # delete_snapshots_by_type(type, schema_version_below=...)
    """CREATE INDEX IF NOT EXISTS aggregate_snapshots_type
        ON aggregate_snapshots (aggregate_type, schema_version)""",
]

# Stream lifecycle (docs/lifecycle.md): one mark per deleted stream, which appends check; the
# rows of soft-deleted streams, with their global positions, until a restore or a hard delete.
_V3 = [
    """CREATE TABLE IF NOT EXISTS stream_lifecycle (
        aggregate_id TEXT NOT NULL,
        aggregate_type TEXT NOT NULL,
        hard INTEGER NOT NULL,
        last_version INTEGER NOT NULL,
        deleted_at INTEGER NOT NULL,
        PRIMARY KEY (aggregate_id, aggregate_type)
    )""",
    """CREATE TABLE IF NOT EXISTS events_deleted (
        global_position INTEGER PRIMARY KEY,
        event_id TEXT NOT NULL,
        aggregate_id TEXT NOT NULL,
        aggregate_type TEXT NOT NULL,
        aggregate_version INTEGER NOT NULL,
        event_type TEXT NOT NULL,
        event_version INTEGER NOT NULL,
        tenant_id TEXT,
        occurred_at INTEGER NOT NULL,
        stored_at INTEGER NOT NULL,
        payload TEXT NOT NULL
    )""",
    """CREATE INDEX IF NOT EXISTS events_deleted_stream
        ON events_deleted (aggregate_id, aggregate_type, aggregate_version)""",
]

#: Tables added without a schema version of their own (nothing an older process relies on
#: changes), by name:
#: created when a file that lacks them is opened. Ownership leases of projections; retention
#: policies.
LATER_TABLES: dict[str, str] = {
    "projection_leases": """CREATE TABLE IF NOT EXISTS projection_leases (
        projection_name TEXT PRIMARY KEY,
        owner_id TEXT NOT NULL,
        token INTEGER NOT NULL,
        acquired_at INTEGER NOT NULL,
        renewed_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        released_at INTEGER
    )""",
    # Retention policies (docs/lifecycle.md), one per aggregate type, for every scavenge.
    "retention_policies": """CREATE TABLE IF NOT EXISTS retention_policies (
        aggregate_type TEXT PRIMARY KEY,
        max_age_us INTEGER,
        max_count INTEGER,
        updated_at INTEGER NOT NULL
    )""",
}

#: Indexes added within schema version 2 (nothing an older process relies on changes), by
#: name: created when a file that lacks them is opened. Ordered outbox claims: the oldest
#: pending entry of one aggregate.
LATER_INDEXES: dict[str, str] = {
    "outbox_pending_aggregate": """CREATE INDEX IF NOT EXISTS outbox_pending_aggregate
        ON event_outbox (aggregate_id, seq) WHERE status = 'pending'""",
}

#: Statements that bring a file from version ``n - 1`` to version ``n``.
MIGRATIONS: dict[int, list[str]] = {1: _V1, 2: _V2, 3: _V3}

#: The schema version this release writes and understands.
SCHEMA_VERSION = max(MIGRATIONS)

_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS eventsource_schema (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
)"""


def stored_schema_version(conn: sqlite3.Connection) -> int:
    """The schema version recorded in the file (0 for a file without our tables)."""
    try:
        row = conn.execute("SELECT version FROM eventsource_schema WHERE id = 1").fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return 0
        raise
    return int(row[0]) if row else 0


def _check(version: int, path: str) -> bool:
    """True when the file is current; raise for a newer schema."""
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"SQLite database {path} has eventsource schema version {version}, newer than "
            f"this release understands ({SCHEMA_VERSION}): upgrade eventsource-sqlite"
        )
    return version == SCHEMA_VERSION


def ensure_schema(conn: sqlite3.Connection, path: str) -> None:
    """Create or migrate the schema (runs on the connection's thread; idempotent).

    Inside a caller's transaction the statements join it; otherwise they run in their own
    ``BEGIN IMMEDIATE`` transaction, so concurrent initialisers apply each migration once.
    A file written by eventsource-py 0.5.0 (or whose conversion is unfinished) raises
    :class:`~eventsource.LegacySchemaError` and is left as it is.
    """
    version = stored_schema_version(conn)
    if _check(version, path):
        _ensure_later_tables(conn)
        return
    if version == 0:  # before taking the write lock: a read-only file is told the same
        refuse_legacy(conn, path)
    with write_transaction(conn):
        version = stored_schema_version(conn)  # again, now that we hold the write lock
        if _check(version, path):
            _ensure_later_tables(conn)
            return
        if version == 0:  # a conversion may have started meanwhile
            refuse_legacy(conn, path)
        create_tables(conn, version)
        record_version(conn)


def create_tables(conn: sqlite3.Connection, version: int = 0) -> None:
    """Run the migrations from ``version`` up to :data:`SCHEMA_VERSION` (no version row),
    and create the tables of :data:`LATER_TABLES` and indexes of :data:`LATER_INDEXES`."""
    for target in range(version + 1, SCHEMA_VERSION + 1):
        for statement in MIGRATIONS[target]:
            conn.execute(statement)
    for statement in (*LATER_TABLES.values(), *LATER_INDEXES.values()):
        conn.execute(statement)


def record_version(conn: sqlite3.Connection) -> None:
    """Record :data:`SCHEMA_VERSION` in the file: from now on it opens as current."""
    conn.execute(_VERSION_TABLE)
    conn.execute(
        "INSERT INTO eventsource_schema (id, version) VALUES (1, ?) "
        "ON CONFLICT (id) DO UPDATE SET version = excluded.version",
        (SCHEMA_VERSION,),
    )


def _ensure_later_tables(conn: sqlite3.Connection) -> None:
    """Create the tables of :data:`LATER_TABLES` and indexes of :data:`LATER_INDEXES` a
    current file lacks (looked up first, so a
    file that has them all is not written to)."""
    missing = [
        sql
        for name, sql in LATER_TABLES.items()
        if conn.execute(f"PRAGMA table_info({name})").fetchone() is None
    ] + [
        sql
        for name, sql in LATER_INDEXES.items()
        if conn.execute(f"PRAGMA index_info({name})").fetchone() is None
    ]
    if not missing:
        return
    try:
        with write_transaction(conn):
            for sql in missing:
                conn.execute(sql)
    except sqlite3.OperationalError as exc:
        if "readonly" not in str(exc):
            raise
        # a read-only connection: only what reads these tables finds them missing
