"""Property: on every backend, an acknowledged event decodes equal; a refused one wrote nothing;
and what is refused is exactly what falls outside the portable value domain.

Hypothesis generates payloads (floats including NaN, ±Infinity and -0.0, ints far beyond 64
bits, arbitrary unicode including NUL and lone surrogates, nested lists and dicts up to 250
deep) and appends each as an event on memory, a SQLite file, SQLite ``:memory:`` and
PostgreSQL, one backend per test, with one connection kept across the examples.
"""

from __future__ import annotations

import asyncio
import math
import os
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from eventsource import (
    Backend,
    EventSourceError,
    InvalidEventError,
    ReadOptions,
    SerializationError,
    open_backend,
)
from eventsource.spi import get_registry
from eventsource.testing._events import AGGREGATE_TYPE, KitMeasured
from eventsource.testing._values import first_difference
from eventsource.values import MAX_INT_DIGITS, MAX_NESTING_DEPTH

PG_URL = (
    os.environ.get("EVENTSOURCE_TEST_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/test"
)
EXAMPLES = int(os.environ.get("EVENTSOURCE_PROPERTY_EXAMPLES", "150"))

_SPECIAL = st.sampled_from(
    ["\x00", "\ud800", "\udfff", "\ufffd", "\u2028", "\U0001f600", '"', "\\"]
)
_TEXT = st.text(st.characters() | _SPECIAL, max_size=12)
_FLOATS = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [-0.0, 5e-324, 1.5e300, -1.7976931348623157e308, math.nan, math.inf]
)
# ints of up to MAX_INT_DIGITS digits, and longer (drawn by digit count: a huge int has no repr)
_LONG_INTS = st.tuples(
    st.sampled_from([MAX_INT_DIGITS, MAX_INT_DIGITS + 1, 5000]), st.sampled_from([1, -1])
).map(lambda t: t[1] * (10 ** t[0] - 1))
_INTS = st.integers(min_value=-(2**200), max_value=2**200) | _LONG_INTS
_SCALARS = st.none() | st.booleans() | _INTS | _FLOATS | _TEXT
_TREES = st.recursive(
    _SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_TEXT, children, max_size=4),
    max_leaves=24,
)


@st.composite
def _deep(draw: st.DrawFn) -> Any:
    value: Any = draw(_SCALARS)
    for level in range(draw(st.integers(min_value=MAX_NESTING_DEPTH - 5, max_value=250))):
        value = [value] if level % 2 else {"k": value}
    return value


PAYLOADS = _TREES | _deep()


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _has(value: Any, bad: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if bad(item):
            return True
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def portable(label: str, reading: float, values: Any) -> bool:
    """The oracle, written from the rules in eventsource.values, independently of it."""
    non_finite = (isinstance(v, float) and not math.isfinite(v) for v in (reading,))
    if any(non_finite) or _has(values, lambda v: isinstance(v, float) and not math.isfinite(v)):
        return False

    def lone_surrogate(v: Any) -> bool:
        return isinstance(v, str) and any(0xD800 <= ord(c) <= 0xDFFF for c in v)

    if lone_surrogate(label) or _has(values, lone_surrogate):
        return False
    if _has(values, lambda v: type(v) is int and abs(v) >= 10**MAX_INT_DIGITS):
        return False  # more digits than a JSON reader parses
    return 1 + _depth(values) <= MAX_NESTING_DEPTH  # the event document is the first level


def _backend_urls() -> list[str]:
    return ["memory", "sqlite-file", "sqlite-memory", "postgresql"]


@pytest.fixture
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    kind = request.param
    if kind == "memory":
        yield f"memory://prop-{uuid.uuid4().hex}"
    elif kind == "sqlite-file":
        yield f"sqlite:///{tmp_path}/prop.db"
    elif kind == "sqlite-memory":
        yield "sqlite:///:memory:"
    else:
        if "postgresql" not in get_registry().backend_names():
            pytest.skip("the postgresql backend is not installed")
        schema = f"es_test_prop_{uuid.uuid4().hex[:10]}"
        try:
            asyncio.run(_pg_execute("SELECT 1"))
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(f"PostgreSQL unreachable at {PG_URL}: {exc}")
            pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {exc}")
        yield f"{PG_URL}?schema={schema}&pool_max=2"
        asyncio.run(_pg_execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


async def _pg_execute(sql: str) -> None:
    conn = await asyncio.wait_for(asyncpg.connect(PG_URL), 5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _one_example(
    backend: Backend, outcomes: Counter[str], label: str, reading: float, values: Any
) -> None:
    store = backend.events
    aid = uuid.uuid4()
    before = await store.get_global_position()
    try:
        built = KitMeasured(aggregate_id=aid, label=label, reading=reading, values=values)
    except ValueError:  # pydantic refused to build it: nothing reached the store
        outcomes["not constructible"] += 1
        event("not constructible")
        return
    expected = portable(label, reading, values)
    try:
        await store.append_events(aid, AGGREGATE_TYPE, [built], 0)
    except (SerializationError, InvalidEventError) as exc:
        outcomes["refused"] += 1
        event("refused")
        assert not expected, f"a portable event was refused: {exc}"
        assert await store.get_global_position() == before, "a refused append moved the log"
        assert not await store.event_exists(built.event_id), "a refused event was stored"
        return
    except EventSourceError as exc:  # any other typed error is a finding
        raise AssertionError(f"untyped refusal {type(exc).__name__}: {exc}") from exc
    outcomes["acknowledged"] += 1
    event("acknowledged")
    assert expected, f"an event outside the portable domain was acknowledged: {values!r:.200}"
    sent = built.model_copy(update={"aggregate_type": AGGREGATE_TYPE}).model_dump()
    (loaded,) = (await store.get_events(aid, AGGREGATE_TYPE)).events
    assert first_difference(sent, loaded.model_dump()) is None, first_difference(
        sent, loaded.model_dump()
    )
    async for stored in store.read_all(ReadOptions(from_position=before)):
        if stored.event_id == built.event_id:
            difference = first_difference(sent, stored.event.model_dump())
            assert difference is None, f"read_all: {difference}"
            break
    else:
        raise AssertionError("read_all did not yield the acknowledged event")


@pytest.mark.parametrize("backend_url", _backend_urls(), indirect=True)
def test_acknowledged_implies_decodes_equal_and_refused_wrote_nothing(backend_url: str) -> None:
    outcomes: Counter[str] = Counter()
    with asyncio.Runner() as runner:
        backend = runner.run(open_backend(backend_url).open())
        try:

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
            @given(label=_TEXT, reading=_FLOATS, values=PAYLOADS)
            def check(label: str, reading: float, values: Any) -> None:
                runner.run(_one_example(backend, outcomes, label, reading, values))

            check()
        finally:
            runner.run(backend.close())
    # the run explored both sides of the property
    assert outcomes["acknowledged"] >= EXAMPLES // 10, outcomes
    assert outcomes["refused"] >= EXAMPLES // 10, outcomes
