"""Conformance on the portable value domain: what one backend stores, every backend stores and
reads back unchanged; what one refuses, every backend refuses with the same typed error.

The rules are checked in core (:mod:`eventsource.values`) before a backend sees the data; these
tests prove a backend neither refuses a portable value nor changes one on the way back.
"""

from __future__ import annotations

import json
import math
from typing import Any
from uuid import uuid4

import pytest

from .._exceptions import InvalidArgumentError, InvalidEventError, SerializationError
from ..events import DomainEvent
from ..stores._types import ReadOptions, stream_id_for
from ..values import MAX_IDENTIFIER_LENGTH, MAX_INT_DIGITS, MAX_NESTING_DEPTH, MAX_VERSION
from ._base import ConformanceBase, read_all_list, read_stream_list
from ._events import (
    AGGREGATE_TYPE,
    KitAliasedNotByName,
    KitCamelCase,
    KitLossySerialiser,
    KitMeasured,
    KitMeasuredKeepingNonFinite,
    KitVersionAsText,
    KitWithComputedField,
    noted,
)
from ._roles import RoleBackend

__all__ = ["ValueDomainConformance", "nested"]

#: Strings every backend must store and return unchanged.
PORTABLE_STRINGS = (
    "",
    "NUL \x00 inside",
    "\x00",
    "control \x01\x1f\x7f and \u2028\u2029 separators",
    'quotes " \\ backslash \\u0000 (an escape, as text)',
    "\u65e5\u672c\u8a9e \u0627\u0644\u0639\u0631\u0628\u064a\u0629",
    "\U0001f600\U0001f9d1\u200d\U0001f4bb emoji and a joiner",
    "e\u0301 combining, \ufeff BOM, \uffff noncharacter, \U0010ffff last code point",
    "x" * 100_000,
)
#: Numbers every backend must return with the same type, value and sign.
PORTABLE_NUMBERS = (
    0,
    -1,
    2**53 + 1,
    10**40,
    -(2**70),
    0.1,
    -0.0,
    1.5e300,
    -1.7976931348623157e308,
    5e-324,
    1e-7,
    123456789.123456789,
)


def nested(depth: int) -> Any:
    """A value whose containers nest ``depth`` deep (lists and dicts alternating)."""
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types (floats by bits: -0.0 is not 0.0, NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return math.copysign(1, a) == math.copysign(1, b) and (a == b or (a != a and b != b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def first_difference(sent: Any, back: Any, path: str = "") -> str | None:
    """Where ``back`` first differs from ``sent`` (see :func:`same`), or None."""
    if isinstance(sent, dict) and isinstance(back, dict) and sent.keys() == back.keys():
        for key in sent:
            found = first_difference(sent[key], back[key], f"{path}.{key}" if path else str(key))
            if found:
                return found
        return None
    if isinstance(sent, list) and isinstance(back, list) and len(sent) == len(back):
        for i, (x, y) in enumerate(zip(sent, back, strict=True)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    if same(sent, back):
        return None
    return f"at {path or 'the top level'}: sent {sent!r:.120}, read back {back!r:.120}"


class ValueDomainConformance(ConformanceBase):
    """Portable values round-trip exactly on every read path; the rest is refused, unchanged."""

    async def assert_reads_back(self, backend: RoleBackend, events: list[DomainEvent]) -> None:
        """Append ``events`` to a new stream and check every read path returns them exactly."""
        aid = events[0].aggregate_id
        store = backend.events
        await store.append_events(aid, AGGREGATE_TYPE, events, 0, outbox=True)
        stamped = [
            e.model_copy(
                update={"aggregate_type": e.aggregate_type or AGGREGATE_TYPE}
            ).with_position(n)
            for n, e in enumerate(events, start=1)
        ]
        loaded = (await store.get_events(aid, AGGREGATE_TYPE)).events
        streamed = [
            s.event for s in await read_stream_list(backend, stream_id_for(aid, AGGREGATE_TYPE))
        ]
        position = await store.get_global_position() - len(events)
        logged = [
            s.event for s in await read_all_list(backend, ReadOptions(from_position=position))
        ]
        for what, got in (("get_events", loaded), ("read_stream", streamed), ("read_all", logged)):
            assert len(got) == len(stamped), f"{what} returned {len(got)} of {len(stamped)}"
            for back, sent in zip(got, stamped, strict=True):
                difference = first_difference(sent.model_dump(), back.model_dump())
                assert difference is None, f"{what} changed a value: {difference}"
        entries = await backend.outbox.get_pending_events(limit=len(events) + 50)
        mine = {e.event_id: e for e in entries if e.aggregate_id == aid}
        for sent in stamped:
            data = mine[sent.event_id].event_data
            difference = first_difference(json.loads(sent.model_dump_json()), dict(data))
            assert difference is None, f"the outbox changed a value: {difference}"

    async def test_portable_strings_round_trip(self, backend: RoleBackend) -> None:
        """Strings with NUL, control characters, separators, escapes as text, every plane of
        unicode and 100,000 characters are stored and read back unchanged, in typed fields,
        untyped values and metadata, through every read path and the outbox.

        Fix: store the JSON text core produces as it is (no jsonb, no re-encoding) in a
        column that holds any unicode; bind strings as text, not as bytes in a codec.
        """
        aid = uuid4()
        events: list[DomainEvent] = [
            KitMeasured(aggregate_id=aid, label=text, values=[text], metadata={text[:50]: text})
            for text in PORTABLE_STRINGS
        ]
        await self.assert_reads_back(backend, events)

    async def test_portable_numbers_round_trip(self, backend: RoleBackend) -> None:
        """Large ints, -0.0, the largest and smallest floats and long decimals read back with
        the same type, value and sign, in typed fields and untyped values.

        Fix: keep the payload's text (a jsonb or numeric column renumbers 1.5e300 as an
        integer and drops the sign of -0.0).
        """
        aid = uuid4()
        events: list[DomainEvent] = [
            KitMeasured(
                aggregate_id=aid,
                reading=float(number),
                count=int(number) if isinstance(number, int) else 0,
                values={"n": number, "list": [number]},
                metadata={"n": number},
            )
            for number in PORTABLE_NUMBERS
        ]
        await self.assert_reads_back(backend, events)

    async def test_integer_digit_limit(self, backend: RoleBackend) -> None:
        """Integers of MAX_INT_DIGITS digits (either sign) read back exactly, in typed fields and
        untyped values; one digit more is refused with SerializationError by the event store
        and the outbox, nothing written (JSON readers cannot parse it back). Digits in a string
        are text, of any length.

        Fix: append through ``prepare_append`` and serialise outbox events with
        ``serialize_event``.
        """
        aid = uuid4()
        longest = 10**MAX_INT_DIGITS - 1
        events: list[DomainEvent] = [
            KitMeasured(
                aggregate_id=aid,
                count=number,
                values={"n": [number]},
                metadata={"n": number},
                label="9" * (MAX_INT_DIGITS * 2),
            )
            for number in (longest, -longest)
        ]
        await self.assert_reads_back(backend, events)
        too_long = 10**MAX_INT_DIGITS
        before = await backend.outbox.get_stats()
        for event in (
            KitMeasured(aggregate_id=aid, count=too_long),
            KitMeasured(aggregate_id=aid, count=-too_long),
            KitMeasured(aggregate_id=aid, values={"deep": [{"n": too_long}]}),
            KitMeasured(aggregate_id=aid, metadata={"n": -too_long}),
        ):
            await self._refuse(backend, SerializationError, aid, AGGREGATE_TYPE, [event], 2)
            with pytest.raises(SerializationError):
                await backend.outbox.add_event(event)
        assert await backend.outbox.get_stats() == before

    async def test_customised_classes(self, backend: RoleBackend) -> None:
        """A class written with camelCase keys (aliases, serialised by alias) and one with a
        computed field are stored and read back exactly, their versions restamped in place
        (-0.0, 1.5e300 and NUL unchanged). A class whose document would not read back (a
        lossy serialiser, an alias it cannot read by name, aggregate_version written as text)
        is refused with SerializationError, and an event built with model_construct holding
        a value of the wrong type with SerializationError or InvalidEventError; nothing is
        written.

        Fix: append through ``prepare_append``; restamp ``aggregate_version`` where
        ``version_span`` finds it, never by re-encoding the document on the server.
        """
        aid = uuid4()
        camel: list[DomainEvent] = [
            KitCamelCase(aggregate_id=aid, reading=-0.0, label="NUL \x00", values=[1.5e300]),
            KitCamelCase(aggregate_id=aid, reading=1.5e300, values={"aggregate_version": 7}),
            KitWithComputedField(aggregate_id=aid, reading=-0.0),
        ]
        await self.assert_reads_back(backend, camel)  # all stamped 1: restamped to 1, 2, 3
        aid = await self._seeded(backend)
        for refused in (
            KitLossySerialiser(aggregate_id=aid, reading=0.123),
            KitAliasedNotByName(aggregate_id=aid, r=1.0),
            KitVersionAsText(aggregate_id=aid),
            KitMeasured.model_construct(
                aggregate_id=aid,
                event_type="KitMeasured",
                reading="not a float",  # type: ignore[arg-type]
            ),
        ):
            await self._refuse(backend, SerializationError, aid, AGGREGATE_TYPE, [refused], 2)
        wrong: dict[str, Any]
        for wrong in ({"tenant_id": "tenant-1"}, {"correlation_id": 7}):
            event = KitMeasured.model_construct(aggregate_id=aid, event_type="KitMeasured", **wrong)
            await self._refuse(backend, InvalidEventError, aid, AGGREGATE_TYPE, [event], 2)

    async def test_untyped_values_read_back_as_json(self, backend: RoleBackend) -> None:
        """A value JSON has no type for (UUID, datetime, Decimal, tuple, set, bytes, an enum)
        put in an untyped field or metadata reads back as its JSON form, on every backend
        alike (memory included), and a caller mutating its event after the append changes
        nothing stored.

        Fix: return events decoded from the stored JSON text, never the caller's objects.
        """
        import datetime as dt
        import decimal
        import enum

        class Colour(enum.Enum):
            RED = "red"

        ref = uuid4()
        odd = {
            "uuid": ref,
            "when": dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
            "decimal": decimal.Decimal("1.10"),
            "tuple": (1, 2),
            "set": {3},
            "bytes": b"abc",
            "enum": Colour.RED,
        }
        aid = uuid4()
        event = KitMeasured(aggregate_id=aid, values=dict(odd), metadata=dict(odd))
        await backend.events.append_events(aid, AGGREGATE_TYPE, [event], 0)
        event.metadata["added later"] = True
        want = json.loads(event.model_dump_json())["values"]
        assert want["uuid"] == str(ref) and want["tuple"] == [1, 2]
        (back,) = (await backend.events.get_events(aid, AGGREGATE_TYPE)).events
        (streamed,) = await read_stream_list(backend, stream_id_for(aid, AGGREGATE_TYPE))
        for got in (back, streamed.event):
            assert isinstance(got, KitMeasured)
            assert first_difference(want, got.values) is None, first_difference(want, got.values)
            assert first_difference(want, got.metadata) is None, "metadata: " + str(
                first_difference(want, got.metadata)
            )

    async def test_non_finite_floats_are_refused(self, backend: RoleBackend) -> None:
        """NaN, Infinity and -Infinity (in a typed field, an untyped value or metadata) raise
        SerializationError naming the field, and nothing is written: JSON has no token for
        them and stored as null they would never read back.

        Fix: append through ``prepare_append`` (``serialize_event``), never around it.
        """
        aid = await self._seeded(backend)
        (good,) = noted(aid, 1, prefix="ok")
        for bad in (float("nan"), float("inf"), float("-inf")):
            for event in (
                KitMeasured(aggregate_id=aid, reading=bad),
                KitMeasured(aggregate_id=aid, values={"deep": [1, {"x": bad}]}),
                KitMeasured(aggregate_id=aid, metadata={"m": bad}),
            ):
                await self._refuse(
                    backend, SerializationError, aid, AGGREGATE_TYPE, [good, event], 2
                )
        with pytest.raises(SerializationError, match=r"values\.deep\[1\]\.x"):
            await backend.events.append_events(
                aid,
                AGGREGATE_TYPE,
                [KitMeasured(aggregate_id=aid, values={"deep": [1, {"x": math.nan}]})],
                2,
            )
        async with self.unchanged(backend, aid):
            with pytest.raises(SerializationError):
                await backend.outbox.add_event(KitMeasured(aggregate_id=aid, reading=math.inf))

    async def test_non_finite_floats_kept_by_opted_in_classes(self, backend: RoleBackend) -> None:
        """A class with ``ser_json_inf_nan="strings"`` stores non-finite values of its typed
        float fields and reads them back as the same floats; one in its untyped field (which
        would come back as a string) is still refused.

        Fix: store the payload text unchanged; decode with the registry's class.
        """
        aid = uuid4()
        values = (math.nan, math.inf, -math.inf)
        events: list[DomainEvent] = [
            KitMeasuredKeepingNonFinite(aggregate_id=aid, reading=v) for v in values
        ]
        await self.assert_reads_back(backend, events)
        untyped = KitMeasuredKeepingNonFinite(aggregate_id=aid, values=[math.nan])
        await self._refuse(backend, SerializationError, aid, AGGREGATE_TYPE, [untyped], 3)

    async def test_one_nesting_limit(self, backend: RoleBackend) -> None:
        """A payload nesting exactly MAX_NESTING_DEPTH deep (the document counts as one) reads
        back on every path; one level deeper is refused with SerializationError, nothing
        written. Readers decode anything the writer accepted.

        Fix: append through ``prepare_append``; decode with the registry (pydantic's parser
        reads 200 levels).
        """
        aid = uuid4()
        # document (1) > values (the nested value's own depth)
        deepest = KitMeasured(aggregate_id=aid, values=nested(MAX_NESTING_DEPTH - 1))
        in_metadata = KitMeasured(aggregate_id=aid, metadata={"m": nested(MAX_NESTING_DEPTH - 2)})
        await self.assert_reads_back(backend, [deepest, in_metadata])
        too_deep = KitMeasured(aggregate_id=aid, values=nested(MAX_NESTING_DEPTH))
        await self._refuse(backend, SerializationError, aid, AGGREGATE_TYPE, [too_deep], 2)
        for depth in (MAX_NESTING_DEPTH + 50, 300, 1000):
            event = KitMeasured(aggregate_id=aid, metadata={"m": nested(depth)})
            await self._refuse(backend, SerializationError, aid, AGGREGATE_TYPE, [event], 2)

    async def test_lone_surrogates_are_refused(self, backend: RoleBackend) -> None:
        """A lone surrogate (not unicode text, no UTF-8 form) in a payload string raises
        SerializationError, and in an aggregate type InvalidEventError; nothing is written.

        Fix: append through ``prepare_append``.
        """
        aid = await self._seeded(backend)
        for text in ("bad\ud800half", "\udfff", "pair reversed \udc00\ud800"):
            for event in (
                KitMeasured(aggregate_id=aid, label=text),
                KitMeasured(aggregate_id=aid, metadata={text: 1}),
            ):
                await self._refuse(backend, SerializationError, aid, AGGREGATE_TYPE, [event], 2)
            bad_type = f"Kit{text}"
            event = KitMeasured(aggregate_id=aid, aggregate_type=bad_type)
            await self._refuse(backend, InvalidEventError, aid, bad_type, [event], 0)

    async def test_identifier_limits(self, backend: RoleBackend) -> None:
        """Aggregate types of MAX_IDENTIFIER_LENGTH characters (also 4-byte ones) are stored
        and read back; longer ones, or ones with NUL, raise InvalidEventError and write
        nothing. Versions beyond 32 bits are refused.

        Fix: append through ``prepare_append``; index identifiers in a column that takes
        MAX_IDENTIFIER_LENGTH 4-byte characters.
        """
        for longest in ("T" * MAX_IDENTIFIER_LENGTH, "\U0001f600" * MAX_IDENTIFIER_LENGTH):
            aid = uuid4()
            event = KitMeasured(aggregate_id=aid, aggregate_type=longest, label="long type")
            await backend.events.append_events(aid, longest, [event], 0)
            (back,) = (await backend.events.get_events(aid, longest)).events
            assert back == event
            assert await backend.events.get_stream_version(aid, longest) == 1
        aid = await self._seeded(backend)
        for bad in ("T" * (MAX_IDENTIFIER_LENGTH + 1), "NUL\x00type", "x" * 1_000_000):
            event = KitMeasured(aggregate_id=aid, aggregate_type=bad)
            await self._refuse(backend, InvalidEventError, aid, bad, [event], 0)
        for bad_version in (MAX_VERSION + 1, 2**63):
            await self._refuse(
                backend, InvalidEventError, aid, AGGREGATE_TYPE, noted(aid, 1), bad_version
            )

    async def test_repository_values(self, backend: RoleBackend) -> None:
        """Projection names follow the identifier rules on checkpoints and the DLQ
        (InvalidArgumentError, nothing stored); DLQ event data is portable JSON
        (SerializationError for NaN, lone surrogates, too deep nesting; NUL and unicode read
        back); an error message holding NUL or a lone surrogate still parks, made readable,
        and so do a DLQ resolution and an outbox error.

        Fix: call ``check_projection_name``, ``prepare_failed_event`` and ``storable_note``
        before any I/O.
        """
        (stored,) = noted(uuid4(), 1)
        await backend.events.append_events(stored.aggregate_id, AGGREGATE_TYPE, [stored], 0)
        checkpoints, dlq = backend.checkpoints, backend.dlq
        for bad in ("", "p\x00", "p\ud800", "p" * (MAX_IDENTIFIER_LENGTH + 1), None, 7):
            with pytest.raises(InvalidArgumentError):
                await checkpoints.update_checkpoint(bad, stored.event_id, stored.event_type)  # type: ignore[arg-type]
            with pytest.raises(InvalidArgumentError):
                await checkpoints.get_checkpoint(bad)  # type: ignore[arg-type]
            with pytest.raises(InvalidArgumentError):
                await dlq.add_failed_event(uuid4(), bad, "KitItemNoted", {}, "boom")  # type: ignore[arg-type]
        assert await checkpoints.get_all_checkpoints() == []
        name = "\U0001f600" * MAX_IDENTIFIER_LENGTH
        await checkpoints.update_checkpoint(name, stored.event_id, stored.event_type)
        assert [c.projection_name for c in await checkpoints.get_all_checkpoints()] == [name]
        for bad_data in (
            {"x": math.nan},
            {"x": [math.inf]},
            {"bad\ud800": 1},
            {"x": "bad\udfff"},
            {"x": nested(MAX_NESTING_DEPTH)},
        ):
            with pytest.raises(SerializationError):
                await dlq.add_failed_event(uuid4(), "proj", "KitItemNoted", bad_data, "boom")
        assert await dlq.get_failed_events(limit=10) == []
        data = {"s": PORTABLE_STRINGS[1], "u": PORTABLE_STRINGS[5], "n": -0.0, "big": 10**40}
        error = ValueError("message with NUL \x00 and a lone \ud800 surrogate")
        dlq_id = await dlq.add_failed_event(uuid4(), name, "KitItemNoted", data, error)
        entry = await dlq.get_failed_event_by_id(dlq_id)
        assert entry is not None
        assert same(dict(entry.event_data), data)
        assert entry.projection_name == name
        assert "\x00" not in entry.error_message and "NUL \\x00" in entry.error_message
        assert "\\ud800" in entry.error_message
        await dlq.mark_resolved(dlq_id, "fixed \x00 by \udfff hand")
        resolved = await dlq.get_failed_event_by_id(dlq_id)
        assert resolved is not None and resolved.resolution == "fixed \\x00 by \\udfff hand"
        await backend.outbox.add_event(stored)
        (claimed,) = await backend.outbox.get_pending_events(limit=1)
        await backend.outbox.mark_failed(claimed.id, "broker said \x00\ud800")
        failed = await backend.outbox.get_entry(claimed.id)
        assert failed.last_error == "broker said \\x00\\ud800"
