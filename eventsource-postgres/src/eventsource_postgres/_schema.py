"""The versioned schema: tables for all five roles and the append functions.

``create_schema`` is idempotent and safe to run from several processes at once: it holds a
transaction-level advisory lock while it checks the recorded version and creates what is
missing. Every statement is idempotent (``IF NOT EXISTS``, ``CREATE OR REPLACE``), so an older
schema is upgraded by running them all again. Versions: 1 tables and ``eventsource_append``;
2 adds ``eventsource_append_batch`` (group commit; ``eventsource_append`` is unchanged, so
processes of the previous release keep appending); 3 stores payloads as ``json`` instead of
``jsonb`` (the text as written, so every value reads back exactly) and adds the version offsets
to both append functions (the previous signatures stay, as wrappers); 4 adds
``aggregate_snapshots`` (a table older processes never touch, so they keep working); 5 adds
stream lifecycle: ``stream_lifecycle`` (one mark per deleted stream), ``events_deleted`` (the
rows of soft-deleted streams, kept for a restore), and the append functions refuse a marked
stream with SQLSTATE ES410; 6 lets an append that waited for the global-order lock commit
without waiting for its WAL flush (``p_defer_flush``: the caller flushes after, outside the
lock), marking its positions in ``append_marks`` until then so readers stop short of them
(the previous signatures stay, as wrappers that never defer).
"""

from __future__ import annotations

from typing import Any

from eventsource.spi import (
    SchemaVersionError,
)

from ._legacy import refuse_legacy
from ._options import PostgresOptions

__all__ = [
    "APPEND_LOCK_CLASS",
    "CLEAR_STALE_MARKS_SQL",
    "FLUSH_SQL",
    "INIT_LOCK_CLASS",
    "LIFECYCLE_LOCK_CLASS",
    "READ_BOUND",
    "SCHEMA_VERSION",
    "create_schema",
]

#: The schema version this release writes and understands.
SCHEMA_VERSION = 6
#: First advisory-lock key of the global-order lock that serialises appends ("ES" + 1).
APPEND_LOCK_CLASS = 0x45530001
#: First advisory-lock key taken while creating or migrating the schema.
INIT_LOCK_CLASS = 0x45530000
#: First key of the per-stream lock a delete holds exclusively and a snapshot write shared.
LIFECYCLE_LOCK_CLASS = 0x45530002

_TABLES = """
CREATE TABLE IF NOT EXISTS {s}.eventsource_schema (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version integer NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {s}.events (
    global_position bigint PRIMARY KEY,
    event_id uuid NOT NULL,
    aggregate_id uuid NOT NULL,
    aggregate_type text NOT NULL,
    aggregate_version integer NOT NULL,
    event_type text NOT NULL,
    event_version integer NOT NULL,
    tenant_id uuid,
    occurred_at timestamptz NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now(),
    payload json NOT NULL,
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_stream_version_key UNIQUE (aggregate_id, aggregate_type, aggregate_version)
);
CREATE INDEX IF NOT EXISTS events_aggregate_type_idx
    ON {s}.events (aggregate_type, global_position);
CREATE INDEX IF NOT EXISTS events_event_type_idx
    ON {s}.events (event_type, global_position);
CREATE TABLE IF NOT EXISTS {s}.checkpoints (
    projection_name text PRIMARY KEY,
    last_event_id uuid,
    last_event_type text,
    global_position bigint,
    events_processed bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {s}.outbox (
    id uuid PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY,
    event_id uuid NOT NULL,
    event_type text NOT NULL,
    aggregate_id uuid NOT NULL,
    aggregate_type text NOT NULL,
    tenant_id uuid,
    event_data json NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    status text NOT NULL DEFAULT 'pending',
    retry_count integer NOT NULL DEFAULT 0,
    last_error text,
    published_at timestamptz,
    claimed_by text,
    claimed_until timestamptz,
    not_before timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_pending_idx ON {s}.outbox (seq) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS outbox_pending_aggregate_idx
    ON {s}.outbox (aggregate_id, seq) WHERE status = 'pending';
CREATE TABLE IF NOT EXISTS {s}.dlq (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id uuid NOT NULL,
    projection_name text NOT NULL,
    event_type text NOT NULL,
    event_data json NOT NULL,
    error_type text NOT NULL,
    error_message text NOT NULL,
    error_stacktrace text NOT NULL,
    retry_count integer NOT NULL,
    first_failed_at timestamptz NOT NULL,
    last_failed_at timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'failed',
    resolved_at timestamptz,
    resolution text,
    CONSTRAINT dlq_event_projection_key UNIQUE (event_id, projection_name)
);
CREATE TABLE IF NOT EXISTS {s}.aggregate_snapshots (
    aggregate_id uuid NOT NULL,
    aggregate_type text NOT NULL,
    version integer NOT NULL,
    schema_version integer NOT NULL,
    state json NOT NULL,
    event_id uuid,
    created_at timestamptz NOT NULL,
    checksum text NOT NULL,
    PRIMARY KEY (aggregate_id, aggregate_type)
);
CREATE INDEX IF NOT EXISTS aggregate_snapshots_type_idx
    ON {s}.aggregate_snapshots (aggregate_type, schema_version);
CREATE TABLE IF NOT EXISTS {s}.stream_lifecycle (
    aggregate_id uuid NOT NULL,
    aggregate_type text NOT NULL,
    hard boolean NOT NULL,
    last_version integer NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (aggregate_id, aggregate_type)
);
CREATE TABLE IF NOT EXISTS {s}.events_deleted (
    global_position bigint PRIMARY KEY,
    event_id uuid NOT NULL,
    aggregate_id uuid NOT NULL,
    aggregate_type text NOT NULL,
    aggregate_version integer NOT NULL,
    event_type text NOT NULL,
    event_version integer NOT NULL,
    tenant_id uuid,
    occurred_at timestamptz NOT NULL,
    stored_at timestamptz NOT NULL,
    payload json NOT NULL
);
CREATE INDEX IF NOT EXISTS events_deleted_stream_idx
    ON {s}.events_deleted (aggregate_id, aggregate_type, aggregate_version);
CREATE TABLE IF NOT EXISTS {s}.append_marks (
    pid integer PRIMARY KEY,
    first_position bigint,
    marked_at timestamptz
);
"""

# The append: one round trip. The advisory lock serialises appends of this schema until
# commit, so positions (max + 1 under the lock) are handed out in commit order and are gapless.
# Statements in a VOLATILE plpgsql function take fresh snapshots, so the version read after the
# lock sees every append committed before it.
_APPEND_FUNCTION = """
CREATE OR REPLACE FUNCTION {s}.eventsource_append(
    p_aggregate_id uuid,
    p_aggregate_type text,
    p_expected integer,
    p_stamped_from integer,
    p_event_ids uuid[],
    p_event_types text[],
    p_event_versions integer[],
    p_tenant_ids uuid[],
    p_occurred_at timestamptz[],
    p_payloads text[],
    p_outbox boolean,
    p_notify boolean,
    p_lock_timeout_ms integer,
    p_version_at integer[],
    p_version_len integer[],
    p_defer_flush boolean,
    OUT current_version integer,
    OUT last_position bigint,
    OUT flush_owed boolean
) LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_base bigint;
    v_n integer := cardinality(p_event_ids);
BEGIN
    flush_owed := false;
    IF NOT pg_try_advisory_xact_lock({lock_class}, {lock_key}) THEN
        PERFORM set_config('lock_timeout', p_lock_timeout_ms::text, true);
        PERFORM pg_advisory_xact_lock({lock_class}, {lock_key});
        flush_owed := p_defer_flush;  -- others queue behind this lock: release it sooner
    END IF;
    IF EXISTS (SELECT 1 FROM {s}.stream_lifecycle l WHERE l.aggregate_id = p_aggregate_id
               AND l.aggregate_type = p_aggregate_type) THEN
        RAISE EXCEPTION USING ERRCODE = 'ES410', MESSAGE = 'eventsource stream deleted',
            DETAIL = (SELECT l.hard::text FROM {s}.stream_lifecycle l
                      WHERE l.aggregate_id = p_aggregate_id
                        AND l.aggregate_type = p_aggregate_type);
    END IF;
    SELECT coalesce((SELECT max(e.aggregate_version) FROM {s}.events e
                     WHERE e.aggregate_id = p_aggregate_id
                       AND e.aggregate_type = p_aggregate_type), 0),
           coalesce((SELECT max(e.global_position) FROM {s}.events e), 0)
        INTO current_version, v_base;
    IF (p_expected = -2 AND current_version = 0)
        OR (p_expected >= 0 AND current_version <> p_expected) THEN
        RAISE EXCEPTION USING ERRCODE = 'ES409', MESSAGE = 'eventsource version conflict',
            DETAIL = current_version::text;
    END IF;
    INSERT INTO {s}.events (global_position, event_id, aggregate_id, aggregate_type,
        aggregate_version, event_type, event_version, tenant_id, occurred_at, payload)
    SELECT v_base + x.n, x.id, p_aggregate_id, p_aggregate_type, current_version + x.n,
        x.t, x.v, x.tenant, x.occ, {restamp}
    FROM unnest(p_event_ids, p_event_types, p_event_versions, p_tenant_ids, p_occurred_at,
                p_payloads, p_version_at, p_version_len)
        WITH ORDINALITY AS x(id, t, v, tenant, occ, p, vat, vlen, n);
    IF p_outbox THEN
        INSERT INTO {s}.outbox (id, event_id, event_type, aggregate_id, aggregate_type,
            tenant_id, event_data)
        SELECT gen_random_uuid(), e.event_id, e.event_type, e.aggregate_id, e.aggregate_type,
            e.tenant_id, e.payload
        FROM {s}.events e WHERE e.global_position > v_base ORDER BY e.global_position;
    END IF;
    last_position := v_base + v_n;
    IF flush_owed THEN
        {defer}
    END IF;
    IF p_notify THEN  -- 'last:first' while the flush is owed (see Listener)
        PERFORM pg_notify({channel}, CASE WHEN flush_owed
            THEN last_position::text || ':' || (v_base + 1)::text
            ELSE last_position::text END);
    END IF;
END
$fn$;
"""

# Group commit: several appends in one transaction, one lock hold, one WAL flush. Appends are
# applied in order, each seeing the ones before it (two appends to one stream: the second sees
# the first's events). Per-event arrays are concatenated; p_counts[i] events belong to append i.
# Each append's outcome is one row, in order: last_position set = written; duplicate_id set =
# an id already stored (or written earlier in this batch); else a version conflict, with the
# actual version. A refused append writes nothing and the others go on: the checks run before
# its INSERT, under the lock, so no subtransaction is needed. Any error (a writer that
# bypassed the lock, a payload jsonb refuses) aborts the whole batch, and the caller reruns
# its appends one by one with eventsource_append.
_APPEND_BATCH_FUNCTION = """
CREATE OR REPLACE FUNCTION {s}.eventsource_append_batch(
    p_aggregate_ids uuid[],
    p_aggregate_types text[],
    p_expected integer[],
    p_stamped_from integer[],
    p_counts integer[],
    p_outbox boolean[],
    p_event_ids uuid[],
    p_event_types text[],
    p_event_versions integer[],
    p_tenant_ids uuid[],
    p_occurred_at timestamptz[],
    p_payloads text[],
    p_notify boolean,
    p_lock_timeout_ms integer,
    p_version_at integer[],
    p_version_len integer[],
    p_defer_flush boolean
) RETURNS TABLE (current_version integer, last_position bigint, duplicate_id uuid,
                 flush_owed boolean)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_start bigint;
    v_base bigint;
    v_first integer := 1;
    v_last integer;
    v_ok boolean;
    v_defer boolean := false;
BEGIN
    IF NOT pg_try_advisory_xact_lock({lock_class}, {lock_key}) THEN
        PERFORM set_config('lock_timeout', p_lock_timeout_ms::text, true);
        PERFORM pg_advisory_xact_lock({lock_class}, {lock_key});
        v_defer := p_defer_flush;
    END IF;
    v_start := coalesce((SELECT max(e.global_position) FROM {s}.events e), 0);
    v_base := v_start;
    FOR i IN 1 .. cardinality(p_aggregate_ids) LOOP
        v_last := v_first + p_counts[i] - 1;
        last_position := NULL;
        duplicate_id := NULL;
        flush_owed := v_defer;
        IF EXISTS (SELECT 1 FROM {s}.stream_lifecycle l WHERE l.aggregate_id = p_aggregate_ids[i]
                   AND l.aggregate_type = p_aggregate_types[i]) THEN
            -- the whole batch fails; each append then runs alone and reports its own
            RAISE EXCEPTION USING ERRCODE = 'ES410', MESSAGE = 'eventsource stream deleted';
        END IF;
        current_version := coalesce((SELECT max(e.aggregate_version) FROM {s}.events e
                                     WHERE e.aggregate_id = p_aggregate_ids[i]
                                       AND e.aggregate_type = p_aggregate_types[i]), 0);
        v_ok := NOT ((p_expected[i] = -2 AND current_version = 0)
                     OR (p_expected[i] >= 0 AND current_version <> p_expected[i]));
        IF v_ok THEN
            duplicate_id := (SELECT e.event_id FROM {s}.events e
                             WHERE e.event_id = ANY (p_event_ids[v_first:v_last]) LIMIT 1);
            v_ok := duplicate_id IS NULL;
        END IF;
        IF v_ok THEN
            INSERT INTO {s}.events (global_position, event_id, aggregate_id, aggregate_type,
                aggregate_version, event_type, event_version, tenant_id, occurred_at, payload)
            SELECT v_base + x.n, x.id, p_aggregate_ids[i], p_aggregate_types[i],
                current_version + x.n, x.t, x.v, x.tenant, x.occ, {restamp_batch}
            FROM unnest(p_event_ids[v_first:v_last], p_event_types[v_first:v_last],
                        p_event_versions[v_first:v_last], p_tenant_ids[v_first:v_last],
                        p_occurred_at[v_first:v_last], p_payloads[v_first:v_last],
                        p_version_at[v_first:v_last], p_version_len[v_first:v_last])
                WITH ORDINALITY AS x(id, t, v, tenant, occ, p, vat, vlen, n);
            IF p_outbox[i] THEN
                INSERT INTO {s}.outbox (id, event_id, event_type, aggregate_id, aggregate_type,
                    tenant_id, event_data)
                SELECT gen_random_uuid(), e.event_id, e.event_type, e.aggregate_id,
                    e.aggregate_type, e.tenant_id, e.payload
                FROM {s}.events e WHERE e.global_position > v_base ORDER BY e.global_position;
            END IF;
            v_base := v_base + p_counts[i];
            last_position := v_base;
        END IF;
        RETURN NEXT;
        v_first := v_last + 1;
    END LOOP;
    IF v_defer AND v_base > v_start THEN
        {defer_batch}
    END IF;
    IF p_notify AND v_base > v_start THEN
        PERFORM pg_notify({channel}, CASE WHEN v_defer
            THEN v_base::text || ':' || (v_start + 1)::text ELSE v_base::text END);
    END IF;
END
$fn$;
"""


# The payload is stored as the client wrote it (json keeps the text; jsonb would renumber floats
# such as 1.5e300 and -0.0 and refuse \u0000). When the stream's version is not the one the
# client stamped, the top-level aggregate_version is rewritten in place: the client sends where
# its digits are (1-based character offset and length; core's serialize_event refuses a document
# without them). Only processes of schema versions 1 and 2 send 0 (through the compat functions
# below); for them the slower jsonb_set, which renormalises numbers, stays the fallback.
_RESTAMP = """CASE WHEN current_version = {stamped} THEN x.p::json
        WHEN x.vat > 0 THEN
            overlay(x.p placing (current_version + x.n)::text from x.vat for x.vlen)::json
        ELSE jsonb_set(x.p::jsonb, '{{aggregate_version}}',
                       to_jsonb(current_version + x.n))::json
    END"""

# The deferred flush (schema version 6). An append that had to wait for the global-order lock
# commits without waiting for its WAL flush (synchronous_commit off for this transaction), so
# the lock passes to the next writer one flush sooner and flushes combine across processes;
# the caller then runs FLUSH_SQL on the same connection, a synchronous commit whose flush
# covers this one (WAL is flushed in order), before it reports the append. Until then the
# append's first position is marked in append_marks, in the same transaction, so readers stop
# short of it (READ_BOUND): nothing is read that a server crash could still take back. A mark
# kept by a caller that died before flushing is cleared by the next reader that meets it old
# (CLEAR_STALE_MARKS_SQL, itself a synchronous commit, so it is a flush of its own).
_DEFER = """PERFORM set_config('synchronous_commit', 'off', true);
        INSERT INTO {s}.append_marks AS m (pid, first_position, marked_at)
        VALUES (pg_backend_pid(), {first}, clock_timestamp())
        ON CONFLICT (pid) DO UPDATE SET
            first_position = coalesce(m.first_position, excluded.first_position),
            marked_at = coalesce(m.marked_at, excluded.marked_at);"""

#: Run after an append that returned ``flush_owed``, on its connection, outside a transaction:
#: it clears the connection's mark, and it always writes a row (a transaction that wrote no
#: WAL would commit without a flush), so its commit waits for the flush of every commit before.
FLUSH_SQL = (
    "INSERT INTO {s}.append_marks AS m (pid, first_position, marked_at) "
    "VALUES (pg_backend_pid(), NULL, NULL) "
    "ON CONFLICT (pid) DO UPDATE SET first_position = NULL, marked_at = NULL"
)
#: A subquery: readers of the global order read positions below it (it is in their snapshot).
READ_BOUND = "(SELECT coalesce(min(first_position), 9223372036854775807) FROM {s}.append_marks)"
#: Clears marks older than ``$1`` seconds (their writers are gone or stuck); synchronous.
CLEAR_STALE_MARKS_SQL = (
    "UPDATE {s}.append_marks SET first_position = NULL, marked_at = NULL "
    "WHERE first_position IS NOT NULL "
    "AND marked_at < clock_timestamp() - make_interval(secs => $1)"
)

# Schema versions 1 to 5 call the append functions without the deferral flag (which they do
# not know to follow with a flush): these wrappers never defer. Versions 1 and 2 stored
# payloads as jsonb, and processes of those releases call them without the version offsets
# too: the shorter wrappers keep them appending after the upgrade.
_COMPAT_FUNCTIONS = """
CREATE OR REPLACE FUNCTION {s}.eventsource_append(
    p_aggregate_id uuid, p_aggregate_type text, p_expected integer, p_stamped_from integer,
    p_event_ids uuid[], p_event_types text[], p_event_versions integer[],
    p_tenant_ids uuid[], p_occurred_at timestamptz[], p_payloads text[], p_outbox boolean,
    p_notify boolean, p_lock_timeout_ms integer, p_version_at integer[],
    p_version_len integer[],
    OUT current_version integer, OUT last_position bigint
) LANGUAGE sql VOLATILE AS $fn$
    SELECT a.current_version, a.last_position FROM {s}.eventsource_append(p_aggregate_id,
        p_aggregate_type, p_expected, p_stamped_from, p_event_ids, p_event_types,
        p_event_versions, p_tenant_ids, p_occurred_at, p_payloads, p_outbox, p_notify,
        p_lock_timeout_ms, p_version_at, p_version_len, false) AS a
$fn$;
CREATE OR REPLACE FUNCTION {s}.eventsource_append_batch(
    p_aggregate_ids uuid[], p_aggregate_types text[], p_expected integer[],
    p_stamped_from integer[], p_counts integer[], p_outbox boolean[], p_event_ids uuid[],
    p_event_types text[], p_event_versions integer[], p_tenant_ids uuid[],
    p_occurred_at timestamptz[], p_payloads text[], p_notify boolean,
    p_lock_timeout_ms integer, p_version_at integer[], p_version_len integer[]
) RETURNS TABLE (current_version integer, last_position bigint, duplicate_id uuid)
LANGUAGE sql VOLATILE AS $fn$
    SELECT b.current_version, b.last_position, b.duplicate_id
    FROM {s}.eventsource_append_batch(p_aggregate_ids, p_aggregate_types, p_expected,
        p_stamped_from, p_counts, p_outbox, p_event_ids, p_event_types, p_event_versions,
        p_tenant_ids, p_occurred_at, p_payloads, p_notify, p_lock_timeout_ms, p_version_at,
        p_version_len, false) AS b
$fn$;
CREATE OR REPLACE FUNCTION {s}.eventsource_append(
    p_aggregate_id uuid, p_aggregate_type text, p_expected integer, p_stamped_from integer,
    p_event_ids uuid[], p_event_types text[], p_event_versions integer[],
    p_tenant_ids uuid[], p_occurred_at timestamptz[], p_payloads text[], p_outbox boolean,
    p_notify boolean, p_lock_timeout_ms integer,
    OUT current_version integer, OUT last_position bigint
) LANGUAGE sql VOLATILE AS $fn$
    SELECT * FROM {s}.eventsource_append(p_aggregate_id, p_aggregate_type, p_expected,
        p_stamped_from, p_event_ids, p_event_types, p_event_versions, p_tenant_ids,
        p_occurred_at, p_payloads, p_outbox, p_notify, p_lock_timeout_ms,
        array_fill(0, ARRAY[cardinality(p_event_ids)]),
        array_fill(0, ARRAY[cardinality(p_event_ids)]))
$fn$;
CREATE OR REPLACE FUNCTION {s}.eventsource_append_batch(
    p_aggregate_ids uuid[], p_aggregate_types text[], p_expected integer[],
    p_stamped_from integer[], p_counts integer[], p_outbox boolean[], p_event_ids uuid[],
    p_event_types text[], p_event_versions integer[], p_tenant_ids uuid[],
    p_occurred_at timestamptz[], p_payloads text[], p_notify boolean,
    p_lock_timeout_ms integer
) RETURNS TABLE (current_version integer, last_position bigint, duplicate_id uuid)
LANGUAGE sql VOLATILE AS $fn$
    SELECT * FROM {s}.eventsource_append_batch(p_aggregate_ids, p_aggregate_types,
        p_expected, p_stamped_from, p_counts, p_outbox, p_event_ids, p_event_types,
        p_event_versions, p_tenant_ids, p_occurred_at, p_payloads, p_notify,
        p_lock_timeout_ms, array_fill(0, ARRAY[cardinality(p_event_ids)]),
        array_fill(0, ARRAY[cardinality(p_event_ids)]))
$fn$;
"""

#: Columns that schema versions 1 and 2 created as jsonb; version 3 stores them as json.
_JSON_COLUMNS = (("events", "payload"), ("outbox", "event_data"), ("dlq", "event_data"))


async def _payloads_to_json(conn: Any, options: PostgresOptions) -> None:
    """Turn the jsonb payload columns of an older schema into json (rewrites those tables)."""
    s = options.quoted_schema
    for table, column in _JSON_COLUMNS:
        kind = await conn.fetchval(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_schema = $1 AND table_name = $2 AND column_name = $3",
            options.schema,
            table,
            column,
        )
        if kind == "jsonb":
            await conn.execute(
                f"ALTER TABLE {s}.{table} ALTER COLUMN {column} TYPE json "
                f"USING {column}::text::json"
            )


def render_function(function: str, options: PostgresOptions) -> str:
    """The DDL of one of the function templates above, for ``options``' schema."""
    s = options.quoted_schema
    return function.format(
        s=s,
        lock_class=APPEND_LOCK_CLASS,
        lock_key=options.lock_key,
        channel=_literal(options.channel),
        restamp=_RESTAMP.format(stamped="p_stamped_from"),
        restamp_batch=_RESTAMP.format(stamped="p_stamped_from[i]"),
        defer=_DEFER.format(s=s, first="v_base + 1"),
        defer_batch=_DEFER.format(s=s, first="v_start + 1"),
    )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


#: Tables added within a schema version (nothing an older process relies on changes), by name:
#: created when a store opens a schema that lacks them. Ownership leases of projections;
#: retention policies.
_LATER_TABLES = {
    "projection_leases": """CREATE TABLE IF NOT EXISTS {s}.projection_leases (
        projection_name text PRIMARY KEY,
        owner_id text NOT NULL,
        token bigint NOT NULL,
        acquired_at timestamptz NOT NULL,
        renewed_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        released_at timestamptz
    )""",
    # Retention policies (docs/lifecycle.md), one per aggregate type, for every scavenge.
    "retention_policies": """CREATE TABLE IF NOT EXISTS {s}.retention_policies (
        aggregate_type text PRIMARY KEY,
        max_age_us bigint,
        max_count integer,
        updated_at timestamptz NOT NULL DEFAULT now()
    )""",
}

#: Indexes added within a schema version (they change nothing an older process relies on), by
#: name: created when a store opens a schema that lacks them.
_LATER_INDEXES = {
    "events_event_type_idx": "CREATE INDEX IF NOT EXISTS events_event_type_idx"
    " ON {s}.events (event_type, global_position)",
    # ordered outbox claims: the oldest pending entry of one aggregate
    "outbox_pending_aggregate_idx": "CREATE INDEX IF NOT EXISTS outbox_pending_aggregate_idx"
    " ON {s}.outbox (aggregate_id, seq) WHERE status = 'pending'",
}


async def _ensure_indexes(conn: Any, options: PostgresOptions) -> None:
    """Create the tables of :data:`_LATER_TABLES` and the indexes of :data:`_LATER_INDEXES`
    the schema lacks (checked in the catalog
    first: ``CREATE INDEX IF NOT EXISTS`` would lock the table against writes even then)."""
    s = options.quoted_schema
    for name, sql in _LATER_TABLES.items():
        if await conn.fetchval("SELECT to_regclass($1) IS NULL", f"{s}.{name}"):
            await conn.execute(sql.format(s=s))
    for name, sql in _LATER_INDEXES.items():
        if await conn.fetchval("SELECT to_regclass($1) IS NULL", f"{s}.{name}"):
            await conn.execute(sql.format(s=s))


async def create_schema(
    conn: Any, options: PostgresOptions, where: str | None = None, *, legacy_ok: bool = False
) -> None:
    """Create (or upgrade to) :data:`SCHEMA_VERSION` in ``options.schema``; idempotent.

    Raises :class:`SchemaVersionError` when the database holds a newer schema version, and
    :class:`~eventsource.LegacySchemaError` (changing nothing) for a schema written by
    eventsource-py 0.5.0 or an unfinished conversion of one (``legacy_ok``: the conversion
    itself, creating our tables beside 0.5.0's renamed ones).
    """
    s = options.quoted_schema
    async with conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock($1, $2)", INIT_LOCK_CLASS, options.lock_key
        )
        exists = await conn.fetchval(
            "SELECT to_regclass($1) IS NOT NULL", f"{s}.eventsource_schema"
        )
        if exists:
            stored = await conn.fetchval(f"SELECT version FROM {s}.eventsource_schema")
            if stored is not None and stored > SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"schema {options.schema!r} is at version {stored}; this release of "
                    f"eventsource-postgres understands up to {SCHEMA_VERSION}: upgrade it"
                )
            if stored == SCHEMA_VERSION and not legacy_ok:
                await _ensure_indexes(conn, options)
                return
        if not legacy_ok:
            await refuse_legacy(conn, options, where)
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
        await conn.execute(_TABLES.format(s=s))
        await _payloads_to_json(conn, options)
        for function in (_APPEND_FUNCTION, _APPEND_BATCH_FUNCTION, _COMPAT_FUNCTIONS):
            await conn.execute(render_function(function, options))
        await conn.execute(
            f"INSERT INTO {s}.eventsource_schema (version) VALUES ($1) "
            "ON CONFLICT (singleton) DO UPDATE SET version = excluded.version, updated_at = now()",
            SCHEMA_VERSION,
        )
        await _ensure_indexes(conn, options)
