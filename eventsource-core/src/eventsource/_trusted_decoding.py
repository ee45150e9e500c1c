"""A faster decoder for stored event documents that gives exactly what full validation gives.

:meth:`DomainEvent.model_validate_json` runs the class's ``_fill_defaults`` before-validator,
which turns the parsed JSON into Python objects and validates them in Python mode, plus a
Python call per event. A document the store wrote always has its ``event_type`` set, so that
validator changes nothing for it; without it pydantic validates straight from the JSON (about
half the cost). Python mode and JSON mode agree for most schemas but not all (a ``Decimal``
read from a JSON number, ``bytes`` under ``val_json_bytes``, unions, strict fields...), so the
fast validator exists only for classes whose every field is of a kind known to validate alike
in both modes (:class:`_Checker`); anything else keeps full validation. A document the fast
validator refuses, or that lacks its ``event_type``, is decoded by full validation again, so
errors are exactly today's too. tests/core/test_trusted_decoding.py compares both paths over
generated event classes and documents.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from pydantic import BaseModel
from pydantic_core import SchemaValidator

if TYPE_CHECKING:
    from .events import DomainEvent

__all__ = ["trusted_validator"]

#: A fast validator (the event, or an exception when full validation must decide; its result
#: stands only when its ``event_type`` is set) and whether ``DomainEvent._utc`` must still be
#: run on its result (see :func:`trusted_validator`).
TrustedDecode = tuple[Callable[[str | bytes], "DomainEvent"], bool]

#: Leaf schema types that validate alike from JSON and from the Python objects JSON parses to.
_LEAVES = frozenset({"str", "int", "bool", "float", "uuid", "datetime", "date", "none", "any"})
#: Wrappers whose inner schema must be checked too.
_WRAPPERS = frozenset({"nullable", "default", "list", "set", "frozenset", "function-after"})
#: Validators that hand their inner schema Python objects in either mode (as full validation
#: does everywhere): what they wrap needs no check.
_PYTHON_MODE = frozenset({"function-before", "function-wrap", "function-plain"})

_cache: dict[type[Any], tuple[object, TrustedDecode | None]] = {}
_VALIDATE_JSON = getattr(BaseModel.model_validate_json, "__func__", None)


def trusted_validator(cls: type[DomainEvent]) -> TrustedDecode | None:
    """The fast validator of ``cls``, or None when ``cls`` needs full validation always.

    Its result, once ``DomainEvent._utc`` has run on it when the flag says so, is what full
    validation gives when it returns an event whose ``event_type`` is set (non-empty, and in
    the fields set): otherwise, or when it (or ``_utc``) raises, full validation must decode the
    document again (and raises today's error).
    """
    schema = cls.__dict__.get("__pydantic_core_schema__")
    cached = _cache.get(cls)
    if cached is not None and cached[0] is schema:
        return cached[1]
    decode = _build(cls, schema) if cls.__dict__.get("__pydantic_complete__") else None
    if schema is not None:
        _cache[cls] = (schema, decode)
    return decode


def _build(cls: type[DomainEvent], schema: Any) -> TrustedDecode | None:
    if not isinstance(schema, Mapping):
        return None
    if getattr(cls.model_validate_json, "__func__", None) is not _VALIDATE_JSON:
        return None  # the class decodes its own way
    definitions: dict[str, Mapping[str, Any]] = {}
    root: Mapping[str, Any] = schema
    in_definitions = False
    if schema.get("type") == "definitions":  # models used more than once, or recursive
        definitions = {d["ref"]: d for d in schema.get("definitions", ()) if "ref" in d}
        root = schema.get("schema", {})
        if root.get("type") == "definition-ref":
            in_definitions = True
            root = definitions.get(root.get("schema_ref", ""), {})
    found = _without_fill(cls, root, _Checker(definitions, root.get("ref")))
    if found is None:
        return None
    rebuilt, utc_after = found
    if in_definitions:
        own = root.get("ref")
        rebuilt = {
            **schema,
            "definitions": [rebuilt if d.get("ref") == own else d for d in schema["definitions"]],
        }
    elif definitions:
        rebuilt = {**schema, "schema": rebuilt}
    try:
        validator = SchemaValidator(cast(Any, rebuilt), _config_of(root))
    except Exception:  # a schema this pydantic cannot rebuild: keep full validation
        return None
    validate: Callable[[str | bytes], DomainEvent] = validator.validate_json
    return validate, utc_after


def _config_of(node: Mapping[str, Any]) -> Any:
    while node.get("type") == "function-after":
        node = node["schema"]
    return node.get("config")


def _without_fill(
    cls: type[DomainEvent], node: Mapping[str, Any], checker: _Checker
) -> tuple[dict[str, Any], bool] | None:
    """``[function-after ...] -> model(cls) -> function-before(_fill_defaults) -> fields``
    rebuilt without the before-validator (and without ``_utc`` when it is the last
    after-validator: then True, for the caller to run it), or None for any other shape or an
    unsafe field."""
    from .events import DomainEvent

    fill = DomainEvent.__dict__["_fill_defaults"].__func__
    afters: list[Mapping[str, Any]] = []
    while node.get("type") == "function-after":
        afters.append(node)
        node = node["schema"]
    if node.get("type") != "model" or node.get("cls") is not cls:
        return None
    before = node.get("schema", {})
    function = before.get("function", {}).get("function") if before.get("type") else None
    if before.get("type") != "function-before" or getattr(function, "__func__", None) is not fill:
        return None
    fields = before["schema"]
    if not checker.model_safe(node, fields):
        return None
    rebuilt: dict[str, Any] = {**node, "schema": fields}
    utc = DomainEvent.__dict__["_utc"]
    if afters and afters[0].get("function", {}).get("function") is utc:
        # DomainEvent._utc runs last: the decoder runs it itself (cheaper than a call from
        # pydantic); the node's ref goes to the one it wrapped
        outer, afters = afters[0], afters[1:]
        if "ref" in outer:
            rebuilt["ref"] = outer["ref"]
        for after in reversed(afters):
            rebuilt = {**after, "schema": rebuilt}
        if afters and "ref" in outer:
            rebuilt["ref"] = outer["ref"]
        return rebuilt, True
    for after in reversed(afters):
        rebuilt = {**after, "schema": rebuilt}
    return rebuilt, False


class _Checker:
    """Whether schemas validate the same from JSON as from the parsed Python objects."""

    def __init__(self, definitions: Mapping[str, Mapping[str, Any]], own_ref: str | None) -> None:
        self.definitions = definitions
        self.own_ref = own_ref
        self.seen: set[str] = set()

    def model_safe(self, model: Mapping[str, Any], fields: Mapping[str, Any]) -> bool:
        config = model.get("config") or {}
        if config.get("strict"):
            return False
        if fields.get("type") != "model-fields" or fields.get("strict"):
            return False
        if fields.get("extras_schema") is not None:
            return False
        for field in fields.get("fields", {}).values():
            if field.get("type") != "model-field" or not self.safe(field["schema"]):
                return False
        return True

    def safe(self, schema: Mapping[str, Any]) -> bool:
        kind = schema.get("type")
        if schema.get("strict"):
            return False
        if kind in _LEAVES or kind in _PYTHON_MODE:
            return True
        if kind in _WRAPPERS:
            inner = schema.get("schema") or schema.get("items_schema")
            return inner is None or self.safe(inner)
        if kind == "dict":
            keys, values = schema.get("keys_schema"), schema.get("values_schema")
            return (keys is None or (keys.get("type") == "str" and not keys.get("strict"))) and (
                values is None or self.safe(values)
            )
        if kind == "model":
            inner = schema.get("schema", {})
            return inner.get("type") in _PYTHON_MODE or self.model_safe(schema, inner)
        if kind == "definition-ref":
            ref = str(schema.get("schema_ref"))
            if ref == self.own_ref or ref not in self.definitions:
                return False  # the event class inside itself would lose its _fill_defaults
            if ref in self.seen:
                return True
            self.seen.add(ref)
            return self.safe(self.definitions[ref])
        return False
