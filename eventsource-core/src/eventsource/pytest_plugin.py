"""The conformance kit's pytest plugin, loaded by pytest through the ``pytest11`` entry point.

Installed with ``eventsource-core``, it does three things for the kit (``eventsource.testing``)
and nothing to any other test:

- registers assertion rewriting for ``eventsource.testing``, so that a failing kit assertion
  prints the values it compared (pytest rewrites only test modules and registered packages);
- gives every kit test a timeout, ``--eventsource-timeout=SECONDS`` (ini
  ``eventsource_timeout``, default 60; 0 turns it off; a kit class may raise it for its tests
  with ``min_timeout``, as the races between processes do): a backend that never answers fails
  the test with a message naming the timeout, instead of hanging the run;
- sets the cap on the events one kit read may yield, ``--eventsource-read-cap=N`` (default:
  the kit class's ``read_cap``, 100,000): a read that never ends fails the test naming the
  backend and the read.

The timeout cancels the test's coroutine (its fixtures are torn down as usual); a test stuck
in code that never gives the event loop a turn is interrupted by ``SIGALRM`` a little later,
where the platform has it (the main thread on POSIX).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import signal
import threading
import types
from collections.abc import Callable, Generator
from typing import Any

import pytest

pytest.register_assert_rewrite("eventsource.testing")

__all__ = [
    "DEFAULT_TIMEOUT",
    "backstop",
    "is_kit_test",
    "kit_timeout",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_runtest_call",
]

#: Seconds a kit test may take by default.
DEFAULT_TIMEOUT = 60.0


def backstop(seconds: float) -> float:
    """When SIGALRM interrupts a test that never yields to its loop: a little after the
    timeout (a tenth more, at least a second), so that the timeout proper goes first."""
    return seconds + max(1.0, seconds / 10)


_KIT_PREFIX = "eventsource.testing"
_TIMEOUT_ATTR = "_eventsource_timeout"


def pytest_addoption(parser: pytest.Parser) -> None:
    """The kit's command-line and ini options."""
    group = parser.getgroup("eventsource", "eventsource conformance kit")
    group.addoption(
        "--eventsource-timeout",
        dest="eventsource_timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"fail a kit test that runs longer than this (default {DEFAULT_TIMEOUT:g}; 0: off)",
    )
    group.addoption(
        "--eventsource-read-cap",
        dest="eventsource_read_cap",
        type=int,
        default=None,
        metavar="N",
        help="fail a kit test whose read yields more than N events (default: the class's "
        "read_cap, 100000)",
    )
    parser.addini(
        "eventsource_timeout",
        f"seconds a kit test may take (default {DEFAULT_TIMEOUT:g}; 0: off)",
        default=str(DEFAULT_TIMEOUT),
    )


def kit_timeout(config: pytest.Config) -> float:
    """The timeout of kit tests in seconds (0: none), from the option or the ini file."""
    given = config.getoption("eventsource_timeout", None)
    if given is None:
        text = str(config.getini("eventsource_timeout") or DEFAULT_TIMEOUT)
        try:
            given = float(text)
        except ValueError:
            raise pytest.UsageError(f"eventsource_timeout must be a number, not {text!r}") from None
    if given < 0:
        raise pytest.UsageError(f"--eventsource-timeout must be >= 0, not {given:g}")
    return float(given)


def is_kit_test(item: pytest.Item) -> bool:
    """Whether ``item`` is a test of a class deriving from a kit class."""
    cls = getattr(item, "cls", None)
    if cls is None:
        return False
    return any(base.__module__.startswith(_KIT_PREFIX) for base in cls.__mro__[1:])


def _timed(test: Callable[..., Any], seconds: float, nodeid: str) -> Callable[..., Any]:
    """``test`` (a coroutine function) failing after ``seconds`` with a message."""

    @functools.wraps(test)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        deadline = asyncio.timeout(seconds)
        try:
            async with deadline:
                return await test(*args, **kwargs)
        except TimeoutError:
            if not deadline.expired():
                raise  # the test's own TimeoutError
            pytest.fail(_message(nodeid, seconds))

    return timed


def _message(nodeid: str, seconds: float) -> str:
    return (
        f"{nodeid} did not finish within --eventsource-timeout={seconds:g}s: the backend "
        "never answered (a lock never released, a wait never woken, a read that never ends). "
        "The traceback above shows where the test was waiting."
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give every kit test (an ``async def`` of a kit class) the timeout."""
    seconds = kit_timeout(config)
    if not seconds:
        return
    for item in items:
        if not isinstance(item, pytest.Function) or not is_kit_test(item):
            continue
        test = item.obj
        if not inspect.iscoroutinefunction(test):
            continue
        limit = max(seconds, float(getattr(item.cls, "min_timeout", 0) or 0))
        timed = _timed(test.__func__ if inspect.ismethod(test) else test, limit, item.nodeid)
        owner = getattr(test, "__self__", None)
        item.obj = types.MethodType(timed, owner) if owner is not None else timed
        setattr(item, _TIMEOUT_ATTR, limit)


class _Backstop(BaseException):
    """Raised by the SIGALRM handler; turned into the test's failure below."""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Interrupt a kit test that outlives its timeout without ever yielding to its loop."""
    seconds: float | None = getattr(item, _TIMEOUT_ATTR, None)
    usable = (
        seconds
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None)
    )
    if not usable:
        return (yield)
    assert seconds is not None

    def interrupt(signum: int, frame: types.FrameType | None) -> None:
        raise _Backstop

    signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, backstop(seconds))
    try:
        return (yield)
    except _Backstop:
        pytest.fail(_message(item.nodeid, seconds) + " (it never gave its event loop a turn)")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
