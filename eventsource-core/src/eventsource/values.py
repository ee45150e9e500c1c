"""The portable value domain: what every backend stores and reads back unchanged.

An event (or outbox / DLQ payload) is acknowledged only if it will decode again to the same
value on every backend. The rules, checked in core before any backend sees the data, so a
backend cannot accept what another refuses:

- **JSON documents** (event payloads, DLQ ``event_data``) nest at most
  :data:`MAX_NESTING_DEPTH` containers deep, the document itself counting as one. The readers
  decode anything up to pydantic's parser limit (200), so every acknowledged document reads back.
- **Non-finite floats** (``nan``, ``inf``, ``-inf``) are refused with
  :class:`SerializationError` naming the field: JSON has no token for them, and storing them as
  ``null`` (pydantic's default) loses them for good. An event class may opt in to keeping them
  in its ``float`` fields with ``model_config = ConfigDict(ser_json_inf_nan="strings")``: they
  are then stored as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``, which every backend
  carries and pydantic reads back into a ``float`` field. Such classes pay a full round-trip
  check at append time, which refuses a non-finite value in an untyped field (``Any``, ``dict``),
  where it would read back as a string.
- **Integers** have at most :data:`MAX_INT_DIGITS` digits: Python's and pydantic's JSON
  parsers refuse longer ones, so a longer integer would be stored and never read back.
- **Strings** in documents may hold any unicode character, NUL included; a lone surrogate
  (``"\\ud800"``) is not unicode text, cannot be encoded as UTF-8, and is refused.
- **Identifiers** (aggregate and event types, projection names) are non-empty strings of at most
  :data:`MAX_IDENTIFIER_LENGTH` characters with no NUL and no lone surrogate: they are indexed
  columns, and PostgreSQL's text type refuses NUL.
- **Versions** fit a 32-bit signed integer (:data:`MAX_VERSION`); global positions and entry
  ids a 64-bit one (:data:`MAX_POSITION`).
- **Diagnostic text** (DLQ error messages and stack traces) is never refused, so that a failure
  can always be parked: :func:`clean_text` escapes NUL and lone surrogates in it (and the DLQ
  falls back and caps lengths, :mod:`eventsource.repositories._error_text`).

Untyped fields hold JSON values: a ``UUID`` or ``datetime`` put into ``metadata`` is stored as
its JSON string and reads back as that string, on every backend alike.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from itertools import accumulate
from typing import Any

from ._exceptions import InvalidArgumentError, SerializationError

__all__ = [
    "MAX_IDENTIFIER_LENGTH",
    "MAX_INT_DIGITS",
    "MAX_NESTING_DEPTH",
    "MAX_POSITION",
    "MAX_VERSION",
    "check_identifier",
    "check_json_text",
    "check_no_surrogate_keys",
    "check_version",
    "clean_text",
    "encode_json",
    "nesting_depth",
]

#: The deepest nesting of containers a stored JSON document may have (the document is 1).
MAX_NESTING_DEPTH = 100
#: The longest identifier (aggregate type, event type, projection name), in characters.
MAX_IDENTIFIER_LENGTH = 255
#: The most digits an integer in a stored document may have (Python's and pydantic's parse
#: limit, ``sys.int_info.default_max_str_digits``).
MAX_INT_DIGITS = 4300
#: The largest event version or stream position a backend must store (32-bit signed).
MAX_VERSION = 2**31 - 1
#: The largest global position or entry id a backend must store (64-bit signed).
MAX_POSITION = 2**63 - 1

_STRING = r'"(?:[^"\\]|\\.)*"'
_STRINGS = re.compile(_STRING, re.DOTALL)
_NON_FINITE_TOKEN = re.compile(_STRING + r"|(NaN|-?Infinity)", re.DOTALL)
_LONG_DIGITS = re.compile(rf"\d{{{MAX_INT_DIGITS + 1}}}")
# an integer token (not a float's digits) longer than the limit, outside strings
_LONG_INT_TOKEN = re.compile(
    _STRING + rf"|(?<![\d.eE+\-])(-?\d{{{MAX_INT_DIGITS + 1},}})(?![.eE\d])", re.DOTALL
)
_SURROGATE = re.compile("[\ud800-\udfff]")
_BRACKET = re.compile(r"[\[\]{}]")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_VALID_IDENTIFIERS: set[str] = set()


def nesting_depth(text: str) -> int:
    """How deeply the containers of the JSON document ``text`` nest (a scalar is 0)."""
    brackets = _BRACKET.findall(_STRINGS.sub("", text)) if '"' in text else _BRACKET.findall(text)
    return max(accumulate(_STEP[b] for b in brackets), default=0)


def check_json_text(text: str, what: str | Callable[[], str], *, check_depth: bool = True) -> None:
    """Refuse the JSON document ``text`` (encoded with non-finite floats as ``NaN`` /
    ``Infinity`` tokens) unless it is in the portable domain: no non-finite number, no integer
    of over :data:`MAX_INT_DIGITS` digits and (unless ``check_depth`` is false) at most
    :data:`MAX_NESTING_DEPTH` deep. ``what`` names the document in the error (a callable is
    called only then)."""
    # single-character searches first: far cheaper than the two substrings, and mostly false
    maybe = ("N" in text and "NaN" in text) or ("I" in text and "Infinity" in text)
    if maybe and any(match.group(1) for match in _NON_FINITE_TOKEN.finditer(text)):
        what = what() if callable(what) else what
        raise SerializationError(
            f"{what} holds a non-finite float at {_non_finite_path(text)}: NaN and "
            "Infinity have no JSON form and would not read back; store None or a finite "
            "number, or opt the event class in with ser_json_inf_nan='strings' "
            "(see eventsource.values)"
        )
    if len(text) > MAX_INT_DIGITS and _LONG_DIGITS.search(text):
        for match in _LONG_INT_TOKEN.finditer(text):
            if match.group(1):
                what = what() if callable(what) else what
                raise SerializationError(
                    f"{what} holds an integer of {len(match.group(1).lstrip('-'))} digits, "
                    f"over the limit of {MAX_INT_DIGITS}: JSON readers cannot parse it back; "
                    "store it as a string"
                )
    # Fewer brackets than the limit cannot nest deeper than it: the exact count is rarely run.
    if check_depth and text.count("{") + text.count("[") > MAX_NESTING_DEPTH:
        depth = nesting_depth(text)
        if depth > MAX_NESTING_DEPTH:
            what = what() if callable(what) else what
            raise SerializationError(
                f"{what} nests {depth} levels deep, over the limit of {MAX_NESTING_DEPTH}"
            )


def encode_json(data: Mapping[str, Any], what: str) -> str:
    """``data`` (a DLQ entry's ``event_data``, say) as JSON text in the portable domain.

    Values JSON has no type for are stored as their ``str()`` (a ``UUID`` becomes its string);
    non-finite floats, lone surrogates, too deep nesting and a value whose ``str()`` fails
    raise :class:`SerializationError`.
    """
    if not isinstance(data, Mapping):
        raise InvalidArgumentError(f"{what} must be a dict, got {type(data).__name__}")
    try:
        text = json.dumps(data, default=_str_of, ensure_ascii=False, allow_nan=False)
    except ValueError as exc:  # NaN / Infinity, a circular reference, a too long integer
        found = _non_finite_path_in(data)
        where = f" at {found}" if found else ""
        raise SerializationError(f"{what} cannot be stored{where}: {exc}") from None
    except RecursionError:
        raise SerializationError(
            f"{what} nests deeper than the limit of {MAX_NESTING_DEPTH}"
        ) from None
    except TypeError as exc:  # a key that is not a string or number, a value without str()
        raise SerializationError(f"{what} cannot be stored: {exc}") from None
    if _SURROGATE.search(text):
        raise SerializationError(
            f"{what} holds a lone surrogate (such as '\\ud800'): it is not unicode text and "
            "cannot be stored as UTF-8"
        )
    check_json_text(text, what)
    return text


def _str_of(value: Any) -> str:
    """JSON's fallback for a value it has no type for: its ``str()``, or a TypeError."""
    try:
        return str(value)
    except Exception as exc:
        raise TypeError(
            f"a {type(value).__name__} whose str() fails ({type(exc).__name__})"
        ) from None


def check_no_surrogate_keys(data: Any, what: str) -> None:
    """Refuse ``data`` if a dict key in it holds a lone surrogate (pydantic would write it as
    U+FFFD, silently changing the key)."""
    found = _path_of(
        data,
        lambda v: (
            isinstance(v, Mapping) and any(isinstance(k, str) and _SURROGATE.search(k) for k in v)
        ),
    )
    if found is not None:
        raise SerializationError(
            f"{what} has a key holding a lone surrogate at {found}: it is not unicode text "
            "and cannot be stored as UTF-8"
        )


def check_identifier(
    value: object, what: str, error: type[InvalidArgumentError] = InvalidArgumentError
) -> str:
    """``value`` if it is a valid identifier (see the module docstring), else ``error``."""
    if not isinstance(value, str) or not value:
        raise error(f"{what} must be a non-empty string, got {value!r:.80}")
    if value in _VALID_IDENTIFIERS:
        return value
    if len(value) <= MAX_IDENTIFIER_LENGTH and value.isascii() and "\x00" not in value:
        if len(_VALID_IDENTIFIERS) < 4096:  # event and aggregate types repeat: remember them
            _VALID_IDENTIFIERS.add(value)
        return value  # the common case, with no surrogate possible
    if len(value) > MAX_IDENTIFIER_LENGTH:
        raise error(
            f"{what} is {len(value)} characters long, over the limit of {MAX_IDENTIFIER_LENGTH}"
        )
    if "\x00" in value:
        raise error(f"{what} {value!r:.80} holds a NUL character")
    if _SURROGATE.search(value):
        raise error(f"{what} {value!r:.80} holds a lone surrogate: it is not unicode text")
    return value


def check_version(
    value: object, what: str, error: type[InvalidArgumentError] = InvalidArgumentError
) -> int:
    """``value`` if it is an int from 1 to :data:`MAX_VERSION`, else ``error``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_VERSION:
        raise error(f"{what} must be an int from 1 to {MAX_VERSION}, got {value!r:.80}")
    return value


def clean_text(text: str) -> str:
    """Diagnostic ``text`` made storable everywhere: NUL becomes ``\\x00`` and a lone
    surrogate ``\\udXXX``; anything else is kept."""
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    if _SURROGATE.search(text):
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


# -- finding a non-finite value, for the error message only -------------------------------------


class _NonFinite:
    def __init__(self, token: str) -> None:
        self.token = token


def _non_finite_path(text: str) -> str:
    try:
        data = json.loads(text, parse_constant=_NonFinite)
    except (ValueError, RecursionError):
        return "an unknown field"
    return _path_of(data, lambda v: isinstance(v, _NonFinite)) or "an unknown field"


def _non_finite_path_in(data: Any) -> str | None:
    return _path_of(data, lambda v: isinstance(v, float) and not math.isfinite(v))


def _path_of(data: Any, bad: Any, path: str = "") -> str | None:
    """The dotted path of the first value in ``data`` for which ``bad`` is true."""
    stack: list[tuple[Any, str]] = [(data, path)]
    seen: set[int] = set()  # a container holding itself is walked once
    while stack:
        value, where = stack.pop()
        if bad(value):
            return where or "the top level"
        if isinstance(value, Mapping | list | tuple):
            if id(value) in seen:
                continue
            seen.add(id(value))
        if isinstance(value, Mapping):
            stack.extend(
                (v, f"{where}.{k}" if where else str(k)) for k, v in reversed(list(value.items()))
            )
        elif isinstance(value, list | tuple):
            stack.extend((v, f"{where}[{i}]") for i, v in reversed(list(enumerate(value))))
    return None
