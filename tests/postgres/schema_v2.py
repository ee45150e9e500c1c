"""The PostgreSQL schema as release 0.1.0 created it (schema version 2: jsonb payloads), kept
verbatim so that upgrade tests start from a real older schema rather than an imitation."""

from __future__ import annotations

from typing import Any

from eventsource_postgres._options import PostgresOptions
from eventsource_postgres._schema import APPEND_LOCK_CLASS

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
    payload jsonb NOT NULL,
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_stream_version_key UNIQUE (aggregate_id, aggregate_type, aggregate_version)
);
CREATE INDEX IF NOT EXISTS events_aggregate_type_idx
    ON {s}.events (aggregate_type, global_position);
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
    event_data jsonb NOT NULL,
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
CREATE TABLE IF NOT EXISTS {s}.dlq (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id uuid NOT NULL,
    projection_name text NOT NULL,
    event_type text NOT NULL,
    event_data jsonb NOT NULL,
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
    OUT current_version integer,
    OUT last_position bigint
) LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_base bigint;
    v_n integer := cardinality(p_event_ids);
BEGIN
    IF NOT pg_try_advisory_xact_lock({lock_class}, {lock_key}) THEN
        PERFORM set_config('lock_timeout', p_lock_timeout_ms::text, true);
        PERFORM pg_advisory_xact_lock({lock_class}, {lock_key});
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
        x.t, x.v, x.tenant, x.occ,
        CASE WHEN current_version = p_stamped_from THEN x.p::jsonb
             ELSE jsonb_set(x.p::jsonb, '{{aggregate_version}}', to_jsonb(current_version + x.n))
        END
    FROM unnest(p_event_ids, p_event_types, p_event_versions, p_tenant_ids, p_occurred_at,
                p_payloads) WITH ORDINALITY AS x(id, t, v, tenant, occ, p, n);
    IF p_outbox THEN
        INSERT INTO {s}.outbox (id, event_id, event_type, aggregate_id, aggregate_type,
            tenant_id, event_data)
        SELECT gen_random_uuid(), e.event_id, e.event_type, e.aggregate_id, e.aggregate_type,
            e.tenant_id, e.payload
        FROM {s}.events e WHERE e.global_position > v_base ORDER BY e.global_position;
    END IF;
    last_position := v_base + v_n;
    IF p_notify THEN
        PERFORM pg_notify({channel}, last_position::text);
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
    p_lock_timeout_ms integer
) RETURNS TABLE (current_version integer, last_position bigint, duplicate_id uuid)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    v_start bigint;
    v_base bigint;
    v_first integer := 1;
    v_last integer;
    v_ok boolean;
BEGIN
    IF NOT pg_try_advisory_xact_lock({lock_class}, {lock_key}) THEN
        PERFORM set_config('lock_timeout', p_lock_timeout_ms::text, true);
        PERFORM pg_advisory_xact_lock({lock_class}, {lock_key});
    END IF;
    v_start := coalesce((SELECT max(e.global_position) FROM {s}.events e), 0);
    v_base := v_start;
    FOR i IN 1 .. cardinality(p_aggregate_ids) LOOP
        v_last := v_first + p_counts[i] - 1;
        last_position := NULL;
        duplicate_id := NULL;
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
                current_version + x.n, x.t, x.v, x.tenant, x.occ,
                CASE WHEN current_version = p_stamped_from[i] THEN x.p::jsonb
                     ELSE jsonb_set(x.p::jsonb, '{{aggregate_version}}',
                                    to_jsonb(current_version + x.n))
                END
            FROM unnest(p_event_ids[v_first:v_last], p_event_types[v_first:v_last],
                        p_event_versions[v_first:v_last], p_tenant_ids[v_first:v_last],
                        p_occurred_at[v_first:v_last], p_payloads[v_first:v_last])
                WITH ORDINALITY AS x(id, t, v, tenant, occ, p, n);
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
    IF p_notify AND v_base > v_start THEN
        PERFORM pg_notify({channel}, v_base::text);
    END IF;
END
$fn$;
"""


async def create_v2_schema(conn: Any, options: PostgresOptions) -> None:
    """Create ``options.schema`` exactly as schema version 2 did."""
    s = options.quoted_schema
    channel = "'" + options.channel.replace("'", "''") + "'"
    await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {s}")
    await conn.execute(_TABLES.format(s=s))
    for function in (_APPEND_FUNCTION, _APPEND_BATCH_FUNCTION):
        await conn.execute(
            function.format(
                s=s, lock_class=APPEND_LOCK_CLASS, lock_key=options.lock_key, channel=channel
            )
        )
    await conn.execute(f"INSERT INTO {s}.eventsource_schema (version) VALUES (2)")
