"""Conformance of opening: ``create=False`` opens what exists and creates nothing."""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

import pytest

from .._exceptions import StoreNotFoundError
from ._base import BackendOpener, ConformanceBase, ids, read_all_list
from ._events import AGGREGATE_TYPE, noted
from ._roles import EventStoreOpener, RoleBackend, RoleOpener, roles_of

__all__ = ["OpeningConformance"]


async def _refused(opener: Callable[[], object]) -> StoreNotFoundError:
    """Open a new backend from ``opener`` with create=False; the StoreNotFoundError it raised."""
    backend = roles_of(opener())
    with pytest.raises(StoreNotFoundError) as caught:
        await backend.open(create=False)
    assert not backend.is_open
    await backend.close()
    return caught.value


class OpeningConformance(ConformanceBase):
    """``open(create=False)``: an existing store opens; a missing one is refused, not created."""

    async def test_open_existing_store_without_create(
        self, backend: RoleBackend, kit_opener: RoleOpener
    ) -> None:
        """A second backend opened with ``create=False`` on the test's (existing) storage
        opens and reads the events already there.

        Fix: implement ``EventStore.connect_existing()``: connect without creating anything,
        and accept a store whose schema is initialised.
        """
        self.require(backend, "concurrent_connections")
        aid = uuid4()
        await backend.events.append_events(aid, AGGREGATE_TYPE, noted(aid, 2), 0)
        expected = ids(await read_all_list(backend))
        existing = kit_opener()
        await existing.open(create=False)
        try:
            assert existing.is_open
            assert ids(await read_all_list(existing)) == expected
        finally:
            await existing.close()

    async def test_open_missing_store_without_create(
        self, missing_store_opener: BackendOpener | EventStoreOpener | None
    ) -> None:
        """``create=False`` on storage that does not exist raises StoreNotFoundError naming
        it (``location``) and creates nothing: a second try is refused alike. Once the store
        is created (``create=True``), ``create=False`` opens it and sees its events.

        Fix: ``connect_existing()`` must check for the store before anything can create it
        (open a file without creating it, look the schema up before any DDL) and raise
        StoreNotFoundError; needs the optional ``missing_store_opener`` fixture.
        """
        if missing_store_opener is None:
            pytest.skip(
                "no missing_store_opener fixture: the kit cannot invent a missing store for "
                "this backend (define one returning an opener on storage that does not exist)"
            )
        first = await _refused(missing_store_opener)
        assert first.location, "StoreNotFoundError.location must name the file or schema"
        await _refused(missing_store_opener)  # still missing: the first try created nothing
        aid = uuid4()
        async with roles_of(missing_store_opener()) as created:
            await created.events.append_events(aid, AGGREGATE_TYPE, noted(aid, 2), 0)
            expected = ids(await read_all_list(created))
            existing = roles_of(missing_store_opener())
            await existing.open(create=False)
            try:
                assert ids(await read_all_list(existing)) == expected
            finally:
                await existing.close()
