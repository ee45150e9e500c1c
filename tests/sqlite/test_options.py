"""Every sqlite:// option and SQLiteEventStore keyword is typed and ranged when it is parsed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eventsource import ConfigurationError, InvalidBackendURLError, open_backend
from eventsource_sqlite import SQLiteEventStore
from eventsource_sqlite.plugin import OPTION_SPECS, OPTIONS


@pytest.mark.parametrize(
    ("query", "option"),
    [
        ("busy_timeout=-1", "busy_timeout"),
        ("busy_timeout=2147483648", "busy_timeout"),
        ("busy_timeout=1.5", "busy_timeout"),
        ("max_event_bytes=-1", "max_event_bytes"),
        ("max_event_bytes=0", "max_event_bytes"),
        ("max_event_bytes=1000000001", "max_event_bytes"),
        ("synchronous=", "synchronous"),
        ("read_only=perhaps", "read_only"),
        ("wal_mode=2", "wal_mode"),
    ],
)
def test_bad_url_option_is_refused_before_anything_is_created(
    tmp_path: Path, query: str, option: str
) -> None:
    with pytest.raises(InvalidBackendURLError, match=option):
        open_backend(f"sqlite:///{tmp_path}/x.db?{query}")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("busy_timeout", True),
        ("busy_timeout", 1.5),
        ("busy_timeout", -5),
        ("busy_timeout", 2**31),
        ("max_event_bytes", -1),
        ("max_event_bytes", 0),
        ("max_event_bytes", 10**10),
        ("wal_mode", "yes"),
        ("read_only", 1),
        ("synchronous", "SOMETIMES"),
    ],
)
def test_bad_keyword_is_a_configuration_error(keyword: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=keyword):
        SQLiteEventStore("x.db", **{keyword: value})


@pytest.mark.parametrize("database", ["dir/nul\x00byte.db", 42])
def test_unusable_database_argument_is_a_configuration_error(database: Any) -> None:
    with pytest.raises(ConfigurationError):
        SQLiteEventStore(database)


def test_synchronous_is_case_insensitive_and_defaults_by_journal_mode() -> None:
    assert SQLiteEventStore("x.db", synchronous="full").synchronous == "FULL"
    assert SQLiteEventStore("x.db").synchronous == "NORMAL"
    assert SQLiteEventStore("x.db", wal_mode=False).synchronous == "FULL"


def test_option_names_come_from_the_table() -> None:
    assert {spec.name for spec in OPTION_SPECS} == OPTIONS
