"""Scratch storage for ``eventsource conformance memory://``: a fresh name per kit test."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator
from uuid import uuid4

from ..spi import BackendURL, ScratchStorage

__all__ = ["scratch_storage"]


@contextlib.asynccontextmanager
async def scratch_storage(url: BackendURL) -> AsyncIterator[ScratchStorage]:
    """``memory://kit-<hex>`` (and a name no store holds, for ``create=False``), with the
    URL's options; nothing to remove: a name no store holds is gone."""
    name = uuid4().hex

    def named(prefix: str) -> str:
        return dataclasses.replace(url, host=f"{prefix}{name}", database=None).render(
            hide_password=False
        )

    yield ScratchStorage(url=named("kit-"), missing_url=named("kit-missing-"))
