"""Databases as eventsource-py 0.5.0 wrote them, built from its DDL and rows in plain SQL.

The DDL is that of ``../shared/reference/eventsource-py-0.5.0-api.md`` section 7 (SQLite:
``sqlite_all.sql``; PostgreSQL: ``all.sql`` without ``CREATE EXTENSION "uuid-ossp"``, which
nothing in it uses), and the rows have 0.5.0's shapes: lowercase UUID text, ISO times
(``datetime('now')``'s ``YYYY-MM-DD HH:MM:SS`` where a default or the checkpoint trigger
wrote them), payloads as ``json.dumps(event.model_dump(mode="json"))`` with ``Z`` times, the
stream version in ``version`` (the store's count, not read from the event), outbox
``event_data`` as 0.5.0's envelope. No code of 0.5.0 is used.

:func:`make_data` builds the rows once (several aggregates of several types, interleaved in
the global order, a few tenants); :func:`build_sqlite` / :func:`build_postgres` write them.
"""

from __future__ import annotations

import json
import random
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from eventsource import DomainEvent

__all__ = [
    "PG_DDL",
    "SQLITE_DDL",
    "LegacyData",
    "build_postgres",
    "build_sqlite",
    "make_data",
]


class L5OrderPlaced(DomainEvent):
    """0.5.0-era event of the test application (its event_type is its class name)."""

    aggregate_type: str = "L5Order"
    customer_id: uuid.UUID
    total: float


class L5ItemAdded(DomainEvent):
    aggregate_type: str = "L5Order"
    sku: str
    quantity: int
    note: str | None = None


class L5OrderShipped(DomainEvent):
    aggregate_type: str = "L5Order"
    carrier: str
    shipped_at: datetime


class L5CustomerRegistered(DomainEvent):
    aggregate_type: str = "L5Customer"
    name: str
    tags: list[str] = []


EVENT_CLASSES = {
    cls.__name__: cls for cls in (L5OrderPlaced, L5ItemAdded, L5OrderShipped, L5CustomerRegistered)
}

SQLITE_DDL = """
CREATE TABLE IF NOT EXISTS events (
    global_position INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    aggregate_id TEXT NOT NULL,
    aggregate_type TEXT NOT NULL,
    event_type TEXT NOT NULL,
    tenant_id TEXT,
    actor_id TEXT,
    version INTEGER NOT NULL,
    timestamp TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (datetime('now')),
    UNIQUE (aggregate_id, aggregate_type, version)
);
CREATE INDEX IF NOT EXISTS idx_events_aggregate_id ON events (aggregate_id);
CREATE INDEX IF NOT EXISTS idx_events_aggregate_type ON events (aggregate_type);
CREATE INDEX IF NOT EXISTS idx_events_event_type ON events (event_type);
CREATE INDEX IF NOT EXISTS idx_events_timestamp ON events (timestamp);
CREATE INDEX IF NOT EXISTS idx_events_tenant_id ON events (tenant_id) WHERE tenant_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_events_type_tenant_timestamp
    ON events (aggregate_type, tenant_id, timestamp);
CREATE INDEX IF NOT EXISTS idx_events_aggregate_version
    ON events (aggregate_id, aggregate_type, version);

CREATE TABLE IF NOT EXISTS event_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    aggregate_type TEXT NOT NULL,
    tenant_id TEXT,
    event_data TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (datetime('now')),
    published_at TEXT,
    retry_count INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'published', 'failed'))
);
CREATE INDEX IF NOT EXISTS idx_outbox_status_created ON event_outbox (status, created_at)
    WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS idx_outbox_pending ON event_outbox (created_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS idx_outbox_event_id ON event_outbox (event_id);
CREATE INDEX IF NOT EXISTS idx_outbox_tenant_id ON event_outbox (tenant_id)
    WHERE tenant_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_outbox_failed ON event_outbox (created_at) WHERE status = 'failed';
CREATE INDEX IF NOT EXISTS idx_outbox_published_at ON event_outbox (published_at)
    WHERE status = 'published';

CREATE TABLE IF NOT EXISTS projection_checkpoints (
    projection_name TEXT PRIMARY KEY,
    last_event_id TEXT,
    last_event_type TEXT,
    last_processed_at TEXT,
    global_position INTEGER,
    events_processed INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL DEFAULT (datetime('now')),
    updated_at TEXT NOT NULL DEFAULT (datetime('now'))
);
CREATE INDEX IF NOT EXISTS idx_checkpoints_last_processed
    ON projection_checkpoints (last_processed_at);
CREATE INDEX IF NOT EXISTS idx_checkpoints_updated_at ON projection_checkpoints (updated_at);
CREATE TRIGGER IF NOT EXISTS trg_checkpoint_updated_at
    AFTER UPDATE ON projection_checkpoints FOR EACH ROW
BEGIN
    UPDATE projection_checkpoints SET updated_at = datetime('now')
    WHERE projection_name = NEW.projection_name;
END;

CREATE TABLE IF NOT EXISTS dead_letter_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    projection_name TEXT NOT NULL,
    event_type TEXT NOT NULL,
    event_data TEXT NOT NULL,
    error_message TEXT NOT NULL,
    error_stacktrace TEXT,
    retry_count INTEGER NOT NULL DEFAULT 0,
    first_failed_at TEXT NOT NULL DEFAULT (datetime('now')),
    last_failed_at TEXT NOT NULL DEFAULT (datetime('now')),
    status TEXT NOT NULL DEFAULT 'failed' CHECK (status IN ('failed', 'retrying', 'resolved')),
    resolved_at TEXT,
    resolved_by TEXT,
    UNIQUE (event_id, projection_name)
);
CREATE INDEX IF NOT EXISTS idx_dlq_status ON dead_letter_queue (status);
CREATE INDEX IF NOT EXISTS idx_dlq_projection_name ON dead_letter_queue (projection_name);
CREATE INDEX IF NOT EXISTS idx_dlq_event_id ON dead_letter_queue (event_id);
CREATE INDEX IF NOT EXISTS idx_dlq_first_failed_at ON dead_letter_queue (first_failed_at);
CREATE INDEX IF NOT EXISTS idx_dlq_projection_status ON dead_letter_queue (projection_name, status);
CREATE INDEX IF NOT EXISTS idx_dlq_active_failures ON dead_letter_queue (first_failed_at)
    WHERE status IN ('failed', 'retrying');
CREATE INDEX IF NOT EXISTS idx_dlq_resolved_at ON dead_letter_queue (resolved_at)
    WHERE status = 'resolved';

CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    aggregate_id TEXT NOT NULL,
    aggregate_type TEXT NOT NULL,
    version INTEGER NOT NULL,
    schema_version INTEGER NOT NULL DEFAULT 1,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (aggregate_id, aggregate_type)
);
CREATE INDEX IF NOT EXISTS idx_snapshots_aggregate_lookup
    ON snapshots (aggregate_id, aggregate_type);
CREATE INDEX IF NOT EXISTS idx_snapshots_aggregate_type ON snapshots (aggregate_type);
CREATE INDEX IF NOT EXISTS idx_snapshots_schema_version
    ON snapshots (aggregate_type, schema_version);
CREATE INDEX IF NOT EXISTS idx_snapshots_created_at ON snapshots (created_at);
"""

PG_DDL = """
CREATE TABLE IF NOT EXISTS events (
    global_position BIGSERIAL PRIMARY KEY,
    event_id UUID NOT NULL UNIQUE,
    aggregate_id UUID NOT NULL,
    aggregate_type VARCHAR(255) NOT NULL,
    event_type VARCHAR(255) NOT NULL,
    tenant_id UUID,
    actor_id VARCHAR(255),
    version INTEGER NOT NULL,
    timestamp TIMESTAMP WITH TIME ZONE NOT NULL,
    payload JSONB NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT uq_events_aggregate_version UNIQUE (aggregate_id, aggregate_type, version)
);
CREATE INDEX IF NOT EXISTS idx_events_aggregate_id ON events (aggregate_id);
CREATE INDEX IF NOT EXISTS idx_events_aggregate_type ON events (aggregate_type);
CREATE INDEX IF NOT EXISTS idx_events_event_type ON events (event_type);
CREATE INDEX IF NOT EXISTS idx_events_timestamp ON events (timestamp);
CREATE INDEX IF NOT EXISTS idx_events_tenant_id ON events (tenant_id) WHERE tenant_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_events_type_tenant_timestamp
    ON events (aggregate_type, tenant_id, timestamp);
CREATE INDEX IF NOT EXISTS idx_events_aggregate_version
    ON events (aggregate_id, aggregate_type, version);
COMMENT ON TABLE events IS 'Event store: append-only log of domain events';

CREATE TABLE IF NOT EXISTS event_outbox (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    event_id UUID NOT NULL,
    event_type VARCHAR(255) NOT NULL,
    aggregate_id UUID NOT NULL,
    aggregate_type VARCHAR(255) NOT NULL,
    tenant_id UUID,
    event_data JSONB NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    published_at TIMESTAMP WITH TIME ZONE,
    retry_count INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    status VARCHAR(20) NOT NULL DEFAULT 'pending',
    CONSTRAINT chk_outbox_status CHECK (status IN ('pending', 'published', 'failed'))
);
CREATE INDEX IF NOT EXISTS idx_outbox_status_created ON event_outbox (status, created_at)
    WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS idx_outbox_pending ON event_outbox (created_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS idx_outbox_event_id ON event_outbox (event_id);
CREATE INDEX IF NOT EXISTS idx_outbox_tenant_id ON event_outbox (tenant_id)
    WHERE tenant_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_outbox_failed ON event_outbox (created_at) WHERE status = 'failed';
CREATE INDEX IF NOT EXISTS idx_outbox_published_at ON event_outbox (published_at)
    WHERE status = 'published';

CREATE TABLE IF NOT EXISTS projection_checkpoints (
    projection_name VARCHAR(255) PRIMARY KEY,
    last_event_id UUID,
    last_event_type VARCHAR(255),
    last_processed_at TIMESTAMP WITH TIME ZONE,
    global_position BIGINT,
    events_processed BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);
CREATE INDEX IF NOT EXISTS idx_checkpoints_last_processed
    ON projection_checkpoints (last_processed_at);
CREATE INDEX IF NOT EXISTS idx_checkpoints_updated_at ON projection_checkpoints (updated_at);
CREATE INDEX IF NOT EXISTS idx_checkpoints_global_position
    ON projection_checkpoints (global_position)
    WHERE global_position IS NOT NULL;
CREATE OR REPLACE FUNCTION update_checkpoint_timestamp() RETURNS TRIGGER AS $$
BEGIN
    NEW.updated_at = NOW();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS trg_checkpoint_updated_at ON projection_checkpoints;
CREATE TRIGGER trg_checkpoint_updated_at BEFORE UPDATE ON projection_checkpoints
    FOR EACH ROW EXECUTE FUNCTION update_checkpoint_timestamp();

CREATE TABLE IF NOT EXISTS dead_letter_queue (
    id BIGSERIAL PRIMARY KEY,
    event_id UUID NOT NULL,
    projection_name VARCHAR(255) NOT NULL,
    event_type VARCHAR(255) NOT NULL,
    event_data JSONB NOT NULL,
    error_message TEXT NOT NULL,
    error_stacktrace TEXT,
    retry_count INTEGER NOT NULL DEFAULT 0,
    first_failed_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    last_failed_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    status VARCHAR(20) NOT NULL DEFAULT 'failed',
    resolved_at TIMESTAMP WITH TIME ZONE,
    resolved_by VARCHAR(255),
    CONSTRAINT chk_dlq_status CHECK (status IN ('failed', 'retrying', 'resolved')),
    CONSTRAINT uq_dlq_event_projection UNIQUE (event_id, projection_name)
);
CREATE INDEX IF NOT EXISTS idx_dlq_status ON dead_letter_queue (status);
CREATE INDEX IF NOT EXISTS idx_dlq_projection_name ON dead_letter_queue (projection_name);
CREATE INDEX IF NOT EXISTS idx_dlq_event_id ON dead_letter_queue (event_id);
CREATE INDEX IF NOT EXISTS idx_dlq_first_failed_at ON dead_letter_queue (first_failed_at);
CREATE INDEX IF NOT EXISTS idx_dlq_projection_status ON dead_letter_queue (projection_name, status);
CREATE INDEX IF NOT EXISTS idx_dlq_active_failures ON dead_letter_queue (first_failed_at)
    WHERE status IN ('failed', 'retrying');
CREATE INDEX IF NOT EXISTS idx_dlq_resolved_at ON dead_letter_queue (resolved_at)
    WHERE status = 'resolved';

CREATE TABLE IF NOT EXISTS snapshots (
    id BIGSERIAL PRIMARY KEY,
    aggregate_id UUID NOT NULL,
    aggregate_type VARCHAR(255) NOT NULL,
    version INTEGER NOT NULL,
    schema_version INTEGER NOT NULL DEFAULT 1,
    state JSONB NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT uq_snapshots_aggregate UNIQUE (aggregate_id, aggregate_type)
);
CREATE INDEX IF NOT EXISTS idx_snapshots_aggregate_lookup
    ON snapshots (aggregate_id, aggregate_type);
CREATE INDEX IF NOT EXISTS idx_snapshots_aggregate_type ON snapshots (aggregate_type);
CREATE INDEX IF NOT EXISTS idx_snapshots_schema_version
    ON snapshots (aggregate_type, schema_version);
CREATE INDEX IF NOT EXISTS idx_snapshots_created_at ON snapshots (created_at);
"""


def _z(moment: datetime) -> str:
    """pydantic's JSON form of a UTC datetime (``...Z``), as in 0.5.0's payloads."""
    return moment.isoformat().replace("+00:00", "Z")


def _sqlite_now(moment: datetime) -> str:
    """``datetime('now')``'s form: what 0.5.0's column defaults and trigger wrote."""
    return moment.strftime("%Y-%m-%d %H:%M:%S")


@dataclass
class LegacyData:
    """The rows of one 0.5.0 database (times as datetimes; each backend writes its form)."""

    events: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    dlq: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[dict[str, Any]] = field(default_factory=list)

    def stream_versions(self) -> dict[tuple[str, str], int]:
        """The last version of each stream."""
        versions: dict[tuple[str, str], int] = {}
        for e in self.events:
            versions[(e["aggregate_id"], e["aggregate_type"])] = e["version"]
        return versions


def make_data(n_events: int = 10_000, *, seed: int = 5) -> LegacyData:
    """Events of ``n_events // 20`` orders and customers, interleaved; 4 checkpoints, 6 outbox
    and 5 DLQ entries, 2 snapshots."""
    rng = random.Random(seed)
    base = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    tenants = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(3)]
    streams: list[dict[str, Any]] = []
    for i in range(max(2, n_events // 20)):
        kind = "L5Customer" if i % 5 == 0 else "L5Order"
        streams.append(
            {
                "aggregate_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "aggregate_type": kind,
                "tenant_id": rng.choice([None, *tenants]),
                "version": 0,
            }
        )
    data = LegacyData()
    for position in range(1, n_events + 1):
        stream = rng.choice(streams)
        stream["version"] += 1
        version = stream["version"]
        occurred = base + timedelta(seconds=position, microseconds=rng.randrange(1_000_000))
        if stream["aggregate_type"] == "L5Customer":
            event_type = "L5CustomerRegistered"
            body: dict[str, Any] = {
                "name": f"customer é{position}",
                "tags": ["vip"] * (position % 3),
            }
        elif version == 1:
            event_type = "L5OrderPlaced"
            body = {"customer_id": str(uuid.UUID(int=position)), "total": position / 8}
        elif position % 7 == 0:
            event_type = "L5OrderShipped"
            body = {"carrier": "DHL", "shipped_at": _z(occurred)}
        else:
            event_type = "L5ItemAdded"
            body = {
                "sku": f"SKU-{position % 97}",
                "quantity": position % 5 + 1,
                "note": None if position % 2 else 'gift "wrap"',
            }
        event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        payload = {
            "event_id": event_id,
            "event_type": event_type,
            "event_version": 1,
            "occurred_at": _z(occurred),
            "aggregate_id": stream["aggregate_id"],
            "aggregate_type": stream["aggregate_type"],
            "aggregate_version": version,
            "tenant_id": stream["tenant_id"],
            "actor_id": f"user-{position % 11}" if position % 3 else None,
            "correlation_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "causation_id": None,
            "metadata": {"source": "legacy"} if position % 4 == 0 else {},
            **body,
        }
        data.events.append(
            {
                "global_position": position,
                "event_id": event_id,
                "aggregate_id": stream["aggregate_id"],
                "aggregate_type": stream["aggregate_type"],
                "event_type": event_type,
                "tenant_id": stream["tenant_id"],
                "actor_id": payload["actor_id"],
                "version": version,
                "timestamp": occurred,
                "payload": payload,
                "created_at": occurred + timedelta(milliseconds=3),
            }
        )
    events = data.events
    later = base + timedelta(days=2)
    # one checkpoint whose global_position 0.5.0 never filled in (its update_checkpoint keeps
    # NULL), one with it, one at the last event, one that never processed anything
    for name, event, with_position in (
        ("order_summary", events[len(events) // 2], False),
        ("customer_list", events[len(events) // 3], True),
        ("search_index", events[-1], False),
    ):
        data.checkpoints.append(
            {
                "projection_name": name,
                "last_event_id": event["event_id"],
                "last_event_type": event["event_type"],
                "last_processed_at": later,
                "global_position": event["global_position"] if with_position else None,
                "events_processed": event["global_position"],
                "created_at": base,
                "updated_at": later + timedelta(seconds=1),
            }
        )
    data.checkpoints.append(
        {
            "projection_name": "audit_log",
            "last_event_id": None,
            "last_event_type": None,
            "last_processed_at": None,
            "global_position": None,
            "events_processed": 0,
            "created_at": base,
            "updated_at": base,
        }
    )
    for i, status in enumerate(
        ["pending", "pending", "published", "published", "failed", "failed"]
    ):
        event = events[-(i + 1) * 3]
        envelope = {
            "event_id": event["event_id"],
            "aggregate_id": event["aggregate_id"],
            "aggregate_type": event["aggregate_type"],
            "tenant_id": event["tenant_id"],
            "occurred_at": event["timestamp"].isoformat(),
            "payload": event["payload"],
        }
        data.outbox.append(
            {
                "id": i + 1,
                "uuid": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "event_id": event["event_id"],
                "event_type": event["event_type"],
                "aggregate_id": event["aggregate_id"],
                "aggregate_type": event["aggregate_type"],
                "tenant_id": event["tenant_id"],
                "event_data": envelope,
                "created_at": later + timedelta(seconds=i),
                "published_at": later + timedelta(seconds=30 + i)
                if status == "published"
                else None,
                "retry_count": {"pending": i, "published": 0, "failed": 5}[status],
                "last_error": "broker unreachable" if status != "published" and i else None,
                "status": status,
            }
        )
    trace = (
        "Traceback (most recent call last):\n"
        '  File "app/projections.py", line 42, in handle\n'
        '    raise ValueError(f"bad total {total}")\n'
        "ValueError: bad total -1"
    )
    for i, status in enumerate(["failed", "failed", "retrying", "resolved", "failed"]):
        event = events[i * 11]
        data.dlq.append(
            {
                "id": i + 1,
                "event_id": event["event_id"],
                "projection_name": "order_summary" if i % 2 else "customer_list",
                "event_type": event["event_type"],
                "event_data": event["payload"],
                "error_message": "bad total -1",
                "error_stacktrace": trace if i != 4 else None,
                "retry_count": i,
                "first_failed_at": later + timedelta(minutes=i),
                "last_failed_at": later + timedelta(minutes=i, seconds=20),
                "status": status,
                "resolved_at": later + timedelta(hours=1) if status == "resolved" else None,
                "resolved_by": "ops@example.com" if status == "resolved" else None,
            }
        )
    for e in events[-2:]:
        data.snapshots.append(
            {
                "aggregate_id": e["aggregate_id"],
                "aggregate_type": e["aggregate_type"],
                "version": e["version"],
                "state": {"count": e["version"]},
                "created_at": later,
            }
        )
    return data


def _text(moment: datetime | None, default_form: bool = False) -> str | None:
    if moment is None:
        return None
    return _sqlite_now(moment) if default_form else moment.isoformat()


def build_sqlite(path: str, data: LegacyData) -> None:
    """Write ``data`` to a new SQLite file at ``path`` as 0.5.0 left it (WAL mode)."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(SQLITE_DDL)
        conn.executemany(
            "INSERT INTO events (event_id, event_type, aggregate_type, aggregate_id, tenant_id,"
            " actor_id, version, timestamp, payload, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    e["event_id"],
                    e["event_type"],
                    e["aggregate_type"],
                    e["aggregate_id"],
                    e["tenant_id"],
                    e["actor_id"],
                    e["version"],
                    e["timestamp"].isoformat(),
                    json.dumps(e["payload"]),
                    e["created_at"].isoformat(),
                )
                for e in data.events
            ],
        )
        conn.executemany(
            "INSERT INTO projection_checkpoints (projection_name, last_event_id, last_event_type,"
            " last_processed_at, global_position, events_processed, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    c["projection_name"],
                    c["last_event_id"],
                    c["last_event_type"],
                    _text(c["last_processed_at"]),
                    c["global_position"],
                    c["events_processed"],
                    _text(c["created_at"], True),
                    _text(c["updated_at"], True),  # as the trigger writes it
                )
                for c in data.checkpoints
            ],
        )
        conn.executemany(
            "INSERT INTO event_outbox (id, event_id, event_type, aggregate_id, aggregate_type,"
            " tenant_id, event_data, created_at, published_at, retry_count, last_error, status)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    o["id"],
                    o["event_id"],
                    o["event_type"],
                    o["aggregate_id"],
                    o["aggregate_type"],
                    o["tenant_id"],
                    json.dumps(o["event_data"]),
                    _text(o["created_at"]),
                    _text(o["published_at"]),
                    o["retry_count"],
                    o["last_error"],
                    o["status"],
                )
                for o in data.outbox
            ],
        )
        conn.executemany(
            "INSERT INTO dead_letter_queue (id, event_id, projection_name, event_type, event_data,"
            " error_message, error_stacktrace, retry_count, first_failed_at, last_failed_at,"
            " status, resolved_at, resolved_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    d["id"],
                    d["event_id"],
                    d["projection_name"],
                    d["event_type"],
                    json.dumps(d["event_data"]),
                    d["error_message"],
                    d["error_stacktrace"],
                    d["retry_count"],
                    _text(d["first_failed_at"]),
                    _text(d["last_failed_at"]),
                    d["status"],
                    _text(d["resolved_at"]),
                    d["resolved_by"],
                )
                for d in data.dlq
            ],
        )
        conn.executemany(
            "INSERT INTO snapshots (aggregate_id, aggregate_type, version, schema_version, state,"
            " created_at) VALUES (?, ?, ?, 1, ?, ?)",
            [
                (
                    s["aggregate_id"],
                    s["aggregate_type"],
                    s["version"],
                    json.dumps(s["state"]),
                    s["created_at"].isoformat(),
                )
                for s in data.snapshots
            ],
        )
        conn.commit()
    finally:
        conn.close()


async def build_postgres(url: str, schema: str, data: LegacyData) -> None:
    """Write ``data`` into a new schema ``schema`` as 0.5.0's ``all.sql`` and stores left it."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
        await conn.execute(f'SET search_path TO "{schema}"')
        async with conn.transaction():
            await conn.execute(PG_DDL)
        await conn.executemany(
            "INSERT INTO events (event_id, event_type, aggregate_type, aggregate_id, tenant_id,"
            " actor_id, version, timestamp, payload, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10)",
            [
                (
                    uuid.UUID(e["event_id"]),
                    e["event_type"],
                    e["aggregate_type"],
                    uuid.UUID(e["aggregate_id"]),
                    None if e["tenant_id"] is None else uuid.UUID(e["tenant_id"]),
                    e["actor_id"],
                    e["version"],
                    e["timestamp"],
                    json.dumps(e["payload"]),
                    e["created_at"],
                )
                for e in data.events
            ],
        )
        await conn.executemany(
            "INSERT INTO projection_checkpoints (projection_name, last_event_id, last_event_type,"
            " last_processed_at, global_position, events_processed, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            [
                (
                    c["projection_name"],
                    None if c["last_event_id"] is None else uuid.UUID(c["last_event_id"]),
                    c["last_event_type"],
                    c["last_processed_at"],
                    c["global_position"],
                    c["events_processed"],
                    c["created_at"],
                    c["updated_at"],
                )
                for c in data.checkpoints
            ],
        )
        await conn.executemany(
            "INSERT INTO event_outbox (id, event_id, event_type, aggregate_id, aggregate_type,"
            " tenant_id, event_data, created_at, published_at, retry_count, last_error, status)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12)",
            [
                (
                    uuid.UUID(o["uuid"]),
                    uuid.UUID(o["event_id"]),
                    o["event_type"],
                    uuid.UUID(o["aggregate_id"]),
                    o["aggregate_type"],
                    None if o["tenant_id"] is None else uuid.UUID(o["tenant_id"]),
                    json.dumps(o["event_data"]),
                    o["created_at"],
                    o["published_at"],
                    o["retry_count"],
                    o["last_error"],
                    o["status"],
                )
                for o in data.outbox
            ],
        )
        await conn.executemany(
            "INSERT INTO dead_letter_queue (event_id, projection_name, event_type, event_data,"
            " error_message, error_stacktrace, retry_count, first_failed_at, last_failed_at,"
            " status, resolved_at, resolved_by)"
            " VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $11, $12)",
            [
                (
                    uuid.UUID(d["event_id"]),
                    d["projection_name"],
                    d["event_type"],
                    json.dumps(d["event_data"]),
                    d["error_message"],
                    d["error_stacktrace"],
                    d["retry_count"],
                    d["first_failed_at"],
                    d["last_failed_at"],
                    d["status"],
                    d["resolved_at"],
                    d["resolved_by"],
                )
                for d in data.dlq
            ],
        )
        await conn.executemany(
            "INSERT INTO snapshots (aggregate_id, aggregate_type, version, state, created_at)"
            " VALUES ($1, $2, $3, $4::jsonb, $5)",
            [
                (
                    uuid.UUID(s["aggregate_id"]),
                    s["aggregate_type"],
                    s["version"],
                    json.dumps(s["state"]),
                    s["created_at"],
                )
                for s in data.snapshots
            ],
        )
    finally:
        await conn.close()


def expected_event(row: dict[str, Any]) -> DomainEvent:
    """The event our store must hand back for a 0.5.0 row: its payload, decoded by its class,
    with the stored version as ``aggregate_version``."""
    return EVENT_CLASSES[row["event_type"]].model_validate(
        {**row["payload"], "aggregate_version": row["version"]}
    )


async def assert_converted(url: str, data: LegacyData, outbox_ids: list[uuid.UUID]) -> None:
    """Open the converted database by ``url`` and check that every row of ``data`` reads back:
    events (ids, versions, positions, stored times, payloads), stream versions, checkpoints
    (with the global position of their event), outbox and DLQ entries; then append to it."""
    from eventsource import open_backend

    async with open_backend(url, create=False) as backend:
        store = backend.events
        stored = [e async for e in store.read_all()]
        assert len(stored) == len(data.events)
        for got, row in zip(stored, data.events, strict=True):
            assert got.global_position == row["global_position"]
            assert got.stream_id == f"{row['aggregate_id']}:{row['aggregate_type']}"
            assert got.stream_position == row["version"]
            assert got.stored_at == row["created_at"]
            assert got.event == expected_event(row)
        for (aid, atype), version in list(data.stream_versions().items())[:50]:
            assert await store.get_stream_version(uuid.UUID(aid), atype) == version
        assert await store.get_global_position() == len(data.events)

        by_id = {e["event_id"]: e for e in data.events}
        checkpoints = {
            c.projection_name: c for c in await backend.checkpoints.get_all_checkpoints()
        }
        assert set(checkpoints) == {c["projection_name"] for c in data.checkpoints}
        for c in data.checkpoints:
            got_c = checkpoints[c["projection_name"]]
            event = by_id.get(c["last_event_id"])
            assert got_c.last_event_id == (None if event is None else uuid.UUID(event["event_id"]))
            assert got_c.last_event_type == c["last_event_type"]
            assert got_c.global_position == (None if event is None else event["global_position"])
            assert got_c.events_processed == c["events_processed"]
            assert await backend.checkpoints.get_position(c["projection_name"]) == (
                None if event is None else event["global_position"]
            )

        for o, oid in zip(data.outbox, outbox_ids, strict=True):
            entry = await backend.outbox.get_entry(oid)
            assert entry.event_id == uuid.UUID(o["event_id"])
            assert entry.aggregate_id == uuid.UUID(o["aggregate_id"])
            assert (entry.event_type, entry.aggregate_type) == (
                o["event_type"],
                o["aggregate_type"],
            )
            assert entry.status == o["status"]
            assert entry.retry_count == o["retry_count"]
            assert entry.last_error == o["last_error"]
            assert entry.created_at == o["created_at"]
            assert entry.published_at == o["published_at"]
            assert entry.event_data == o["event_data"]["payload"]  # 0.5.0's envelope unwrapped
        stats = await backend.outbox.get_stats()
        assert (stats.pending_count, stats.published_count, stats.failed_count) == (2, 2, 2)
        pending = await backend.outbox.get_pending_events(limit=10)
        assert [e.id for e in pending] == outbox_ids[:2]  # oldest first, as 0.5.0 handed them out

        for d in data.dlq:
            got_d = await backend.dlq.get_failed_event_by_id(d["id"])
            assert got_d is not None
            assert got_d.event_id == uuid.UUID(d["event_id"])
            assert (got_d.projection_name, got_d.event_type) == (
                d["projection_name"],
                d["event_type"],
            )
            assert got_d.status == d["status"]
            assert got_d.event_data == d["event_data"]
            assert got_d.error_message == d["error_message"]
            assert got_d.error_stacktrace == (d["error_stacktrace"] or "")
            assert got_d.error_type == ("ValueError" if d["error_stacktrace"] else "Exception")
            assert got_d.retry_count == d["retry_count"]
            assert (got_d.first_failed_at, got_d.last_failed_at) == (
                d["first_failed_at"],
                d["last_failed_at"],
            )
            assert got_d.resolved_at == d["resolved_at"]
            assert got_d.resolution == d["resolved_by"]

        # the converted store takes new writes where 0.5.0 left off
        last = data.events[-1]
        cls = EVENT_CLASSES[
            "L5CustomerRegistered" if last["aggregate_type"] == "L5Customer" else "L5ItemAdded"
        ]
        fields: dict[str, Any] = (
            {"name": "after"} if cls is L5CustomerRegistered else {"sku": "NEW", "quantity": 1}
        )
        result = await store.append_events(
            uuid.UUID(last["aggregate_id"]),
            last["aggregate_type"],
            [cls(aggregate_id=uuid.UUID(last["aggregate_id"]), **fields)],
            expected_version=last["version"],
        )
        assert (result.new_version, result.global_position) == (
            last["version"] + 1,
            len(data.events) + 1,
        )
        added = await backend.dlq.add_failed_event(
            event_id=uuid.uuid4(),
            projection_name="order_summary",
            event_type="L5ItemAdded",
            event_data={},
            error=ValueError("new"),
        )
        assert added == len(data.dlq) + 1  # ids go on after 0.5.0's
