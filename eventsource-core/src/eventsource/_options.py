"""Backend options with a type, a range and a default: one table per backend, one checker.

Every option a backend reads from its URL's query string (``?busy_timeout=2000``) or takes as a
constructor keyword is an :class:`OptionSpec`. The same spec checks both ways in: a bad URL
value is an :class:`InvalidBackendURLError` naming the option, a bad keyword a
:class:`ConfigurationError` naming it. Floats must be finite; ints and floats must lie in the
spec's range; bools are never numbers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._exceptions import ConfigurationError, InvalidArgumentError, InvalidBackendURLError
from .events import DEFAULT_MAX_EVENT_BYTES

if TYPE_CHECKING:
    from .plugins._url import BackendURL

__all__ = ["MAX_EVENT_BYTES", "OptionSpec", "check_keywords", "read_options"]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_TYPES = (bool, int, float, str)


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One option: ``name``, ``type`` (bool, int, float or str), ``default`` and its range.

    ``minimum`` / ``maximum`` bound numbers (inclusive; ``exclusive_minimum`` makes the
    minimum strict, as in "> 0"); ``choices`` lists the allowed strings (matched without
    regard to case, returned as listed); ``nullable`` lets a keyword be None (the URL then
    simply leaves the option out). ``unit`` and ``help`` are for documentation.
    """

    name: str
    type: type
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    choices: tuple[str, ...] = ()
    nullable: bool = False
    unit: str = ""
    help: str = ""

    def __post_init__(self) -> None:
        if self.type not in _TYPES:
            raise InvalidArgumentError(f"option {self.name}: type must be bool, int, float or str")

    # -- checking ------------------------------------------------------------------------------

    def problem(self, value: object) -> str | None:
        """Why ``value`` (a Python value) is not acceptable, or None when it is."""
        if value is None:
            return None if self.nullable else f"must be {self.kind()}, not None"
        kind = self.type
        if kind is bool:
            return None if isinstance(value, bool) else f"must be a bool, not {_name(value)}"
        if kind is str:
            if not isinstance(value, str):
                return f"must be a string, not {_name(value)}"
            if self.choices and value.upper() not in {c.upper() for c in self.choices}:
                return f"must be one of {', '.join(self.choices)}"
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be {self.kind()}, not {_name(value)}"
        if kind is int and not isinstance(value, int):
            return f"must be an int, not {_name(value)}"
        if not math.isfinite(value):
            return "must be a finite number"
        return self._range_problem(value)

    def _range_problem(self, value: float) -> str | None:
        low, high = self.minimum, self.maximum
        if low is not None and (value <= low if self.exclusive_minimum else value < low):
            return f"must be {'>' if self.exclusive_minimum else '>='} {_num(low)}"
        if high is not None and value > high:
            return f"must be <= {_num(high)}"
        return None

    def normalise(self, value: Any) -> Any:
        """An acceptable ``value`` in its canonical form (float for floats, the listed
        spelling of a choice)."""
        if value is None:
            return None
        if self.type is float:
            return float(value)
        if self.choices:
            return next(c for c in self.choices if c.upper() == str(value).upper())
        return value

    def check(self, value: object) -> Any:
        """``value`` of a constructor keyword, checked; :class:`ConfigurationError` naming the
        option otherwise."""
        reason = self.problem(value)
        if reason is not None:
            raise ConfigurationError(f"{self.name} {reason}, got {value!r}")
        return self.normalise(value)

    def parse(self, raw: str) -> Any:
        """The query-string text ``raw`` as a checked value; :class:`InvalidArgumentError` (a
        ValueError) with the reason."""
        value: Any
        if self.type is bool:
            lowered = raw.strip().lower()
            if lowered not in _TRUE | _FALSE:
                raise InvalidArgumentError("must be true/false, 1/0, yes/no or on/off")
            value = lowered in _TRUE
        elif self.type is str:
            value = raw
        else:
            try:
                value = self.type(raw)
            except ValueError:
                raise InvalidArgumentError(f"is not a valid {self.type.__name__}") from None
        reason = self.problem(value)
        if reason is not None:
            raise InvalidArgumentError(reason)
        return self.normalise(value)

    def from_url(self, url: BackendURL) -> Any:
        """The option's value in ``url`` (the default when absent);
        :class:`InvalidBackendURLError` naming the option for a bad one."""
        raw = url.options.get(self.name)
        if raw is None:
            return self.default
        try:
            return self.parse(raw)
        except InvalidArgumentError as exc:
            raise InvalidBackendURLError(f"option {self.name}={raw!r} in {url}: {exc}") from None

    # -- documentation -------------------------------------------------------------------------

    def kind(self) -> str:
        """The type in words: "a bool", "an int", "a number", "a string"."""
        return {bool: "a bool", int: "an int", float: "a number", str: "a string"}[self.type]

    def describe(self) -> str:
        """Type and range in one line, e.g. ``float > 0 and <= 3600 (seconds)``."""
        text = self.type.__name__
        bounds = []
        if self.minimum is not None:
            bounds.append(f"{'>' if self.exclusive_minimum else '>='} {_num(self.minimum)}")
        if self.maximum is not None:
            bounds.append(f"<= {_num(self.maximum)}")
        if bounds:
            text += " " + " and ".join(bounds)
        if self.choices:
            text += ": " + " / ".join(self.choices)
        return text + (f" ({self.unit})" if self.unit else "")


def read_options(url: BackendURL, specs: Iterable[OptionSpec]) -> dict[str, Any]:
    """Every spec's value from ``url`` (defaults for absent ones), after refusing options no
    spec names; :class:`InvalidBackendURLError` naming the option otherwise."""
    table = {spec.name: spec for spec in specs}
    url.check_options(frozenset(table))
    return {name: spec.from_url(url) for name, spec in table.items()}


def check_keywords(values: Mapping[str, Any], specs: Iterable[OptionSpec]) -> dict[str, Any]:
    """Constructor keywords ``values`` checked against the specs of the same names;
    :class:`ConfigurationError` naming the first bad one."""
    table = {spec.name: spec for spec in specs}
    return {name: table[name].check(value) for name, value in values.items()}


def _name(value: object) -> str:
    return type(value).__name__


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


#: ``max_event_bytes``: the largest JSON document an event may serialise to. Backends with a
#: lower ceiling use a copy with a lower ``maximum``.
MAX_EVENT_BYTES = OptionSpec(
    "max_event_bytes",
    int,
    DEFAULT_MAX_EVENT_BYTES,
    minimum=1,
    maximum=2**30,
    unit="bytes",
    help="largest JSON document an event may serialise to; larger ones are refused",
)
