"""Options are checked when they are parsed: one typed, ranged reader in core (OptionSpec)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from eventsource import (
    ConfigurationError,
    InvalidBackendURLError,
    MemoryEventStore,
    open_backend,
    parse_url,
)
from eventsource.memory._names import named_exists
from eventsource.spi import MAX_EVENT_BYTES, OptionSpec, check_keywords, read_options

SECONDS = OptionSpec("wait", float, 1.0, minimum=0, exclusive_minimum=True, maximum=60)
COUNT = OptionSpec("count", int, 3, minimum=0, maximum=10)
MODE = OptionSpec("mode", str, None, choices=("FAST", "SAFE"), nullable=True)
FLAG = OptionSpec("flag", bool, False)
TABLE = (SECONDS, COUNT, MODE, FLAG)


@pytest.mark.parametrize(
    ("query", "option"),
    [
        ("wait=nan", "wait"),
        ("wait=inf", "wait"),
        ("wait=-inf", "wait"),
        ("wait=1e400", "wait"),
        ("wait=0", "wait"),
        ("wait=61", "wait"),
        ("wait=soon", "wait"),
        ("count=-1", "count"),
        ("count=11", "count"),
        ("count=2.0", "count"),
        ("count=", "count"),
        ("mode=SOMETIMES", "mode"),
        ("flag=maybe", "flag"),
        ("bogus=1", "bogus"),
    ],
)
def test_bad_url_values_name_the_option(query: str, option: str) -> None:
    url = parse_url(f"memory://?{query}")
    with pytest.raises(InvalidBackendURLError, match=option) as caught:
        read_options(url, TABLE)
    assert isinstance(caught.value, ValueError)


def test_good_url_values_are_typed_and_defaults_fill_in() -> None:
    url = parse_url("memory://?wait=0.25&count=10&mode=safe&flag=on")
    assert read_options(url, TABLE) == {"wait": 0.25, "count": 10, "mode": "SAFE", "flag": True}
    assert read_options(parse_url("memory://"), TABLE) == {
        "wait": 1.0,
        "count": 3,
        "mode": None,
        "flag": False,
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("wait", math.nan),
        ("wait", math.inf),
        ("wait", 0),
        ("wait", True),
        ("wait", "1"),
        ("wait", None),
        ("count", 1.0),
        ("count", False),
        ("count", 11),
        ("mode", "SOMETIMES"),
        ("mode", 1),
        ("flag", 1),
        ("flag", "yes"),
    ],
)
def test_bad_keywords_are_configuration_errors(name: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=name):
        check_keywords({name: value}, TABLE)


def test_keywords_are_normalised() -> None:
    assert check_keywords({"wait": 2, "mode": "fast", "count": 0}, TABLE) == {
        "wait": 2.0,
        "mode": "FAST",
        "count": 0,
    }
    assert isinstance(check_keywords({"wait": 2}, TABLE)["wait"], float)


def test_describe_gives_type_range_and_unit() -> None:
    assert SECONDS.describe() == "float > 0 and <= 60"
    assert MAX_EVENT_BYTES.describe() == "int >= 1 and <= 1073741824 (bytes)"
    assert MODE.describe() == "str: FAST / SAFE"


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", "NaN"])
def test_url_option_refuses_non_finite_floats(text: str) -> None:
    url = parse_url(f"memory://?ratio={text}")
    with pytest.raises(InvalidBackendURLError, match="ratio"):
        url.option("ratio", float)
    with pytest.raises(InvalidBackendURLError, match="ratio"):
        url.option("ratio", lambda raw: float(raw))


def test_url_option_ranges() -> None:
    url = parse_url("memory://?n=5")
    assert url.option("n", int, minimum=0, maximum=5) == 5
    with pytest.raises(InvalidBackendURLError, match=r"n='5'.*<= 4"):
        url.option("n", int, maximum=4)


@pytest.mark.parametrize(
    ("url", "part"),
    [
        ("sqlite:///dir/nul%00byte.db", "database or path"),
        ("postgresql://us%00er@h/db", "user name"),
        ("postgresql://u:pa%00ss@h/db", "password"),
        ("postgresql://h/d%00b", "database or path"),
        ("memory://?max_event_bytes=1%00", "max_event_bytes"),
    ],
)
def test_nul_characters_are_refused_when_parsed(url: str, part: str) -> None:
    with pytest.raises(InvalidBackendURLError, match=part) as caught:
        parse_url(url)
    assert "pa\x00ss" not in str(caught.value)  # a password is masked even when refused


@pytest.mark.parametrize("value", ["-1", "0", "abc", "1.5", str(2**30 + 1)])
def test_memory_max_event_bytes_is_checked(value: str) -> None:
    name = f"opt-{uuid4().hex}"
    with pytest.raises(InvalidBackendURLError, match="max_event_bytes"):
        open_backend(f"memory://{name}?max_event_bytes={value}")
    assert not named_exists(name)  # nothing was created


@pytest.mark.parametrize("value", [-1, 0, True, 1.5, "100", 2**30 + 1])
def test_core_store_keyword_max_event_bytes_is_checked(value: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_event_bytes"):
        MemoryEventStore(max_event_bytes=value)


def test_sqlite_nul_path_creates_nothing(tmp_path: Path) -> None:
    pytest.importorskip("eventsource_sqlite")
    with pytest.raises(InvalidBackendURLError, match="NUL"):
        open_backend(f"sqlite:///{tmp_path}/nul%00byte.db")
    assert list(tmp_path.iterdir()) == []
