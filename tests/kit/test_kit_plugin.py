"""The kit's pytest plugin (``eventsource.pytest_plugin``): which tests get which timeout."""

from __future__ import annotations

import importlib.metadata

import pytest

FILE = """
import pytest
from eventsource.testing import EventStoreConformance, ProcessConcurrencyConformance

class TestStore(EventStoreConformance):
    pass

class TestProcesses(ProcessConcurrencyConformance):
    pass

async def test_not_of_the_kit():
    pass
"""


def timeouts(pytester: pytest.Pytester, *args: str) -> dict[str, float | None]:
    """The timeout the plugin gave each collected test, by class (or test) name."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(test_timeouts=FILE)
    recorder = pytester.inline_run("--collect-only", "-p", "no:cacheprovider", *args)
    [call] = recorder.getcalls("pytest_collection_finish")
    found: dict[str, float | None] = {}
    for item in call.session.items:
        key = item.cls.__name__ if item.cls else item.name
        found.setdefault(key, getattr(item, "_eventsource_timeout", None))
    return found


def test_the_plugin_is_an_entry_point() -> None:
    """pytest loads it from the installed distribution, for any project using the kit."""
    [entry] = [
        e for e in importlib.metadata.entry_points(group="pytest11") if e.name == "eventsource"
    ]
    assert entry.value == "eventsource.pytest_plugin"


def test_kit_tests_get_the_timeout_others_none(pytester: pytest.Pytester) -> None:
    """60 s by default; a class's ``min_timeout`` raises it (processes: 300 s); tests that are
    not the kit's are left alone."""
    assert timeouts(pytester) == {
        "TestStore": 60.0,
        "TestProcesses": 300.0,
        "test_not_of_the_kit": None,
    }


def test_the_option_sets_it_and_zero_turns_it_off(pytester: pytest.Pytester) -> None:
    assert timeouts(pytester, "--eventsource-timeout=7")["TestStore"] == 7.0
    off = timeouts(pytester, "--eventsource-timeout=0")
    assert off == {"TestStore": None, "TestProcesses": None, "test_not_of_the_kit": None}


def test_a_bad_timeout_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\nasyncio_default_fixture_loop_scope = function\neventsource_timeout = soon\n"
    )
    pytester.makepyfile(test_x="def test_x():\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*eventsource_timeout must be a number, not 'soon'*"])
