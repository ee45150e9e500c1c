"""What an event class's stored document must satisfy so that it reads back, checked once per
class and cheaply per event.

Every stored document holds its stream version as a top-level integer key (``aggregate_version``
or the field's serialisation alias), so a backend can restamp the version in the text without
re-serialising it (:func:`version_span`). A class that customises how it is written or read
(aliases, serialisers, validators, computed fields, non-finite floats as strings) is not
trusted to read back: each of its documents is decoded again at append time and must
serialise to the same text.
"""

from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel

if TYPE_CHECKING:
    from .events import DomainEvent

__all__ = ["DocumentRules", "rules_for", "version_span"]

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_RULES: weakref.WeakKeyDictionary[type[BaseModel], DocumentRules] = weakref.WeakKeyDictionary()


@dataclass(frozen=True, slots=True)
class DocumentRules:
    """How documents of one event class are checked."""

    #: The top-level key the class writes its ``aggregate_version`` under.
    version_key: str
    #: The JSON text that precedes the version's digits: ``"<version_key>":``.
    version_marker: str
    #: Whether each document is decoded again at append time (the class customises its
    #: serialisation, so a document is not trusted to read back).
    round_trip: bool
    #: Whether the class keeps pydantic's own ``model_dump_json``, so its serializer can be
    #: called directly (one Python frame less per event).
    plain_dump: bool = True


def rules_for(cls: type[DomainEvent]) -> DocumentRules:
    """The (cached) document rules of event class ``cls``."""
    rules = _RULES.get(cls)
    if rules is None:
        rules = _RULES[cls] = _analyse(cls)
    return rules


def _analyse(cls: type[DomainEvent]) -> DocumentRules:
    from .events import DomainEvent

    key = "aggregate_version"
    config = cls.model_config
    field = cls.model_fields["aggregate_version"]
    if config.get("serialize_by_alias") and field.serialization_alias:
        key = field.serialization_alias
    customised = (
        _function_count(cls) > _function_count(DomainEvent)
        or bool(cls.model_computed_fields)
        or config.get("ser_json_inf_nan", "constants") != "constants"
        or any(
            f.alias or f.validation_alias or f.serialization_alias
            for f in cls.model_fields.values()
        )
        or bool(config.get("alias_generator"))
        or bool(config.get("serialize_by_alias"))
    )
    plain = cls.model_dump_json is BaseModel.model_dump_json
    return DocumentRules(key, f'"{key}":', customised, plain)


def _function_count(cls: type[BaseModel]) -> int:
    """How many function validators and serialisers the class's schema holds."""
    return repr(cls.__pydantic_core_schema__).count("'function-")


def version_span(
    payload: str, version: int, marker: str = '"aggregate_version":'
) -> tuple[int, int]:
    """Where the digits of the top-level version (``version``, written after ``marker``) are in
    the JSON text ``payload``: a 1-based character offset and a length, or ``(0, 0)`` when the
    document has no such integer.

    Every ``marker`` in the text is a key (a quote inside a JSON string is escaped); the
    top-level one is where exactly one container is open outside strings.
    """
    digits = str(version)
    at = payload.find(marker)
    while at >= 0:
        prefix = payload[1:at]
        if "{" in prefix or "[" in prefix:  # rare: count the containers open outside strings
            bare = _STRINGS.sub("", prefix)
            if bare.count("{") + bare.count("[") != bare.count("}") + bare.count("]"):
                at = payload.find(marker, at + 1)
                continue
        start = at + len(marker)
        end = start + len(digits)
        if payload.startswith(digits, start) and payload[end : end + 1] in (",", "}"):
            return start + 1, len(digits)
        return 0, 0
    return 0, 0
