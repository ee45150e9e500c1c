"""Opening without creating, on the memory backend, the contract's default and the CLI."""

from __future__ import annotations

from uuid import uuid4

import pytest

from eventsource import (
    ConfigurationError,
    MemoryEventStore,
    StorageUnavailableError,
    StoreNotFoundError,
    open_backend,
)
from eventsource.cli import main
from eventsource.memory._names import named_exists
from eventsource.stores import EventStore


async def test_private_memory_database_never_exists() -> None:
    with pytest.raises(StoreNotFoundError, match="private") as caught:
        async with open_backend("memory://", create=False):
            pass
    assert caught.value.location == "memory://"
    assert isinstance(caught.value, StorageUnavailableError)
    with pytest.raises(StoreNotFoundError):
        await MemoryEventStore().open(create=False)


async def test_named_memory_database_must_be_held_by_another_store() -> None:
    name = f"open-{uuid4().hex}"
    backend = open_backend(f"memory://{name}", create=False)
    with pytest.raises(StoreNotFoundError, match=name) as caught:
        await backend.open()
    assert caught.value.location == f"memory://{name}"
    assert not backend.is_open and not named_exists(name)  # the try created nothing
    async with open_backend(f"memory://{name}") as created:  # the default creates
        assert named_exists(name)
        async with open_backend(f"memory://{name}", create=False) as existing:
            assert existing.events is not created.events
            assert existing.events.state is created.events.state  # type: ignore[attr-defined]


async def test_open_creates_by_default_and_create_false_can_be_given_to_open() -> None:
    name = f"open-{uuid4().hex}"
    backend = open_backend(f"memory://{name}")
    assert backend.create is True
    with pytest.raises(StoreNotFoundError):
        await backend.open(create=False)
    assert not backend.is_open
    await backend.open()
    assert backend.is_open
    await backend.close()


async def test_a_store_that_cannot_tell_refuses_create_false() -> None:
    """The contract's default connect_existing: a typed refusal, never a silent create."""

    class Blind(MemoryEventStore):
        connect_existing = EventStore.connect_existing

    store = Blind()
    with pytest.raises(ConfigurationError, match="connect_existing"):
        await store.open(create=False)
    await store.open()  # creating still works


@pytest.mark.parametrize(
    "argv",
    [
        ["info"],
        ["events", "tail"],
        ["checkpoints", "list"],
        ["checkpoints", "reset", "p"],
        ["outbox", "stats"],
        ["dlq", "list"],
        ["dlq", "show", "1"],
        ["dlq", "resolve", "1", "--note", "x"],
    ],
)
def test_cli_commands_refuse_a_store_that_does_not_exist(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    name = f"cli-missing-{uuid4().hex[:10]}"
    code = main(["--url", f"memory://{name}", *argv])
    _, err = capsys.readouterr()
    assert code == 5 and "Traceback" not in err
    assert f"no in-memory database named {name!r}" in err and "init" in err
    assert not named_exists(name)


def test_cli_migrate_refuses_a_missing_source(capsys: pytest.CaptureFixture[str]) -> None:
    source, target = f"src-{uuid4().hex[:10]}", f"dst-{uuid4().hex[:10]}"
    code = main(["migrate", "--from", f"memory://{source}", "--to", f"memory://{target}"])
    _, err = capsys.readouterr()
    assert code == 5 and f"no in-memory database named {source!r}" in err
    assert not named_exists(source) and not named_exists(target)
