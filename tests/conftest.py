"""Shared test configuration: the pytester plugin (the conformance kit tests run pytest inside
pytest; a plugin can only be enabled from this top-level conftest), and a garbage collection
after every test, so that an unclosed connection, socket or file is reported by the test that
leaked it (``filterwarnings=error`` turns its ResourceWarning into that test's error) rather
than by whichever test happens to be running when the collector next passes."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator

import pytest

pytest_plugins = ["pytester"]

# Hypothesis loads third-party plugins through entry points when it is first imported; trio's
# (installed with selenium, for the console's browser tests) registers a PRNG in a way that
# Hypothesis warns about, and the kit's inner pytest runs turn that warning into errors.
os.environ.setdefault("HYPOTHESIS_NO_PLUGINS", "1")


def pytest_collection_finish() -> None:
    """Keep what collection built (modules, test items: alive all session, holding no
    connections) out of every later collection: a full collection after each test then costs
    a few milliseconds instead of ~50."""
    gc.collect()
    gc.freeze()


def pytest_sessionfinish() -> None:
    gc.unfreeze()


@pytest.fixture(autouse=True)
def _collect_garbage() -> Iterator[None]:
    """After the test and its fixtures, collect what they left unreachable."""
    yield
    gc.collect()
