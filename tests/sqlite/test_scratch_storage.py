"""The SQLite backend's scratch storage (what ``eventsource conformance sqlite:///...`` runs
each kit test on): a temporary directory beside the file the URL names, removed after."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from eventsource import StorageUnavailableError, open_backend
from eventsource.spi import ScratchStorage, get_registry, parse_url


def scratch(url: str) -> AbstractAsyncContextManager[ScratchStorage]:
    factory = get_registry().get_backend("sqlite").event_store.scratch_storage
    assert factory is not None
    return factory(parse_url(url))


def exists(path: str | None) -> bool:
    return path is not None and Path(path).exists()


async def test_beside_the_named_file_keeping_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative URL resolves against the current directory; the kit's files go in a new
    directory beside app.db (which is never created), with the URL's options; gone after."""
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    async with scratch("sqlite:///data/app.db?busy_timeout=1234") as storage:
        url = parse_url(storage.url)
        kit_db = Path(url.database or "")
        assert kit_db.parent.parent == tmp_path / "data"
        assert kit_db.parent.name.startswith(".eventsource-kit-")
        assert url.options == {"busy_timeout": "1234"}
        assert storage.missing_url and not exists(parse_url(storage.missing_url).database)
        async with open_backend(storage.url) as backend:
            assert await backend.events.get_global_position() == 0
        assert exists(str(kit_db))
    assert not exists(str(kit_db.parent))


async def test_memory_and_a_missing_directory(tmp_path: Path) -> None:
    """``:memory:`` certifies private databases (capabilities say so); a directory that does
    not exist is a StorageUnavailableError naming it."""
    async with scratch("sqlite:///:memory:") as storage:
        assert storage.url == "sqlite:///:memory:"
        assert storage.capabilities is not None
        assert not storage.capabilities.concurrent_connections
        assert storage.missing_url is None
    with pytest.raises(StorageUnavailableError, match="does not exist"):
        async with scratch(f"sqlite:///{tmp_path}/nope/app.db"):
            pass
