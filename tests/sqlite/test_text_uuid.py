"""``text_uuid`` (the lazy reader's id parser) gives exactly what ``uuid.UUID(text)`` gives:
the same value, type and safety flag, or the same error, for any text."""

from __future__ import annotations

import copy
import pickle
from typing import Any
from uuid import UUID, uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from eventsource_sqlite._reading import text_uuid

_HEX = "0123456789abcdefABCDEF"
_ODD = st.sampled_from(["+", "_", " ", "{", "}", ":", "u", "r", "n", "-", "x", "é", "0"])
_CANONICAL = st.uuids().map(str)
_TEMPLATED = st.lists(st.sampled_from(_HEX) | _ODD, min_size=32, max_size=32).map(
    lambda c: (
        "".join(c[:8])
        + "-"
        + "".join(c[8:12])
        + "-"
        + "".join(c[12:16])
        + "-"
        + "".join(c[16:20])
        + "-"
        + "".join(c[20:])
    )
)
_TEXT = st.text(st.sampled_from(_HEX) | _ODD, min_size=30, max_size=40)
_MUTATED = st.tuples(_CANONICAL, st.integers(0, 35), _ODD).map(
    lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + 1 :]
)


def _outcome(parse: Any, text: str) -> tuple[Any, ...]:
    try:
        value = parse(text)
    except Exception as exc:
        return ("error", type(exc), str(exc))
    return ("ok", type(value), value.int, value.is_safe, str(value), hash(value))


@settings(max_examples=500, deadline=None)
@given(_CANONICAL | _TEMPLATED | _TEXT | _MUTATED | _CANONICAL.map(str.upper))
def test_text_uuid_is_uuid(text: str) -> None:
    assert _outcome(text_uuid, text) == _outcome(UUID, text)


def test_the_ids_the_store_writes() -> None:
    for _ in range(100):
        value = uuid4()
        parsed = text_uuid(str(value))
        assert parsed == value and type(parsed) is UUID and hash(parsed) == hash(value)
        assert pickle.loads(pickle.dumps(parsed)) == value  # both slots set, as UUID sets them
        assert copy.copy(parsed) == value and parsed.is_safe is value.is_safe
