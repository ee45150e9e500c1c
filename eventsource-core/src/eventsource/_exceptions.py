"""The exceptions eventsource raises, all rooted in :class:`EventSourceError`.

::

    EventSourceError
    ├── InvalidArgumentError                (also ValueError) a bad argument; nothing changed
    ├── ConfigurationError
    │   ├── InvalidBackendURLError          (also ValueError) a URL that cannot be parsed
    │   ├── UnknownBackendError             no installed plugin serves that name or scheme
    │   │   └── BackendNotInstalledError    (also ImportError) a known backend, not installed
    │   └── PluginConflictError             two plugins claim one backend name
    ├── EventStoreError
    │   ├── OptimisticLockError             expected version != actual version
    │   ├── InvalidEventError               (also InvalidArgumentError) bad events; nothing stored
    │   │   └── DuplicateEventError         an event id that is already stored
    │   ├── SerializationError              a value outside the portable JSON domain
    │   │   ├── PayloadTooLargeError        its JSON is over the backend's size limit
    │   │   ├── EventDecodeError            a stored event that cannot be decoded (poison)
    │   │   └── UpcastError                 a stored version no upcaster chain leads from
    │   ├── UnknownEventTypeError           (also KeyError) no class registered for a type
    │   └── AggregateNotFoundError          load() of an aggregate with no events
    ├── RepositoryError
    │   ├── EntryNotFoundError              (also KeyError) no outbox/DLQ entry with that id
    │   └── InvalidStateError               an operation the entry's status forbids
    └── StorageError                        the database itself failed
        ├── DatabaseLockedError             the writer lock was not had within busy_timeout
        ├── StorageUnavailableError         missing directory, read-only, corrupt, unreachable
        │   └── StoreNotFoundError          opened with create=False: no such file or schema
        ├── ConnectionLostError             the connection dropped mid-operation
        └── SchemaVersionError              the stored schema is newer than this release

Backends subclass these (``SQLiteDatabaseLockedError`` is also ``sqlite3.OperationalError``
so existing ``except aiosqlite.OperationalError`` handlers keep working).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AggregateNotFoundError",
    "BackendNotInstalledError",
    "ConfigurationError",
    "ConnectionLostError",
    "DatabaseLockedError",
    "DuplicateEventError",
    "EntryNotFoundError",
    "EventDecodeError",
    "EventSourceError",
    "EventStoreError",
    "InvalidArgumentError",
    "InvalidBackendURLError",
    "InvalidEventError",
    "InvalidStateError",
    "OptimisticLockError",
    "PayloadTooLargeError",
    "PluginConflictError",
    "RepositoryError",
    "SchemaVersionError",
    "SerializationError",
    "StorageError",
    "StorageUnavailableError",
    "StoreNotFoundError",
    "UnknownBackendError",
    "UnknownEventTypeError",
    "UpcastError",
]


class EventSourceError(Exception):
    """Root of every error eventsource raises on purpose."""


class InvalidArgumentError(EventSourceError, ValueError):
    """An argument of the wrong type or out of range; nothing was changed."""


class ConfigurationError(EventSourceError):
    """A backend could not be chosen or configured."""


class InvalidBackendURLError(ConfigurationError, ValueError):
    """A backend URL that cannot be parsed, or an option the backend does not know."""


class UnknownBackendError(ConfigurationError):
    """No installed plugin serves the requested backend name or URL scheme."""

    def __init__(self, message: str, *, name: str, installed: list[str]) -> None:
        super().__init__(message)
        self.backend = name
        self.installed = installed


class BackendNotInstalledError(UnknownBackendError, ImportError):
    """A backend we know of whose distribution is not installed; the message names the fix."""

    def __init__(self, message: str, *, name: str, installed: list[str], pip_command: str) -> None:
        UnknownBackendError.__init__(self, message, name=name, installed=installed)
        self.msg = message
        self.pip_command = pip_command

    def __str__(self) -> str:
        return self.msg


class PluginConflictError(ConfigurationError):
    """Two plugins registered the same backend name for one role."""


class EventStoreError(EventSourceError):
    """An event store operation was refused."""


class OptimisticLockError(EventStoreError):
    """The stream's version was not the one the writer expected; nothing was written."""

    def __init__(
        self,
        aggregate_id: Any,
        expected_version: int,
        actual_version: int,
        aggregate_type: str | None = None,
    ) -> None:
        self.aggregate_id = aggregate_id
        self.aggregate_type = aggregate_type
        self.expected_version = expected_version
        self.actual_version = actual_version
        what = f"{aggregate_type} {aggregate_id}" if aggregate_type else str(aggregate_id)
        super().__init__(
            f"optimistic lock failed for {what}: expected version {expected_version}, "
            f"actual version {actual_version}"
        )


class InvalidEventError(EventStoreError, InvalidArgumentError):
    """Arguments or events that the store refuses; nothing was written."""


class DuplicateEventError(InvalidEventError):
    """An event whose id is already in the store (or twice in one batch); nothing was written."""

    def __init__(self, event_id: Any) -> None:
        self.event_id = event_id
        super().__init__(f"event {event_id} is already stored")


class SerializationError(EventStoreError):
    """A value outside the portable JSON domain (see :mod:`eventsource.values`): an event or
    entry payload that could not be stored so that it reads back equal; nothing was written."""


class PayloadTooLargeError(SerializationError):
    """An event whose JSON is larger than the backend accepts; nothing was written."""

    def __init__(self, event_type: str, size: int, limit: int) -> None:
        self.event_type = event_type
        self.size = size
        self.limit = limit
        super().__init__(
            f"event {event_type!r} serialises to {size} bytes, over the limit of {limit} bytes"
        )


class EventDecodeError(SerializationError):
    """A stored event that cannot be decoded: a poison row in the log.

    Raised by readers at the row, after every event before it was yielded. It names where
    the row is (``global_position``, ``stream_id``, ``stream_position``) and what it claims to
    be (``event_id``, ``event_type``, ``event_version``); ``raw_payload`` is the stored JSON
    text, unchanged, and ``__cause__`` the decoding error.
    """

    def __init__(
        self,
        message: str,
        *,
        global_position: int | None,
        stream_id: str | None,
        event_type: str,
        event_version: int | None,
        raw_payload: str,
        event_id: Any = None,
        stream_position: int | None = None,
    ) -> None:
        self.global_position = global_position
        self.stream_id = stream_id
        self.stream_position = stream_position
        self.event_id = event_id
        self.event_type = event_type
        self.event_version = event_version
        self.raw_payload = raw_payload
        where = f"global position {global_position}" if global_position is not None else "log"
        super().__init__(
            f"stored event at {where} (stream {stream_id}, type {event_type!r} version "
            f"{event_version}, id {event_id}) cannot be decoded: {message}"
        )


class UpcastError(SerializationError):
    """A stored event version that its type's upcasters cannot bring to a registered class (a
    missing link in the chain, or an upcaster that failed); names the type and versions."""

    def __init__(self, message: str, *, event_type: str, event_version: int | None) -> None:
        self.event_type = event_type
        self.event_version = event_version
        super().__init__(message)


class UnknownEventTypeError(EventStoreError, KeyError):
    """No event class is registered for this event type (and version)."""

    def __init__(self, event_type: str, event_version: int | None = None, known: Any = ()) -> None:
        self.event_type = event_type
        self.event_version = event_version
        known_names = sorted(set(known))
        shown = ", ".join(known_names[:20]) + (" ..." if len(known_names) > 20 else "")
        version = f" version {event_version}" if event_version is not None else ""
        self.message = (
            f"unknown event type {event_type!r}{version}: register its class with "
            f"EventRegistry.register() (known: {shown or 'none'})"
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class AggregateNotFoundError(EventStoreError):
    """The aggregate has no events in the store."""

    def __init__(self, aggregate_id: Any, aggregate_type: str | None = None) -> None:
        self.aggregate_id = aggregate_id
        self.aggregate_type = aggregate_type
        super().__init__(
            f"aggregate {aggregate_type or ''} {aggregate_id} not found".replace("  ", " ")
        )


class RepositoryError(EventSourceError):
    """A checkpoint, outbox or DLQ operation was refused."""


class EntryNotFoundError(RepositoryError, KeyError):
    """No outbox or DLQ entry has that id."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "entry not found"


class InvalidStateError(RepositoryError):
    """The entry's status does not allow the operation (for example replaying a resolved entry)."""


class StorageError(EventSourceError):
    """The database failed; the operation in flight was rolled back."""


class DatabaseLockedError(StorageError):
    """Another writer held the database for longer than the busy timeout."""


class StorageUnavailableError(StorageError):
    """The database cannot be opened or used: missing directory, read-only, corrupt, unreachable."""


class StoreNotFoundError(StorageUnavailableError):
    """A store opened with ``create=False`` does not exist (no such file, schema or tables)."""

    def __init__(self, message: str, *, location: str) -> None:
        self.location = location
        super().__init__(message)


class ConnectionLostError(StorageError):
    """The connection dropped during the operation; its transaction was not committed."""


class SchemaVersionError(StorageError):
    """The stored schema is newer than this release understands."""
