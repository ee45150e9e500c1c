"""The exceptions eventsource raises, all rooted in :class:`EventSourceError`.

::

    EventSourceError
    ├── InvalidArgumentError                (also ValueError) a bad argument; nothing changed
    │   └── DuplicateEventTypeError         an event type and version taken by another class
    ├── ConfigurationError
    │   ├── InvalidBackendURLError          (also ValueError) a URL that cannot be parsed
    │   ├── UnknownBackendError             no installed plugin serves that name or scheme
    │   │   └── BackendNotInstalledError    (also ImportError) a known backend, not installed
    │   ├── UnknownPublisherError           no built-in or plugin publisher has that name
    │   ├── PluginConflictError             two plugins claim one backend or publisher name
    │   └── BrokerNotInstalledError         (also ImportError) a broker's client is missing
    │       ├── RabbitMQNotAvailableError   aio-pika: eventsource-core[rabbitmq]
    │       ├── RedisNotAvailableError      redis: eventsource-core[redis]
    │       ├── NatsNotAvailableError       nats-py: eventsource-core[nats]
    │       └── KafkaNotAvailableError      aiokafka: eventsource-core[kafka]
    ├── EventStoreError
    │   ├── OptimisticLockError             expected version != actual version
    │   ├── InvalidEventError               (also InvalidArgumentError) an append's events or
    │   │   │                               stream refused; nothing stored
    │   │   └── DuplicateEventError         an event id that is already stored
    │   ├── SerializationError              a value outside the portable JSON domain
    │   │   ├── PayloadTooLargeError        its JSON is over the backend's size limit
    │   │   ├── EventDecodeError            a stored event that cannot be decoded (poison)
    │   │   └── UpcastError                 a stored version no upcaster chain leads from
    │   ├── UnknownEventTypeError           (also KeyError) no class registered for a type
    │   │                                   (0.5.0's name: EventTypeNotFoundError)
    │   ├── StreamDeletedError              an append to (or restore of) a deleted stream
    │   ├── ImportConflictError             an import's rows collide with rows written
    │   │                                   meanwhile (the target changed); nothing stored
    │   ├── AggregateNotFoundError          load() of an aggregate with no events
    │   ├── EventNotFoundError              no event with that id
    │   ├── EventVersionError               an applied event's version is not the next one
    │   ├── UnhandledEventError             a DeclarativeAggregate event with no handler
    │   └── AggregateNotCreatedError        state of an aggregate whose creation event is
    │                                       missing (requires_creation_event)
    ├── RepositoryError
    │   ├── EntryNotFoundError              (also KeyError) no outbox/DLQ entry with that id
    │   ├── InvalidStateError               an operation the entry's status forbids
    │   │   ├── ProjectionOwnedError        another live owner holds the projection's lease
    │   │   └── WorkerBusyError             a runner or relay started while it runs
    │   ├── OwnershipLostError              a write under a lease a newer owner superseded
    │   ├── ReplayError                     a parked event that cannot be loaded for replay
    │   └── CheckpointError                 a checkpoint operation failed (0.5.0 name)
    ├── ProjectionError                     a projection failed on an event
    │   └── ProjectionStoppedError          a FailureMode.STOP projection gave up on an event
    ├── BrokerError                         a message broker did not take a message
    │   ├── BrokerUnavailableError          unreachable, connection lost, no confirm in time
    │   └── PublishRejectedError            the broker refused it (nack, unroutable, ...)
    ├── TenantContextNotSetError            a tenant required, none set (multitenancy)
    ├── TenantMismatchError                 events of another tenant than the expected one
    ├── SnapshotError                       a snapshot refused or unusable (a cache: load
    │   │                                   replays the events instead)
    │   ├── SnapshotDeserializationError    a stored snapshot that does not decode or verify
    │   ├── SnapshotSchemaVersionError      a snapshot of another state schema version
    │   └── SnapshotNotFoundError           no snapshot for that aggregate
    └── StorageError                        the database itself failed
        ├── DatabaseLockedError             the writer lock was not had within busy_timeout
        ├── StorageUnavailableError         missing directory, read-only, corrupt, unreachable
        │   └── StoreNotFoundError          opened with create=False: no such file or schema
        ├── ConnectionLostError             the connection dropped mid-operation
        └── SchemaVersionError              a stored schema this release cannot open as it is
            └── LegacySchemaError           written by eventsource-py 0.5.0 (or its conversion
                │                           unfinished): convert with `eventsource upgrade URL`
                └── UpgradeVerificationError  the converted copy differs from the original

Which of the two argument errors: :class:`InvalidEventError` is what ``append_events`` (and
an outbox's ``add_event``) raise for the events they are given and for the stream they are
to go to (``aggregate_id``, ``aggregate_type``, ``expected_version``), and what decoding
raises for event data that is no event; every other bad argument (a read's positions,
limits, ids, names, moments or :class:`~eventsource.ReadOptions`, a repository's limits,
statuses and durations, an event class given to :meth:`EventRegistry.register
<eventsource.EventRegistry.register>`) is an :class:`InvalidArgumentError`. Both are
``ValueError``, so ``except InvalidArgumentError`` (or ``ValueError``) catches any bad
argument, of the wrong type or out of range alike.

Backends may subclass these, and list their subclasses here (``tests/core/test_exceptions.py``
refuses any other exception class outside this module):

- ``eventsource_sqlite.SQLiteDatabaseLockedError`` (a :class:`DatabaseLockedError`, also
  ``sqlite3.OperationalError``, so existing ``except aiosqlite.OperationalError`` handlers
  keep working).

Every class is importable from ``eventsource`` and from ``eventsource.exceptions`` (where
eventsource-py 0.5.0 had its errors); the runtime's are also in ``eventsource.runtime``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "AggregateNotCreatedError",
    "AggregateNotFoundError",
    "BackendNotInstalledError",
    "BrokerError",
    "BrokerNotInstalledError",
    "BrokerUnavailableError",
    "CheckpointError",
    "ConfigurationError",
    "ConnectionLostError",
    "DatabaseLockedError",
    "DuplicateEventError",
    "DuplicateEventTypeError",
    "EntryNotFoundError",
    "EventDecodeError",
    "EventNotFoundError",
    "EventSourceError",
    "EventStoreError",
    "EventVersionError",
    "ImportConflictError",
    "InvalidArgumentError",
    "InvalidBackendURLError",
    "InvalidEventError",
    "InvalidStateError",
    "KafkaNotAvailableError",
    "LegacySchemaError",
    "NatsNotAvailableError",
    "OptimisticLockError",
    "OwnershipLostError",
    "PayloadTooLargeError",
    "PluginConflictError",
    "ProjectionError",
    "ProjectionOwnedError",
    "ProjectionStoppedError",
    "PublishRejectedError",
    "RabbitMQNotAvailableError",
    "RedisNotAvailableError",
    "ReplayError",
    "RepositoryError",
    "SchemaVersionError",
    "SerializationError",
    "SnapshotDeserializationError",
    "SnapshotError",
    "SnapshotNotFoundError",
    "SnapshotSchemaVersionError",
    "StorageError",
    "StorageUnavailableError",
    "StoreNotFoundError",
    "StreamDeletedError",
    "TenantContextNotSetError",
    "TenantMismatchError",
    "UnhandledEventError",
    "UnknownBackendError",
    "UnknownEventTypeError",
    "UnknownPublisherError",
    "UpcastError",
    "UpgradeVerificationError",
    "WorkerBusyError",
]


class EventSourceError(Exception):
    """Root of every error eventsource raises on purpose."""


class InvalidArgumentError(EventSourceError, ValueError):
    """An argument of the wrong type or out of range; nothing was changed."""


class DuplicateEventTypeError(InvalidArgumentError):
    """An event class registered under an event type and version that another class holds.

    ``event_type``, ``event_version``, ``existing_class`` and ``new_class`` name the clash
    (the name and attributes eventsource-py 0.5.0 used); the registry is unchanged.
    """

    def __init__(
        self, event_type: str, event_version: int, existing_class: type, new_class: type
    ) -> None:
        self.event_type = event_type
        self.event_version = event_version
        self.existing_class = existing_class
        self.new_class = new_class
        super().__init__(
            f"event type {event_type!r} version {event_version} is already registered to "
            f"{existing_class.__module__}.{existing_class.__qualname__}; "
            f"{new_class.__module__}.{new_class.__qualname__} needs another event_type"
        )


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


class UnknownPublisherError(ConfigurationError):
    """No built-in or plugin publisher has the requested name."""

    def __init__(self, name: str, installed: list[str]) -> None:
        self.publisher = name
        self.installed = installed
        super().__init__(f"unknown publisher {name!r}; installed: {', '.join(installed) or 'none'}")


class PluginConflictError(ConfigurationError):
    """Two plugins registered the same backend name for one role, or one publisher name."""


class BrokerNotInstalledError(ConfigurationError, ImportError):
    """A broker's client library is not installed; the message names the extra to install."""

    #: The broker, the client's import name and the extra that brings it in.
    broker = ""
    module = ""
    extra = ""

    def __init__(self, message: str | None = None) -> None:
        self.msg = message or (
            f"the {self.broker} broker needs {self.module!r}: "
            f"pip install 'eventsource-core[{self.extra}]'"
        )
        super().__init__(self.msg)

    def __str__(self) -> str:
        return self.msg


class RabbitMQNotAvailableError(BrokerNotInstalledError):
    """aio-pika is not installed (``pip install 'eventsource-core[rabbitmq]'``)."""

    broker, module, extra = "RabbitMQ", "aio_pika", "rabbitmq"


class RedisNotAvailableError(BrokerNotInstalledError):
    """redis-py is not installed (``pip install 'eventsource-core[redis]'``)."""

    broker, module, extra = "Redis", "redis", "redis"


class NatsNotAvailableError(BrokerNotInstalledError):
    """nats-py is not installed (``pip install 'eventsource-core[nats]'``)."""

    broker, module, extra = "NATS", "nats", "nats"


class KafkaNotAvailableError(BrokerNotInstalledError):
    """aiokafka is not installed (``pip install 'eventsource-core[kafka]'``)."""

    broker, module, extra = "Kafka", "aiokafka", "kafka"


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
    """Events an append refuses, or the stream it was to write them to; nothing was written.

    Bad arguments of other methods are plain :class:`InvalidArgumentError` (see the module
    docstring)."""


class DuplicateEventError(InvalidEventError):
    """An event whose id is already in the store (or twice in one batch); nothing was written.

    A retry of an append that was stored is no such error: it returns the original result
    (see :meth:`EventStore.append_events <eventsource.EventStore.append_events>`). ``detail``
    says where the id is stored, or why the batch is no retry.
    """

    def __init__(self, event_id: Any, detail: str | None = None) -> None:
        self.event_id = event_id
        self.detail = detail
        super().__init__(f"event {event_id} is already stored" + (f" {detail}" if detail else ""))


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
        #: The registered types (0.5.0's ``EventTypeNotFoundError.available_types``).
        self.available_types = known_names
        shown = ", ".join(known_names[:20]) + (" ..." if len(known_names) > 20 else "")
        version = f" version {event_version}" if event_version is not None else ""
        self.message = (
            f"unknown event type {event_type!r}{version}: register its class with "
            f"EventRegistry.register() (known: {shown or 'none'})"
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class ImportConflictError(EventStoreError):
    """Rows a bulk import (:meth:`~eventsource.spi.EventTransfer.import_rows`) cannot place
    because the store holds rows at or above their positions, or their event ids or stream
    versions: something else wrote to it meanwhile. Not the rows' fault (they are not an
    :class:`InvalidEventError`); nothing of the batch was written."""


class StreamDeletedError(EventStoreError):
    """An append to a deleted stream (without ``recreate=True``), or a restore of a stream
    that was hard-deleted; nothing changed. ``hard`` says which kind of delete it was."""

    def __init__(self, aggregate_id: Any, aggregate_type: str, *, hard: bool) -> None:
        self.aggregate_id = aggregate_id
        self.aggregate_type = aggregate_type
        self.hard = hard
        kind = "hard-deleted (final)" if hard else "soft-deleted (restore_stream brings it back)"
        super().__init__(
            f"stream {aggregate_type} {aggregate_id} is {kind}; append with recreate=True to "
            "start it anew at version 1"
        )


class AggregateNotFoundError(EventStoreError):
    """The aggregate has no events in the store."""

    def __init__(self, aggregate_id: Any, aggregate_type: str | None = None) -> None:
        self.aggregate_id = aggregate_id
        self.aggregate_type = aggregate_type
        super().__init__(
            f"aggregate {aggregate_type or ''} {aggregate_id} not found".replace("  ", " ")
        )


class EventNotFoundError(EventStoreError):
    """No stored event has this id."""

    def __init__(self, event_id: Any) -> None:
        self.event_id = event_id
        super().__init__(f"event {event_id} not found")


class EventVersionError(EventStoreError):
    """A new event applied to an aggregate does not carry the aggregate's next version."""

    def __init__(
        self, expected_version: int, actual_version: int, event_id: Any, aggregate_id: Any
    ) -> None:
        self.expected_version = expected_version
        self.actual_version = actual_version
        self.event_id = event_id
        self.aggregate_id = aggregate_id
        super().__init__(
            f"event {event_id} for aggregate {aggregate_id} has version {actual_version}, "
            f"expected {expected_version}"
        )


class UnhandledEventError(EventStoreError):
    """A :class:`~eventsource.DeclarativeAggregate` with ``unhandled_event_handling = "error"``
    got an event none of its ``@handles`` methods takes."""

    def __init__(
        self, event_type: str, event_id: Any, handler_class: str, available_handlers: list[str]
    ) -> None:
        self.event_type = event_type
        self.event_id = event_id
        self.handler_class = handler_class
        self.available_handlers = list(available_handlers)
        super().__init__(
            f"{handler_class} has no handler for {event_type} (event {event_id}); "
            f"handled: {', '.join(self.available_handlers) or 'none'}"
        )


class AggregateNotCreatedError(EventStoreError):
    """The state of an aggregate that requires a creation event was read before one."""

    def __init__(self, aggregate_class: str, suggestion: str | None = None) -> None:
        self.aggregate_class = aggregate_class
        self.suggestion = suggestion
        super().__init__(
            f"{aggregate_class} has not been created yet"
            + (f": {suggestion}" if suggestion else "")
        )


class RepositoryError(EventSourceError):
    """A checkpoint, outbox or DLQ operation was refused."""


class EntryNotFoundError(RepositoryError, KeyError):
    """No outbox or DLQ entry has that id."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "entry not found"


class InvalidStateError(RepositoryError):
    """The entry's status does not allow the operation (for example replaying a resolved entry)."""


class ProjectionOwnedError(InvalidStateError):
    """Another owner's lease on the projection is live, so this runner may not catch up or
    rebuild it now; ``projection_name``, ``owner_id`` and ``since`` name the holder."""

    def __init__(self, projection_name: str, owner_id: str, since: Any) -> None:
        self.projection_name = projection_name
        self.owner_id = owner_id
        self.since = since
        super().__init__(
            f"projection {projection_name!r} is owned by {owner_id!r} since {since}: stop that "
            "runner first (or wait for its lease to run out)"
        )


class OwnershipLostError(RepositoryError):
    """A write fenced by an ownership lease whose token is no longer current: a newer owner
    took the projection over (or this owner's lease ran out and it stopped delivering).
    Nothing was written. ``projection_name`` and ``token`` name the stale lease;
    ``current_token`` the projection's current one, when known.
    """

    def __init__(
        self, projection_name: str, token: int, current_token: int | None, reason: str = ""
    ) -> None:
        self.projection_name = projection_name
        self.token = token
        self.current_token = current_token
        newer = "" if current_token is None else f" (current token {current_token})"
        super().__init__(
            f"projection {projection_name!r}: ownership with token {token} is lost{newer}"
            + (f": {reason}" if reason else "")
        )


class WorkerBusyError(InvalidStateError):
    """A background worker (a :class:`~eventsource.runtime.ProjectionRunner`, an
    :class:`~eventsource.runtime.OutboxRelay`) asked to run while it is already running:
    a second ``run()``, ``start()`` or ``catch_up()``. The running one is left as it was."""


class ReplayError(RepositoryError):
    """A parked event could not be loaded for replay: its DLQ entry's ``event_data`` does not
    decode (or, with ``source="store"``, is not tried) and the entry names no event that can
    be read (an ``aggregate_id`` that is no UUID, a malformed aggregate type or stream id, an
    event the store no longer holds).

    Replay reports it in the entry's :class:`~eventsource.runtime.ReplayResult` (``ok``
    False) and leaves the entry as it was: the projection saw nothing. ``dlq_id`` and
    ``event_id`` name the entry; ``__cause__`` is the underlying error, if any.
    """

    def __init__(self, dlq_id: int, event_id: Any, reason: str) -> None:
        self.dlq_id = dlq_id
        self.event_id = event_id
        self.reason = reason
        super().__init__(f"DLQ entry {dlq_id} (event {event_id}) cannot be replayed: {reason}")


class CheckpointError(RepositoryError):
    """A checkpoint operation failed (eventsource-py 0.5.0's name; kept for its users)."""


class ProjectionError(EventSourceError):
    """A projection failed on an event."""

    def __init__(self, projection_name: str, event_id: Any, message: str) -> None:
        self.projection_name = projection_name
        self.event_id = event_id
        super().__init__(f"projection {projection_name!r} failed on event {event_id}: {message}")


class TenantContextNotSetError(EventSourceError):
    """A tenant was required (:func:`eventsource.multitenancy.get_required_tenant`), none set."""

    def __init__(self) -> None:
        super().__init__("no tenant is set in this context: use tenant_scope(tenant_id)")


class TenantMismatchError(EventSourceError):
    """Events carry another tenant than the one expected."""

    def __init__(self, expected: Any, actual: Any, event_ids: Any) -> None:
        self.expected = expected
        self.actual = actual
        self.event_ids = list(event_ids)
        super().__init__(
            f"expected tenant {expected}, got {actual} "
            f"(events {', '.join(map(str, self.event_ids))})"
        )


class ProjectionStoppedError(ProjectionError):
    """A projection with ``FailureMode.STOP`` gave up on an event; ``__cause__`` is the error
    (the handler's, or the :class:`~eventsource.EventDecodeError` of an undecodable event).

    Its checkpoint stays on the last event it fully handled, so a restart retries this event,
    which sits at ``global_position``.
    """

    def __init__(
        self,
        projection_name: str,
        event_id: Any,
        event_type: str,
        attempts: int,
        *,
        global_position: int | None = None,
    ) -> None:
        self.projection_name = projection_name
        self.event_id = event_id
        self.event_type = event_type
        self.attempts = attempts
        self.global_position = global_position
        where = f" at global position {global_position}" if global_position is not None else ""
        EventSourceError.__init__(
            self,
            f"projection {projection_name!r} stopped: event {event_type} {event_id}{where} "
            f"failed {attempts} time(s)",
        )


class BrokerError(EventSourceError):
    """A message broker did not take a message; nothing may be counted as published.

    ``broker`` names it (``"rabbitmq"``, ``"redis"``, ``"nats"``, ``"kafka"``) and
    ``__cause__`` is the client library's error, if any. eventsource-py 0.5.0's
    ``EventBusError`` is this class (``eventsource.bus.EventBusError``).
    """

    def __init__(self, message: str, *, broker: str) -> None:
        self.broker = broker
        super().__init__(f"{broker}: {message}")


class BrokerUnavailableError(BrokerError):
    """The broker could not be reached, the connection dropped, or no confirm came in time:
    the message may or may not have arrived, so it is to be published again."""


class PublishRejectedError(BrokerError):
    """The broker answered and refused the message (a negative acknowledgement, an
    unroutable message, a stream that refused the write)."""


class SnapshotError(EventSourceError):
    """A snapshot could not be written, read or applied.

    Snapshots are a cache: :class:`~eventsource.AggregateRepository` treats any of these as a
    miss and replays the events, so no result of ``load`` or ``save`` depends on them.
    """


class SnapshotDeserializationError(SnapshotError):
    """A stored snapshot that cannot be decoded or fails its checksum (a corrupted row), or
    whose state the aggregate refuses; ``original_error`` is the underlying error, if any.

    The arguments and attributes are those of eventsource-py 0.5.0.
    """

    def __init__(
        self,
        aggregate_id: Any,
        aggregate_type: str,
        original_error: Exception | None = None,
        message: str | None = None,
    ) -> None:
        self.aggregate_id = aggregate_id
        self.aggregate_type = aggregate_type
        self.original_error = original_error
        self.message = message or (
            f"snapshot of {aggregate_type} {aggregate_id} cannot be decoded"
            + (f": {original_error}" if original_error is not None else "")
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class SnapshotSchemaVersionError(SnapshotError):
    """A snapshot written for another version of the aggregate's state schema."""

    def __init__(
        self,
        aggregate_id: Any,
        aggregate_type: str,
        snapshot_schema_version: int,
        expected_schema_version: int,
    ) -> None:
        self.aggregate_id = aggregate_id
        self.aggregate_type = aggregate_type
        self.snapshot_schema_version = snapshot_schema_version
        self.expected_schema_version = expected_schema_version
        self.message = (
            f"snapshot of {aggregate_type} {aggregate_id} has state schema version "
            f"{snapshot_schema_version}, expected {expected_schema_version}"
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class SnapshotNotFoundError(SnapshotError):
    """No snapshot is stored for the aggregate."""

    def __init__(self, aggregate_id: Any, aggregate_type: str) -> None:
        self.aggregate_id = aggregate_id
        self.aggregate_type = aggregate_type
        self.message = f"no snapshot of {aggregate_type} {aggregate_id}"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


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
    """The stored schema is not one this release opens as it is: newer than this release
    understands (upgrade the package), or a :class:`LegacySchemaError`."""


class LegacySchemaError(SchemaVersionError):
    """The database was written by eventsource-py 0.5.0, or its conversion is unfinished.

    Nothing was changed. The message names the command that converts it in place
    (``eventsource upgrade URL``, or :func:`eventsource.legacy.upgrade`); ``location`` names the
    file or schema and ``command`` is that command line.
    """

    def __init__(self, message: str, *, location: str, command: str) -> None:
        self.location = location
        self.command = command
        super().__init__(message)


class UpgradeVerificationError(LegacySchemaError):
    """A conversion copied rows that do not match the original (a count or the checksum over
    the ordered events differs); the database was left unconverted, its original tables kept.

    ``mismatches`` lists what differs, one line each.
    """

    def __init__(self, message: str, *, location: str, command: str, mismatches: list[str]) -> None:
        self.mismatches = mismatches
        super().__init__(message, location=location, command=command)
