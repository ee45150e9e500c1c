"""SQL for streaming reads (keyset pagination) and decoding rows into events."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsource.spi import (
    CRC32_UUID_TABLE,
    CRC32_ZERO_UUID,
    DomainEvent,
    EventRegistry,
    PageDecoder,
    ReadDirection,
    ReadOptions,
    RowReader,
    StoredEvent,
    stored_page,
)

from ._schema import READ_BOUND

__all__ = ["STORED_COLUMNS", "STREAM_ID", "decode_stored", "page_query", "shard_of_row"]

#: The stream id of a row, computed by the server.
STREAM_ID = "aggregate_id::text || ':' || aggregate_type AS stream_id"

#: Columns every streaming read selects, in the order :func:`decode_stored` expects.
STORED_COLUMNS = (
    "global_position, aggregate_version, stored_at, event_type, event_version, payload, "
    f"{STREAM_ID}, event_id"
)


#: ``zlib.crc32(aggregate_id.bytes)`` in plain SQL (PostgreSQL has no CRC-32 before 18): the
#: XOR of one table lookup per byte of the UUID (eventsource.spi.CRC32_UUID_TABLE), about
#: 1 us a row on the server, against tens of us to fetch and decode a row in Python.
_ROW_CRC32 = (
    f"({CRC32_ZERO_UUID}::bigint # "
    + " # ".join(
        f"(ARRAY[{','.join(map(str, CRC32_UUID_TABLE[256 * j : 256 * j + 256]))}]::bigint[])"
        f"[get_byte(uuid_send(aggregate_id), {j}) + 1]"
        for j in range(16)
    )
    + ")"
)


def shard_of_row(shards: int) -> str:
    """SQL of a row's shard (0 .. ``shards`` - 1), as :func:`eventsource.runtime.shard_of`."""
    return f"({_ROW_CRC32} % {int(shards)})"


def page_query(
    schema: str,
    options: ReadOptions,
    cursor: int | None,
    *,
    key: str,
    base: Sequence[tuple[str, Any]] = (),
) -> tuple[str, list[Any]]:
    """One page of a read: ``key`` past ``cursor`` in ``options.direction``, filtered.

    ``key`` is ``global_position`` (read_all) or ``aggregate_version`` (read_stream); ``base``
    adds equality conditions. Returns the SQL (with a trailing ``LIMIT`` placeholder) and its
    arguments without the limit.
    """
    where: list[str] = []
    args: list[Any] = []
    if key == "global_position":
        # stop short of appends whose flush is still owed (in this statement's snapshot)
        where.append(f"global_position < {READ_BOUND.format(s=schema)}")

    def add(sql: str, value: Any) -> None:
        args.append(value)
        where.append(sql.format(f"${len(args)}"))

    for column, value in base:
        add(column + " = {}", value)
    forward = options.direction is ReadDirection.FORWARD
    if cursor is not None:  # bigint: a stream position may be past a version's 32 bits
        add(f"{key} {'>' if forward else '<'} {{}}::bigint", cursor)
    if options.from_timestamp is not None:
        add("occurred_at >= {}", options.from_timestamp)
    if options.to_timestamp is not None:
        add("occurred_at <= {}", options.to_timestamp)
    if options.tenant_id is not None:
        add("tenant_id = {}", options.tenant_id)
    order = "ASC" if forward else "DESC"
    if options.event_types is not None and key == "global_position" and not base:
        # One index range scan per wanted type (events_event_type_idx), each stopping after a
        # page, merged: a catch-up costs the events it handles, not the size of the log.
        wanted = list(dict.fromkeys(options.event_types))
        args.append(wanted)
        types = f"${len(args)}"
        where.insert(0, "event_type = t.wanted")
        limit = f"${len(args) + 1}"
        inner = (
            f"SELECT {STORED_COLUMNS} FROM {schema}.events WHERE {' AND '.join(where)} "
            # event_type is fixed here: ordering by it too matches the index's order
            f"ORDER BY event_type {order}, global_position {order} LIMIT {limit}"
        )
        sql = (
            f"SELECT e.* FROM unnest({types}::text[]) AS t(wanted) "
            f"CROSS JOIN LATERAL ({inner}) AS e "
            f"ORDER BY e.global_position {order} LIMIT {limit}"
        )
        return sql, args
    if options.event_types is not None:
        add("event_type = ANY({}::text[])", list(options.event_types))
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    sql = (
        f"SELECT {STORED_COLUMNS} FROM {schema}.events{clause} "
        f"ORDER BY {key} {order} LIMIT ${len(args) + 1}"
    )
    return sql, args


def decode_stored(
    registry: EventRegistry, rows: list[Any], lazy: bool = False
) -> Iterable[StoredEvent]:
    """Rows selected with :data:`STORED_COLUMNS` as stored events, decoded one at a time as
    they are taken: a row that cannot be decoded raises
    :class:`~eventsource.EventDecodeError` after every event before it was yielded. With
    ``lazy`` each event is decoded on first access of ``.event`` instead (rows that go through
    upcasters still decode at once)."""
    decode = PageDecoder(registry)

    def eager(r: Any) -> StoredEvent:
        event = decode(r[5], r[3], r[4], r[0], r[6], r[1], r[7])
        return StoredEvent(event, r[6], r[1], r[0], r[2])

    return stored_page(rows, _Rows(decode), registry, lazy=lazy, eager=eager, event_version=4)


class _Rows(RowReader):
    """Where a row of :data:`STORED_COLUMNS` keeps a stored event's fields."""

    __slots__ = ("_decode",)

    def __init__(self, decode: PageDecoder) -> None:
        super().__init__(0, 1, 3)
        self._decode = decode

    def stream_id(self, row: Any) -> str:
        sid: str = row[6]
        return sid

    def stored_at(self, row: Any) -> datetime:
        stored: datetime = row[2]
        return stored

    def event_id(self, row: Any) -> UUID:
        eid: UUID = row[7]
        return eid

    def decode(self, row: Any) -> DomainEvent:
        return self._decode(row[5], row[3], row[4], row[0], row[6], row[1], row[7])
