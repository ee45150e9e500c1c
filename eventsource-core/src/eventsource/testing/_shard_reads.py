"""Conformance of shard reads (capability ``shard_reads``): ``read_all_shard`` keeps exactly
the events of one shard's streams, as ``read_all`` filtered by ``crc32(aggregate_id.bytes)
% shards`` would, with every read option."""

from __future__ import annotations

import zlib
from typing import Any
from uuid import UUID, uuid4

import pytest

from .._exceptions import InvalidArgumentError
from ..stores._shard_reads import ShardReads
from ..stores._types import ReadDirection, ReadOptions, StoredEvent
from ._base import ConformanceBase, read_all_list
from ._events import AGGREGATE_TYPE, noted
from ._roles import RoleBackend

__all__ = ["ShardReadConformance"]


def _store(backend: RoleBackend) -> ShardReads:
    store = backend.events
    assert isinstance(store, ShardReads), (
        f"backend {backend.name!r} declares shard_reads, but its event store "
        f"{type(store).__name__} is not a ShardReads: subclass it and implement "
        "read_all_shard, or turn the capability off"
    )
    return store


async def _shard_list(
    backend: RoleBackend, shard: int, shards: int, options: ReadOptions | None = None
) -> list[StoredEvent]:
    return [stored async for stored in _store(backend).read_all_shard(shard, shards, options)]


def _where(events: list[StoredEvent], shard: int, shards: int) -> list[int]:
    return [e.global_position for e in events if zlib.crc32(e.aggregate_id.bytes) % shards == shard]


class ShardReadConformance(ConformanceBase):
    """``read_all_shard``: one shard's streams, in position order, with the read options."""

    async def _streams(self, backend: RoleBackend, count: int = 24) -> list[UUID]:
        self.require(backend, "shard_reads")
        streams = [uuid4() for _ in range(count)]
        for n in range(2):  # interleaved, two events a stream
            for aid in streams:
                await backend.events.append_events(
                    aid, AGGREGATE_TYPE, noted(aid, 1, prefix=f"r{n}-"), n
                )
        return streams

    async def test_shard_read_keeps_exactly_its_streams(self, backend: RoleBackend) -> None:
        """For N in 1, 2, 3, 4, 7, every shard k yields the events of ``read_all`` whose
        ``crc32(aggregate_id.bytes) % N == k``, in position order; the shards partition the log.

        Fix: filter by the CRC-32 of the stream UUID's 16 bytes (zlib's), modulo N, where
        the rows are selected (eventsource.spi.CRC32_UUID_TABLE computes it in plain SQL).
        """
        await self._streams(backend)
        everything = await read_all_list(backend)
        for shards in (1, 2, 3, 4, 7):
            seen: list[int] = []
            for shard in range(shards):
                got = [e.global_position for e in await _shard_list(backend, shard, shards)]
                assert got == _where(everything, shard, shards), f"shard {shard} of {shards}"
                seen += got
            assert sorted(seen) == [e.global_position for e in everything]

    async def test_shard_read_honours_read_options(self, backend: RoleBackend) -> None:
        """``from_position``, ``limit`` (counting the kept events only), ``direction`` and
        ``event_types`` act as on ``read_all``, the shard filter applied with them.

        Fix: add the shard condition to the same query as the other filters, before LIMIT.
        """
        await self._streams(backend)
        everything = await read_all_list(backend)
        middle = everything[len(everything) // 2].global_position
        cases: list[ReadOptions] = [
            ReadOptions(from_position=middle),
            ReadOptions(limit=3),
            ReadOptions(from_position=middle, limit=2),
            ReadOptions(direction=ReadDirection.BACKWARD, limit=4),
            ReadOptions(event_types=("KitItemNoted",), limit=5),
            ReadOptions(event_types=("KitNoSuchType",)),
        ]
        for options in cases:
            expected = await read_all_list(
                backend, ReadOptions(**{**_fields(options), "limit": None})
            )
            for shard in range(3):
                want = _where(expected, shard, 3)[: options.limit]
                got = [e.global_position for e in await _shard_list(backend, shard, 3, options)]
                assert got == want, f"shard {shard} of 3 with {options}"

    async def test_shard_read_bad_arguments(self, backend: RoleBackend) -> None:
        """A shard count below 1, a shard outside 0 .. N-1, a bool or a non-int raise
        InvalidArgumentError.

        Fix: call ``check_shard`` (eventsource.spi) first.
        """
        await self._streams(backend, 2)
        bad: list[tuple[Any, Any]] = [(0, 0), (4, 4), (-1, 4), (True, 4), (0, "4"), (0, 2**31)]
        for shard, shards in bad:
            with pytest.raises(InvalidArgumentError):
                await _shard_list(backend, shard, shards)
        with pytest.raises(InvalidArgumentError):
            await _shard_list(backend, 0, 2, "from 0")  # type: ignore[arg-type]


def _fields(options: ReadOptions) -> dict[str, Any]:
    return {name: getattr(options, name) for name in options.__dataclass_fields__}
