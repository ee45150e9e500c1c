"""Backend URL parsing: the SQLAlchemy-style grammar, options, errors and password masking."""

from __future__ import annotations

import dataclasses

import pytest

from eventsource import BackendURL, InvalidBackendURLError, parse_url


@pytest.mark.parametrize(
    ("url", "scheme", "host", "database"),
    [
        ("memory://", "memory", None, None),
        ("memory", "memory", None, None),
        ("memory://orders", "memory", "orders", None),
        ("memory://MixedCase", "memory", "MixedCase", None),
        ("memory:///orders", "memory", None, "orders"),
        ("sqlite:///rel.db", "sqlite", None, "rel.db"),
        ("sqlite:///sub/dir/rel.db", "sqlite", None, "sub/dir/rel.db"),
        ("sqlite:////abs.db", "sqlite", None, "/abs.db"),
        ("sqlite:////var/data/app/events.db", "sqlite", None, "/var/data/app/events.db"),
        ("sqlite:///:memory:", "sqlite", None, ":memory:"),
        ("sqlite://", "sqlite", None, None),
        ("sqlite", "sqlite", None, None),
        ("SQLite:///x.db", "sqlite", None, "x.db"),
        ("sqlite:///with%20space.db", "sqlite", None, "with space.db"),
    ],
)
def test_scheme_host_and_database(
    url: str, scheme: str, host: str | None, database: str | None
) -> None:
    parsed = parse_url(url)
    assert (parsed.scheme, parsed.host, parsed.database) == (scheme, host, database)
    assert parsed.driver is None and parsed.username is None and parsed.port is None
    assert parsed.raw == url


def test_postgres_url_with_everything() -> None:
    parsed = parse_url("postgresql://u:p@h:5432/db?pool_max=20")
    assert parsed == BackendURL(
        scheme="postgresql",
        username="u",
        password="p",
        host="h",
        port=5432,
        database="db",
        options={"pool_max": "20"},
        raw="postgresql://u:p@h:5432/db?pool_max=20",
    )


def test_driver_suffix() -> None:
    parsed = parse_url("postgresql+asyncpg://app@db.internal/events")
    assert (parsed.scheme, parsed.driver, parsed.username, parsed.host, parsed.database) == (
        "postgresql",
        "asyncpg",
        "app",
        "db.internal",
        "events",
    )
    assert str(parsed) == "postgresql+asyncpg://app@db.internal/events"


def test_percent_encoded_credentials_are_decoded() -> None:
    parsed = parse_url("postgresql://us%3Aer:p%40ss%2Fw@h/db")
    assert parsed.username == "us:er" and parsed.password == "p@ss/w"


def test_ipv6_host() -> None:
    parsed = parse_url("postgresql://[::1]:6543/db")
    assert parsed.host == "::1" and parsed.port == 6543
    assert str(parsed) == "postgresql://[::1]:6543/db"


@pytest.mark.parametrize(
    "url",
    [
        "memory://",
        "memory://Orders",
        "sqlite:///rel.db",
        "sqlite:////abs/path.db",
        "sqlite:///:memory:",
        "sqlite:///with%20space.db",
        "postgresql://u%3Ax:p%40ss@h:5432/db?pool_max=20&application_name=a%26b",
        "postgresql+asyncpg://[::1]:5432/db",
    ],
)
def test_render_round_trips(url: str) -> None:
    parsed = parse_url(url)
    again = parse_url(parsed.render(hide_password=False))
    assert dataclasses.replace(again, raw="") == dataclasses.replace(parsed, raw="")


def test_password_is_masked_in_str_and_repr_of_errors() -> None:
    parsed = parse_url("postgresql://user:s3cret@h:5432/db")
    assert str(parsed) == "postgresql://user:***@h:5432/db"
    assert "s3cret" not in str(parsed)
    assert parsed.render(hide_password=False) == "postgresql://user:s3cret@h:5432/db"
    with pytest.raises(InvalidBackendURLError) as caught:
        parse_url("postgresql://user:s3cret@h/db?pool_max=lots").option("pool_max", int)
    assert "s3cret" not in str(caught.value)
    assert "***" in str(caught.value)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "./events.db",
        "sqlite:/events.db",
        "://host/db",
        "1sqlite:///x.db",
        "sql ite:///x.db",
        "postgresql://h:notaport/db",
        "postgresql://h:99999/db",
        "postgresql://[::1/db",
        "sqlite:///x.db#frag",
        "sqlite:///x.db?wal_mode=1&wal_mode=0",
    ],
)
def test_malformed_urls_raise_invalid_backend_url_error(url: str) -> None:
    with pytest.raises(InvalidBackendURLError) as caught:
        parse_url(url)
    assert isinstance(caught.value, ValueError)
    assert str(caught.value)


def test_non_string_url() -> None:
    with pytest.raises(InvalidBackendURLError, match="non-empty string"):
        parse_url(None)  # type: ignore[arg-type]


def test_duplicate_option_is_named() -> None:
    with pytest.raises(InvalidBackendURLError, match="option 'pool_max' is given twice"):
        parse_url("postgresql://h/db?pool_max=1&pool_max=2")


def test_bad_port_is_named() -> None:
    with pytest.raises(InvalidBackendURLError, match="not a valid URL"):
        parse_url("postgresql://h:abc/db")


def test_option_conversion() -> None:
    url = parse_url("sqlite:///x.db?busy_timeout=250&ratio=0.5&name=a%20b&blank=")
    assert url.option("busy_timeout", int) == 250
    assert url.option("ratio", float) == 0.5
    assert url.option("name", str) == "a b"
    assert url.option("blank", str) == ""
    assert url.option("missing", int) is None
    assert url.option("missing", int, 7) == 7
    with pytest.raises(InvalidBackendURLError, match=r"option name='a b' .* not a valid int"):
        url.option("name", int)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("1", True),
        ("yes", True),
        ("on", True),
        ("false", False),
        ("0", False),
        ("No", False),
        ("off", False),
    ],
)
def test_bool_option(raw: str, expected: bool) -> None:
    assert parse_url(f"sqlite:///x.db?wal_mode={raw}").option("wal_mode", bool) is expected


@pytest.mark.parametrize("raw", ["", "maybe", "2", "tru"])
def test_bad_bool_option(raw: str) -> None:
    with pytest.raises(InvalidBackendURLError, match="wal_mode"):
        parse_url(f"sqlite:///x.db?wal_mode={raw}").option("wal_mode", bool)


def test_check_options() -> None:
    url = parse_url("sqlite:///x.db?wal_mode=1&busy_timeout=5&bogus=1&also=2")
    url.check_options({"wal_mode", "busy_timeout", "bogus", "also"})
    with pytest.raises(InvalidBackendURLError) as caught:
        url.check_options({"wal_mode", "busy_timeout"})
    assert str(caught.value) == (
        "unknown option(s) also, bogus for sqlite:// (known: busy_timeout, wal_mode)"
    )
    with pytest.raises(InvalidBackendURLError, match=r"known: none"):
        parse_url("memory://?x=1").check_options(set())
