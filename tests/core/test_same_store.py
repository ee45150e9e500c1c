"""``same_store``: how a backend tells that two URLs name one store, so that ``migrate``
refuses to copy a store onto itself and lets two stores in one database through."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventsource import EventStoreError
from eventsource.migration import migrate_backend, same_store
from eventsource.spi import parse_url, same_url_store


def same(a: str, b: str) -> bool:
    return same_store(parse_url(a), parse_url(b))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("postgresql://u:pw@h/db", "postgresql://u:other@h/db?pool_max=3"),
        ("postgresql://u@h/db?schema=app", "postgres://v@h:5432/db?schema=app"),
        ("postgresql://u@localhost/db", "postgresql://u@127.0.0.1:5432/db?schema=public"),
        ("postgresql://app@h", "postgresql://app@h/app"),
        ("sqlite:///same.db", "sqlite:///./same.db"),
        ("sqlite:///same.db?busy_timeout=100", "sqlite:///same.db"),
        ("memory://shared", "memory://shared"),
    ],
)
def test_urls_of_one_store(a: str, b: str) -> None:
    assert same(a, b) and same(b, a)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("postgresql://u@h/db?schema=one", "postgresql://u@h/db?schema=two"),
        ("postgresql://u@h/db", "postgresql://u@h/other"),
        ("postgresql://u@h/db", "postgresql://u@h:5433/db"),
        ("postgresql://u@h1/db", "postgresql://u@h2/db"),
        ("sqlite:///one.db", "sqlite:///two.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("sqlite://", "sqlite://"),
        ("memory://", "memory://"),
        ("memory://a", "memory://b"),
        ("memory://a", "sqlite:///a"),
    ],
)
def test_urls_of_two_stores(a: str, b: str) -> None:
    assert not same(a, b) and not same(b, a)


def test_sqlite_resolves_links(tmp_path: Path) -> None:
    """A symlink to the file and the file are one store; relative and absolute paths too."""
    real = tmp_path / "events.db"
    real.touch()
    link = tmp_path / "link.db"
    link.symlink_to(real)
    assert same(f"sqlite:///{real}", f"sqlite:///{link}")
    assert same(f"sqlite:///{real}", f"sqlite:///{tmp_path}/./events.db")


def test_the_default_compares_user_host_port_database() -> None:
    """A backend without a hook gets ``same_url_store``: options do not count."""
    a, b = parse_url("x://u@h:1/db?o=1"), parse_url("x://u@h:1/db?o=2")
    assert same_url_store(a, b)
    assert not same_url_store(a, parse_url("x://u@h:1/other"))
    assert not same_url_store(parse_url("x://"), parse_url("x://"))


async def test_migrate_refuses_a_schema_onto_itself() -> None:
    """Refused before anything is opened (no server is asked)."""
    with pytest.raises(EventStoreError, match="same database"):
        await migrate_backend(
            "postgresql://u@nowhere.invalid/db?schema=app",
            "postgres://v@nowhere.invalid:5432/db?schema=app&pool_max=2",
        )
