"""Optional capability ``shard_reads``: ``read_all`` keeping one shard's streams, with the
filter evaluated by the backend (in SQL), so a shard's runner neither fetches nor decodes the
other shards' events.

An event store that also subclasses :class:`ShardReads` (and declares ``shard_reads``) offers
:meth:`ShardReads.read_all_shard`; a sharded :class:`~eventsource.runtime.ProjectionRunner`
uses it, and filters :meth:`EventStore.read_all` itself on a store without it. The shard of a
stream is ``zlib.crc32(aggregate_id.bytes) % shards`` (:func:`eventsource.runtime.shard_of`).
CRC-32 of a fixed 16 bytes is affine over GF(2), so it is the XOR of 16 table lookups, one per
byte (:data:`CRC32_UUID_TABLE`): a database without a CRC-32 function computes it in plain
SQL, for example PostgreSQL with ``get_byte(uuid_send(aggregate_id), j)``.
"""

from __future__ import annotations

import abc
import zlib
from collections.abc import AsyncIterator

from .._exceptions import InvalidArgumentError
from ._types import ReadOptions, StoredEvent

__all__ = ["CRC32_UUID_TABLE", "CRC32_ZERO_UUID", "ShardReads", "check_shard", "uuid_crc32"]

#: ``zlib.crc32`` of 16 zero bytes.
CRC32_ZERO_UUID = zlib.crc32(bytes(16))


def _table() -> tuple[int, ...]:
    entries = []
    for j in range(16):
        for value in range(256):
            block = bytearray(16)
            block[j] = value
            entries.append(zlib.crc32(bytes(block)) ^ CRC32_ZERO_UUID)
    return tuple(entries)


#: ``T[256 * j + b]``: what byte ``j`` of a UUID equal to ``b`` XORs into its CRC-32, so
#: ``crc32(u.bytes) == CRC32_ZERO_UUID ^ T[b0] ^ T[256 + b1] ^ ... ^ T[3840 + b15]``.
CRC32_UUID_TABLE: tuple[int, ...] = _table()


def uuid_crc32(raw: bytes) -> int:
    """``zlib.crc32`` of a UUID's 16 bytes, by the table (what a backend's SQL computes)."""
    value = CRC32_ZERO_UUID
    for j, byte in enumerate(raw):
        value ^= CRC32_UUID_TABLE[256 * j + byte]
    return value


def check_shard(shard: object, shards: object) -> tuple[int, int]:
    """``read_all_shard``'s shard arguments: ints with ``shards`` from 1 to 2**31 - 1 and
    ``0 <= shard < shards``; :class:`InvalidArgumentError` otherwise."""
    for name, value in (("shard", shard), ("shards", shards)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidArgumentError(f"{name} must be an int, got {type(value).__name__}")
    assert isinstance(shard, int) and isinstance(shards, int)
    if not 1 <= shards <= 2**31 - 1:
        raise InvalidArgumentError(f"shards must be from 1 to 2**31 - 1, got {shards}")
    if not 0 <= shard < shards:
        raise InvalidArgumentError(f"no shard {shard} of {shards}")
    return shard, shards


class ShardReads(abc.ABC):
    """An event store that filters ``read_all`` by shard itself (capability ``shard_reads``)."""

    @abc.abstractmethod
    def read_all_shard(
        self, shard: int, shards: int, options: ReadOptions | None = None
    ) -> AsyncIterator[StoredEvent]:
        """:meth:`EventStore.read_all` with ``options``, keeping only the events whose stream
        is in shard ``shard`` of ``shards`` (``crc32(aggregate_id.bytes) % shards``); a
        row whose stream id is not a UUID belongs to shard 0. ``options.limit`` counts the
        events kept. Bad shard arguments raise :class:`InvalidArgumentError` (see
        :func:`check_shard`) before any I/O."""
