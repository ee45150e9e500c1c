"""Domain events and the registry that maps stored event types back to classes.

Every subclass of :class:`DomainEvent` registers itself in :data:`default_registry` when it is
defined, under its ``event_type`` (the class name unless the class sets another default) and
``event_version``. Stores serialise an event with :func:`serialize_event` and read it back
with :meth:`EventRegistry.deserialize`.
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Self
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticSerializationError, from_json, to_jsonable_python

from ._event_documents import DocumentRules, rules_for, version_span
from ._exceptions import (
    DuplicateEventTypeError,
    InvalidArgumentError,
    InvalidEventError,
    PayloadTooLargeError,
    SerializationError,
    UnknownEventTypeError,
    UpcastError,
)
from ._trusted_decoding import trusted_validator
from .upcasting import Upcaster, UpcastFunction
from .values import (
    MAX_VERSION,
    check_identifier,
    check_json_text,
    check_no_surrogate_keys,
    check_version,
)

#: eventsource-py 0.5.0 had ``eventsource.events`` as a package: its submodules
#: (``eventsource.events.registry``, ``.base``) are found in ``_events_compat``.
__path__ = [str(Path(__file__).with_name("_events_compat"))]

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "DomainEvent",
    "EventRegistry",
    "EventTypeConflictWarning",
    "default_registry",
    "serialize_event",
]

#: The default largest serialised event (JSON bytes) a store accepts: 1 MiB.
DEFAULT_MAX_EVENT_BYTES = 1024 * 1024
#: The longest chain of upcasters a document goes through (beyond it they loop).
_MAX_UPCAST_STEPS = 1000


def _utc_now() -> datetime:
    return datetime.now(UTC)


class DomainEvent(BaseModel):
    """An immutable fact about one aggregate.

    Subclass it with your own fields; ``event_type`` defaults to the class name and
    ``event_version`` to 1. Unknown fields are ignored when decoding, so a class that drops a
    field still reads its old events. The envelope fields (``aggregate_id``,
    ``aggregate_version``, ...) are usually filled by :meth:`AggregateRoot.raise_event`.
    ``occurred_at`` is always UTC.

    Stored events stay in the portable value domain (:mod:`eventsource.values`): a
    non-finite float is refused when the event is appended, unless the class opts in with
    ``model_config = ConfigDict(ser_json_inf_nan="strings")``.
    """

    # "constants" writes NaN / Infinity as tokens, so serialize_event can see and refuse them
    # (pydantic's default writes null, which would lose them silently).
    model_config = ConfigDict(frozen=True, extra="ignore", ser_json_inf_nan="constants")

    #: Set to False on intermediate base classes that should not be registered.
    __register__: ClassVar[bool] = True

    event_id: UUID = Field(default_factory=uuid4)
    event_type: str = ""
    event_version: int = Field(default=1, ge=1, le=MAX_VERSION)
    occurred_at: datetime = Field(default_factory=_utc_now)
    aggregate_id: UUID
    aggregate_type: str = ""
    aggregate_version: int = Field(default=1, ge=1, le=MAX_VERSION)
    tenant_id: UUID | None = None
    actor_id: str | None = None
    correlation_id: UUID = Field(default_factory=uuid4)
    causation_id: UUID | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _fill_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("event_type"):
            data = dict(data)
            data["event_type"] = cls.default_event_type()
        return data

    @model_validator(mode="after")
    def _utc(self) -> DomainEvent:
        if self.occurred_at.tzinfo is None:
            object.__setattr__(self, "occurred_at", self.occurred_at.replace(tzinfo=UTC))
        elif self.occurred_at.tzinfo is not UTC:
            # Any other zone, including zero-offset ones such as Europe/London in winter.
            try:
                utc = self.occurred_at.astimezone(UTC)
            except OverflowError:  # year 1 or 9999 in a zone whose UTC time is out of range
                raise ValueError(
                    f"occurred_at {self.occurred_at.isoformat()} has no UTC time in range"
                ) from None
            object.__setattr__(self, "occurred_at", utc)
        return self

    @classmethod
    def default_event_type(cls) -> str:
        """The event type stored for this class: its ``event_type`` default, else its name."""
        default = cls.model_fields["event_type"].default
        return default if isinstance(default, str) and default else cls.__name__

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.__dict__.get("__register__", True):
            default_registry.register(cls, replace=True, warn=True)

    def with_position(self, aggregate_version: int) -> DomainEvent:
        """This event with ``aggregate_version`` set (a copy; events are immutable)."""
        if self.aggregate_version == aggregate_version:
            return self
        return self.model_copy(update={"aggregate_version": aggregate_version})

    # -- eventsource-py 0.5.0 compatibility (docs/migrating-from-eventsource-py.md) -------------

    #: Accepted for 0.5.0's classes; a differing ``event_type`` is never warned about here.
    suppress_event_type_warning: ClassVar[bool] = False

    def with_causation(self, causing_event: DomainEvent) -> Self:
        """A copy caused by ``causing_event`` (its id as causation, its correlation)."""
        return self.model_copy(
            update={
                "causation_id": causing_event.event_id,
                "correlation_id": causing_event.correlation_id,
            }
        )

    def with_metadata(self, **metadata: Any) -> Self:
        """A copy whose metadata also holds ``metadata``."""
        return self.model_copy(update={"metadata": {**self.metadata, **metadata}})

    def with_aggregate_version(self, version: int) -> Self:
        """A copy with ``aggregate_version`` set."""
        return self.model_copy(update={"aggregate_version": version})

    def to_dict(self) -> dict[str, Any]:
        """``model_dump(mode="json")``: UUIDs and datetimes as strings."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """``model_validate(data)``."""
        return cls.model_validate(data)

    def is_caused_by(self, event: DomainEvent) -> bool:
        """True when ``event`` caused this one."""
        return self.causation_id == event.event_id

    def is_correlated_with(self, event: DomainEvent) -> bool:
        """True when both share a correlation id."""
        return self.correlation_id == event.correlation_id

    def __str__(self) -> str:
        return (
            f"{self.event_type}(event_id={self.event_id}, aggregate_id={self.aggregate_id}, "
            f"version={self.aggregate_version})"
        )


class EventTypeConflictWarning(UserWarning):
    """Two event classes from different modules claim the same stored event type."""


def _system_event(event_type: str) -> type[DomainEvent] | None:
    """The class of a system event every registry decodes (stream lifecycle records)."""
    if not event_type.startswith("eventsource."):
        return None
    from .stores._lifecycle import LIFECYCLE_EVENT_TYPES

    return LIFECYCLE_EVENT_TYPES.get(event_type)


class EventRegistry:
    """Maps ``(event_type, event_version)`` to the event class that decodes it.

    A lookup for a version that is not registered falls back to the newest registered version
    of that type; an unknown type raises :class:`UnknownEventTypeError`. Thread-safe.
    """

    def __init__(self, classes: Iterable[type[DomainEvent]] = ()) -> None:
        self._by_key: dict[tuple[str, int], type[DomainEvent]] = {}
        self._latest: dict[str, type[DomainEvent]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        self._upcast_types: set[str] = set()
        self._lock = threading.Lock()
        for cls in classes:
            self.register(cls)

    def register(
        self,
        cls: type[DomainEvent],
        event_type: str | None = None,
        *,
        replace: bool = False,
        warn: bool = False,
    ) -> type[DomainEvent]:
        """Register ``cls``; usable as a class decorator. Returns ``cls``.

        Registering a different class under a taken type and version raises
        :class:`DuplicateEventTypeError` (a ValueError) unless ``replace`` is true; with
        ``warn`` a replacement by a class defined in another module emits
        :class:`EventTypeConflictWarning` (two classes claiming one stored type). Anything
        but a DomainEvent subclass is an :class:`InvalidArgumentError`, as is an
        ``event_type`` (0.5.0's argument) other than the class's own. Either leaves the
        registry unchanged.
        """
        if not (isinstance(cls, type) and issubclass(cls, DomainEvent)):
            raise InvalidArgumentError(f"{cls!r:.200} is not a DomainEvent subclass")
        if event_type is not None and event_type != cls.default_event_type():
            raise InvalidArgumentError(  # 0.5.0 registered a class under any name
                f"cannot register {cls.__name__} as {event_type!r}: its event type is "
                f"{cls.default_event_type()!r}; set `event_type: str = {event_type!r}` in the "
                "class body instead"
            )
        event_type = cls.default_event_type()
        version = cls.model_fields["event_version"].default
        version = version if isinstance(version, int) else 1
        key = (event_type, version)
        with self._lock:
            current = self._by_key.get(key)
            if current is not None and current is not cls:
                where = f"{current.__module__}.{current.__qualname__}"
                if not replace:
                    raise DuplicateEventTypeError(event_type, version, current, cls)
                if warn and current.__module__ != cls.__module__:
                    warnings.warn(
                        f"event type {event_type!r} version {version} was registered to "
                        f"{where} and is now {cls.__module__}.{cls.__qualname__}; stored "
                        f"events of this type will decode as the latter. Give one of them "
                        f"another event_type.",
                        EventTypeConflictWarning,
                        stacklevel=4,
                    )
            self._by_key[key] = cls
            latest = self._latest.get(event_type)
            # The newest version stays the fallback, whatever the order classes are defined in.
            if latest is None or _version_of(latest) <= version:
                self._latest[event_type] = cls
        return cls

    def get(self, event_type: str, event_version: int | None = None) -> type[DomainEvent]:
        """The class for ``event_type`` (at ``event_version`` if registered)."""
        if event_version is not None:
            found = self._by_key.get((event_type, event_version))
            if found is not None:
                return found
        found = self._latest.get(event_type)
        if found is None:
            found = _system_event(event_type)
        if found is None:
            raise UnknownEventTypeError(event_type, event_version, self._latest.keys())
        return found

    def __contains__(self, event_type: object) -> bool:
        return event_type in self._latest

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._latest))

    def __len__(self) -> int:
        return len(self._latest)

    # -- eventsource-py 0.5.0 compatibility (docs/migrating-from-eventsource-py.md) -------------

    def __bool__(self) -> bool:
        return True  # an empty registry is still a registry (0.5.0)

    def get_or_none(self, event_type: str) -> type[DomainEvent] | None:
        """The newest class registered for ``event_type``, or None."""
        return self._latest.get(event_type)

    def contains(self, event_type: str) -> bool:
        """True when a class is registered for ``event_type``."""
        return event_type in self._latest

    def list_types(self) -> list[str]:
        """The registered event types, sorted."""
        return sorted(self._latest)

    def list_classes(self) -> list[type[DomainEvent]]:
        """The newest class of each registered type, in type-name order."""
        return [self._latest[name] for name in sorted(self._latest)]

    def unregister(self, event_type: str) -> bool:
        """Forget every version of ``event_type``; True if it was registered."""
        with self._lock:
            for key in [key for key in self._by_key if key[0] == event_type]:
                del self._by_key[key]
            return self._latest.pop(event_type, None) is not None

    def clear(self) -> None:
        """Forget every class (upcasters stay)."""
        with self._lock:
            self._by_key.clear()
            self._latest.clear()

    def check_registered(self, event: DomainEvent) -> None:
        """Raise :class:`UnknownEventTypeError` unless ``event`` can be decoded by this registry."""
        if event.event_type not in self._latest and _system_event(event.event_type) is None:
            raise UnknownEventTypeError(event.event_type, event.event_version, self._latest.keys())

    def register_upcaster(
        self,
        event_type: str,
        from_version: int,
        function: UpcastFunction,
        *,
        to_type: str | None = None,
        to_version: int | None = None,
    ) -> Upcaster:
        """Register ``function`` as the step that turns stored ``event_type`` documents at
        ``from_version`` into ``to_type`` (default: the same type) at ``to_version`` (default:
        the next version); see :mod:`eventsource.upcasting`. One step per type and version:
        registering another raises :class:`InvalidArgumentError`."""
        step = Upcaster.of(
            event_type, from_version, function, to_type=to_type, to_version=to_version
        )
        key = (event_type, from_version)
        with self._lock:
            current = self._upcasters.get(key)
            if current is not None and current.function is not function:
                raise InvalidArgumentError(
                    f"{event_type!r} version {from_version} already has an upcaster "
                    f"({getattr(current.function, '__qualname__', current.function)!s})"
                )
            self._upcasters[key] = step
            self._upcast_types.add(event_type)
        return step

    def has_upcasters(self, event_type: str) -> bool:
        """Whether stored ``event_type`` documents may go through upcasters (a version of
        the type has one)."""
        return event_type in self._upcast_types

    def stored_types(self, event_types: Iterable[str]) -> tuple[str, ...]:
        """``event_types`` and every stored type an upcaster chain renames into one of them:
        what a read filtered by type must ask the store for."""
        wanted = list(dict.fromkeys(event_types))
        found = set(wanted)
        grew = True
        while grew:
            grew = False
            for step in list(self._upcasters.values()):
                if step.to_type in found and step.event_type not in found:
                    found.add(step.event_type)
                    wanted.append(step.event_type)
                    grew = True
        return tuple(wanted)

    def needs_upcast(self, event_type: str, event_version: int | None) -> bool:
        """Whether a stored ``(event_type, event_version)`` document goes through upcasters."""
        return (
            bool(self._upcast_types)
            and event_version is not None
            and (event_type, event_version) in self._upcasters
        )

    def upcast_steps(self, event_type: str, event_version: int) -> tuple[Upcaster, ...]:
        """The upcasters a stored ``(event_type, event_version)`` document goes through, in
        order (empty: none), without running them; :class:`UpcastError` when they loop."""
        steps: list[Upcaster] = []
        step = self._upcasters.get((event_type, event_version))
        while step is not None:
            if len(steps) >= _MAX_UPCAST_STEPS:
                raise UpcastError(
                    f"the upcasters of {event_type!r} loop (more than {_MAX_UPCAST_STEPS} "
                    f"steps from version {event_version})",
                    event_type=event_type,
                    event_version=event_version,
                )
            steps.append(step)
            step = self._upcasters.get((step.to_type, step.to_version))
        return tuple(steps)

    def check_decodable(self, event_type: str, event_version: int) -> type[DomainEvent]:
        """The class a document of ``(event_type, event_version)`` that no upcaster starts
        from decodes into; :class:`UpcastError` for a missing link of a chain,
        :class:`UnknownEventTypeError` for a type the registry does not know."""
        return self._class_for(event_type, event_version)

    def upcast(
        self, data: dict[str, Any], event_type: str, event_version: int
    ) -> tuple[dict[str, Any], str, int]:
        """``data`` (a stored document of ``event_type`` at ``event_version``) through its
        chain of upcasters: the document, type and version it ends at."""
        steps = 0
        step = self._upcasters.get((event_type, event_version))
        while step is not None:
            steps += 1
            if steps > _MAX_UPCAST_STEPS:
                raise UpcastError(
                    f"the upcasters of {event_type!r} loop (more than {_MAX_UPCAST_STEPS} "
                    f"steps from version {event_version})",
                    event_type=event_type,
                    event_version=event_version,
                )
            try:
                data = step.function(data)
            except Exception as exc:
                raise UpcastError(
                    f"upcaster of {step.event_type!r} version {step.from_version} failed: "
                    f"{type(exc).__name__}: {exc}",
                    event_type=step.event_type,
                    event_version=step.from_version,
                ) from exc
            if not isinstance(data, dict):
                raise UpcastError(
                    f"upcaster of {step.event_type!r} version {step.from_version} returned "
                    f"{type(data).__name__}, not a dict",
                    event_type=step.event_type,
                    event_version=step.from_version,
                )
            event_type, event_version = step.to_type, step.to_version
            data["event_type"], data["event_version"] = event_type, event_version
            step = self._upcasters.get((event_type, event_version))
        return data, event_type, event_version

    def _class_for(self, event_type: str, event_version: int | None) -> type[DomainEvent]:
        """The class decoding a document of ``event_type`` at ``event_version`` that no
        upcaster starts from: the exact class, else (for a type without upcasters) the
        newest; a type with upcasters whose version is neither is a missing link."""
        if event_version is not None and event_type in self._upcast_types:
            found = self._by_key.get((event_type, event_version))
            if found is not None:
                return found
            latest = self._latest.get(event_type)
            if latest is not None and _version_of(latest) != event_version:
                raise UpcastError(
                    f"no upcaster of {event_type!r} from version {event_version}: the chain "
                    f"to the registered version {_version_of(latest)} has a missing link",
                    event_type=event_type,
                    event_version=event_version,
                )
        return self.get(event_type, event_version)

    def deserialize(
        self, payload: str | bytes, event_type: str, event_version: int | None = None
    ) -> DomainEvent:
        """Decode a stored JSON document into its event class, through the upcasters of its
        type and version if it has any."""
        if self._upcast_types and event_version is not None:
            if (event_type, event_version) in self._upcasters:
                try:
                    data = from_json(payload)
                except ValueError as exc:
                    raise SerializationError(
                        f"stored event of type {event_type!r} is not JSON: {exc}"
                    ) from exc
                if not isinstance(data, dict):
                    raise SerializationError(
                        f"stored event of type {event_type!r} is not a JSON object"
                    )
                return self._decode_upcast(data, event_type, event_version)
            cls = self._class_for(event_type, event_version)
        else:
            cls = self.get(event_type, event_version)
        try:
            return cls.model_validate_json(payload)
        except ValidationError as exc:
            raise SerializationError(
                f"stored event of type {event_type!r} does not match {cls.__qualname__}: {exc}"
            ) from exc

    def decoder(
        self, event_type: str, event_version: int | None = None
    ) -> Callable[[str | bytes], DomainEvent]:
        """A function decoding stored ``(event_type, event_version)`` documents exactly as
        :meth:`deserialize` does (same objects, same errors), the class looked up once: what a
        reader uses for a page of rows. Documents without upcasters of a class whose schema
        allows it skip the ``_fill_defaults`` pass (:mod:`eventsource._trusted_decoding`)."""
        slow = functools.partial(
            self.deserialize, event_type=event_type, event_version=event_version
        )
        if type(self).deserialize is not EventRegistry.deserialize:
            return slow  # a registry that decodes its own way (migration's copying one)
        if self.needs_upcast(event_type, event_version):
            return slow
        try:
            if self._upcast_types and event_version is not None:
                cls = self._class_for(event_type, event_version)
            else:
                cls = self.get(event_type, event_version)
        except Exception:  # raised again, as deserialize raises it, for each document
            return slow
        fast = trusted_validator(cls)
        if fast is None:
            return slow

        validate, utc_after = fast
        utc: Callable[[DomainEvent], object] = DomainEvent.__dict__["_utc"]

        def decode(payload: str | bytes) -> DomainEvent:
            try:
                event = validate(payload)
                if utc_after and event.occurred_at.tzinfo is not UTC:
                    utc(event)  # the validator that runs last, as pydantic would run it
            except Exception:  # full validation decides, and raises today's error
                return slow(payload)
            # _fill_defaults would have filled an empty or missing event_type
            if event.event_type and "event_type" in event.__pydantic_fields_set__:
                return event
            return slow(payload)

        return decode

    def _decode_upcast(
        self, data: dict[str, Any], event_type: str, event_version: int
    ) -> DomainEvent:
        data, event_type, event_version = self.upcast(data, event_type, event_version)
        cls = self._class_for(event_type, event_version)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise SerializationError(
                f"upcast event of type {event_type!r} version {event_version} does not match "
                f"{cls.__qualname__}: {exc}"
            ) from exc

    def decode_dict(self, data: dict[str, Any]) -> DomainEvent:
        """Decode an event from a dict such as ``event.model_dump()`` produced (through the
        upcasters of its type and version if it has any)."""
        event_type = data.get("event_type")
        if not isinstance(event_type, str):
            raise InvalidEventError("event data has no 'event_type'")
        version = data.get("event_version")
        if isinstance(version, int) and self.needs_upcast(event_type, version):
            return self._decode_upcast(dict(data), event_type, version)
        cls = (
            self._class_for(event_type, version)
            if isinstance(version, int)
            else self.get(event_type, None)
        )
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise SerializationError(
                f"event data of type {event_type!r} does not match {cls.__qualname__}: {exc}"
            ) from exc


def _version_of(cls: type[DomainEvent]) -> int:
    version = cls.model_fields["event_version"].default
    return version if isinstance(version, int) else 1


def serialize_event(event: DomainEvent, max_bytes: int = DEFAULT_MAX_EVENT_BYTES) -> str:
    """The event as a JSON document in the portable domain, checked against ``max_bytes``.

    Raises :class:`InvalidEventError` for a bad event type, aggregate type or version,
    :class:`SerializationError` for a value that cannot be stored so that it reads back equal
    (see :mod:`eventsource.values`) and :class:`PayloadTooLargeError` when the document is too
    large. The size counts ``aggregate_version`` at its widest (10 digits), so a store that
    restamps the version never pushes a stored document over ``max_bytes``.
    """
    if not isinstance(event, DomainEvent):
        raise InvalidEventError(f"expected a DomainEvent, got {type(event).__name__}")
    return encode_event(event, max_bytes, rules_for(type(event)))[0]


def encode_event(event: DomainEvent, max_bytes: int, rules: DocumentRules) -> tuple[str, int, int]:
    """:func:`serialize_event` for a :class:`DomainEvent` whose class has ``rules``: the
    document and the span of its top-level version digits (1-based offset, length; see
    :func:`~eventsource._event_documents.version_span`). Every check runs, each once."""
    check_identifier(event.event_type, "event_type", InvalidEventError)
    if event.aggregate_type:
        check_identifier(event.aggregate_type, "aggregate_type", InvalidEventError)
    ev, av = event.event_version, event.aggregate_version
    if not (
        type(ev) is int and type(av) is int and 0 < ev <= MAX_VERSION and 0 < av <= MAX_VERSION
    ):
        # the fields' own bounds hold unless the event was built with model_construct
        check_version(event.event_version, "event_version", InvalidEventError)
        check_version(event.aggregate_version, "aggregate_version", InvalidEventError)
    # the envelope's types: one expression for the common case, the named check otherwise
    occurred = event.occurred_at
    if not (
        type(event.event_id) is UUID
        and type(event.aggregate_id) is UUID
        and type(event.correlation_id) is UUID
        and (event.tenant_id is None or type(event.tenant_id) is UUID)
        and (event.causation_id is None or type(event.causation_id) is UUID)
        and type(occurred) is datetime
        and occurred.tzinfo is UTC
    ):
        _check_envelope(event)

    try:
        # warnings="error": a value of the wrong type (from model_construct, or assigned after
        # validation) is an error, not a warning and a document that does not read back
        if rules.plain_dump:
            text = event.__pydantic_serializer__.to_json(event, warnings="error").decode()
        else:
            text = event.model_dump_json(warnings="error")
    except (PydanticSerializationError, TypeError, ValueError) as exc:
        raise SerializationError(f"{_what(event)} cannot be serialised: {exc}") from exc
    size = len(text) if text.isascii() else len(text.encode())
    # counted with the version at its widest: restamping it never pushes a stored document
    # over the limit
    widest = size + _VERSION_DIGITS - len(str(av))
    if widest > max_bytes:
        raise PayloadTooLargeError(event.event_type, widest, max_bytes)
    check_json_text(text, lambda: _what(event))
    if "\ufffd" in text:  # pydantic writes a lone surrogate in a dict key as U+FFFD: find one
        check_no_surrogate_keys(event.model_dump(), _what(event))
    at, length = version_span(text, av, rules.version_marker)
    if not at:
        raise SerializationError(
            f"{_what(event)} does not store its aggregate_version as the top-level integer "
            f"key {rules.version_key!r}; a store restamps that key, so do not customise how "
            "aggregate_version is serialised"
        )
    if rules.round_trip:
        _check_round_trip(event, text, _what(event))
    return text, at, length


def _what(event: DomainEvent) -> str:
    return f"event {event.event_type!r} ({event.event_id})"


_VERSION_DIGITS = len(str(MAX_VERSION))


def _check_envelope(event: DomainEvent) -> None:
    """Refuse envelope fields of the wrong type (an event built with ``model_construct``, or
    a subclass redeclaring one): every backend stores them in typed columns."""
    for name in ("event_id", "aggregate_id", "correlation_id"):
        if not isinstance(getattr(event, name), UUID):
            raise InvalidEventError(
                f"{name} of event {event.event_type!r} must be a UUID, "
                f"got {type(getattr(event, name)).__name__}"
            )
    for name in ("tenant_id", "causation_id"):
        value = getattr(event, name)
        if value is not None and not isinstance(value, UUID):
            raise InvalidEventError(
                f"{name} of event {event.event_type!r} must be a UUID or None, "
                f"got {type(value).__name__}"
            )
    occurred = event.occurred_at
    if not isinstance(occurred, datetime) or occurred.utcoffset() is None:
        raise InvalidEventError(
            f"occurred_at of event {event.event_type!r} must be a timezone-aware datetime"
        )


def _check_round_trip(event: DomainEvent, text: str, what: str) -> None:
    """For classes that customise their serialisation: refuse ``text`` unless it decodes to
    an event that serialises to the same text, with every float read back as a float (NaN
    equal to NaN; a non-finite float in an untyped field would read back as a string)."""
    try:
        decoded = type(event).model_validate_json(text)
    except ValidationError as exc:
        raise SerializationError(f"{what} would not read back: {exc}") from exc
    try:
        again = decoded.model_dump_json(warnings="error")
    except (PydanticSerializationError, TypeError, ValueError) as exc:
        raise SerializationError(f"{what} would not read back: {exc}") from exc
    if again != text:
        raise SerializationError(
            f"{what} would not read back unchanged: its class customises how it is written "
            "or read (an alias, serialiser, validator or computed field), and the stored "
            "document decodes to an event that serialises differently"
        )
    for name in type(event).model_fields:
        sent, back = _as_json(getattr(event, name)), _as_json(getattr(decoded, name))
        if not _same(sent, back):
            raise SerializationError(
                f"{what} would not read back unchanged: field {name!r} is stored as "
                f"{_short(back)}, not {_short(sent)} (a lossy serialiser, or a non-finite "
                "float in an untyped field, which is stored as a string)"
            )


def _as_json(value: Any) -> Any:
    """``value`` as the JSON data it stands for (a UUID as its text, a tuple as a list)."""
    try:
        return to_jsonable_python(value, fallback=repr)
    except (PydanticSerializationError, ValueError, TypeError):
        return repr(value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _same(sent: Any, back: Any) -> bool:
    """Whether two JSON values are the same: same types, NaN equal to NaN, floats never
    equal to strings."""
    if isinstance(sent, float) or isinstance(back, float):
        return (
            isinstance(sent, float)
            and isinstance(back, float)
            and (sent == back or (sent != sent and back != back))
        )
    if isinstance(sent, dict):
        return (
            isinstance(back, dict)
            and sent.keys() == back.keys()
            and all(_same(v, back[k]) for k, v in sent.items())
        )
    if isinstance(sent, list):
        return (
            isinstance(back, list)
            and len(sent) == len(back)
            and all(_same(x, y) for x, y in zip(sent, back, strict=True))
        )
    return type(sent) is type(back) and bool(sent == back)


default_registry = EventRegistry()
"""The registry every :class:`DomainEvent` subclass joins when it is defined."""
