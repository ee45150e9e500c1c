"""The backend SPI: everything a backend author imports, in one public module.

Users never need this module; backend authors need nothing else. Our own backends (memory,
SQLite, PostgreSQL) import core only from here and from the public modules it draws on
(``eventsource.events``, ``eventsource.values``, ``eventsource.arguments``), exactly as a
third-party backend does; ``scripts/check_imports.py`` (run by ``scripts/dev.py check``) fails
on any import of a private module. Pin a range of ``eventsource-core`` and this is the surface
that range keeps.

What is here (``docs/writing-a-backend.md`` shows each in use):

- **The role contracts** a backend subclasses: :class:`EventStore`,
  :class:`CheckpointRepository`, :class:`OutboxRepository`, :class:`DLQRepository`.
- **The records and value types** they return: :class:`AppendResult`, :class:`StoredEvent`,
  :class:`CheckpointData`, :class:`OutboxEntry`, :class:`DLQEntry`, the stats, ...
- **The shared validation** that makes every backend refuse the same input with the same
  error before any I/O: :func:`prepare_append` / :func:`check_stream_version` /
  :func:`restamp` for appends, the doors of every other method (``check_get_events``,
  ``check_read_options``, ``check_limit``, ``check_dlq_id``, ...), the argument rules
  (``check_position``, ``check_uuid``, ...) and the value rules (``check_identifier``, ...).
- **Decoding** stored rows: :func:`decode_stored_event`, :func:`load_stored_document`,
  :func:`hand_out_claims`; restamping a stored document's version in its text:
  :func:`rules_for` / :func:`version_span`.
- **The plugin side**: the hook markers (:data:`hookimpl`), the specs each hook returns
  (:class:`EventStoreSpec`, ..., :class:`PublisherSpec` for outbox publishers), the
  entry-point groups, the capability flags (:class:`Capabilities`,
  :data:`CAPABILITY_NAMES`), URL parsing (:class:`BackendURL`, :func:`parse_url`) and option
  tables (:class:`OptionSpec`, :func:`read_options`), and the registry for tests.
- **The exceptions** to raise (the same classes ``eventsource`` exports).
"""

from __future__ import annotations

from dataclasses import fields

from ._event_documents import DocumentRules, rules_for, version_span
from ._exceptions import (
    AggregateNotFoundError,
    BackendNotInstalledError,
    ConfigurationError,
    ConnectionLostError,
    DatabaseLockedError,
    DuplicateEventError,
    DuplicateEventTypeError,
    EntryNotFoundError,
    EventDecodeError,
    EventSourceError,
    EventStoreError,
    InvalidArgumentError,
    InvalidBackendURLError,
    InvalidEventError,
    InvalidStateError,
    OptimisticLockError,
    PayloadTooLargeError,
    PluginConflictError,
    ProjectionStoppedError,
    ReplayError,
    RepositoryError,
    SchemaVersionError,
    SerializationError,
    StorageError,
    StorageUnavailableError,
    StoreNotFoundError,
    UnknownBackendError,
    UnknownEventTypeError,
    UnknownPublisherError,
    UpcastError,
)
from ._options import MAX_EVENT_BYTES, OptionSpec, check_keywords, read_options
from .arguments import (
    MAX_DURATION,
    MAX_POSITION,
    check_duration,
    check_moment,
    check_names,
    check_position,
    check_timeout,
    check_uuid,
)
from .events import DEFAULT_MAX_EVENT_BYTES, DomainEvent, EventRegistry, serialize_event
from .plugins._hookspecs import PROJECT_NAME, hookimpl, hookspec
from .plugins._manager import (
    ENTRY_POINT_GROUP,
    KNOWN_BACKENDS,
    PUBLISHER_ENTRY_POINT_GROUP,
    BackendInfo,
    BackendRegistry,
    BackendSpec,
    BrokenPlugin,
    get_registry,
    reset_registry,
)
from .plugins._specs import (
    Capabilities,
    CheckpointRepositorySpec,
    DLQRepositorySpec,
    EventStoreSpec,
    OutboxRepositorySpec,
    Publisher,
    PublisherSpec,
    RepositorySpec,
    same_url_store,
)
from .plugins._url import BackendURL, parse_url
from .repositories._arguments import (
    check_dlq_id,
    check_event_types,
    check_lease,
    check_older_than,
    check_outbox_id,
    check_outbox_ids,
    check_retry_after,
    check_worker_id,
)
from .repositories._checkpoint_positions import check_checkpoint_update, resolve_checkpoint_position
from .repositories._contracts import (
    DEFAULT_LEASE,
    CheckpointRepository,
    DLQRepository,
    OutboxRepository,
    check_dlq_status,
    check_limit,
    check_projection_name,
    hand_out_claims,
    load_stored_document,
    prepare_failed_event,
    storable_note,
)
from .repositories._entries import (
    CheckpointData,
    DLQEntry,
    DLQStats,
    DLQStatus,
    ErrorDetails,
    LagMetrics,
    OutboxEntry,
    OutboxStats,
    OutboxStatus,
    ProjectionFailureCount,
    RecordMapping,
)
from .stores._arguments import (
    check_event_id,
    check_get_events,
    check_get_events_by_type,
    check_read_options,
    check_stream_key,
    check_wait,
)
from .stores._contract import (
    EventStore,
    PreparedEvent,
    check_stream_version,
    prepare_append,
    restamp,
)
from .stores._decoding import decode_stored_event
from .stores._types import (
    AppendResult,
    EventStream,
    ExpectedVersion,
    ReadDirection,
    ReadOptions,
    StoredEvent,
    check_expected_version,
    parse_stream_id,
    stream_id_for,
)
from .values import (
    MAX_IDENTIFIER_LENGTH,
    MAX_INT_DIGITS,
    MAX_NESTING_DEPTH,
    MAX_VERSION,
    check_identifier,
    check_json_text,
    check_no_surrogate_keys,
    check_version,
    clean_text,
    encode_json,
    nesting_depth,
)

#: The names of the :class:`Capabilities` flags, in declaration order.
CAPABILITY_NAMES: tuple[str, ...] = tuple(f.name for f in fields(Capabilities))

__all__ = [
    "CAPABILITY_NAMES",
    "DEFAULT_LEASE",
    "DEFAULT_MAX_EVENT_BYTES",
    "ENTRY_POINT_GROUP",
    "KNOWN_BACKENDS",
    "MAX_DURATION",
    "MAX_EVENT_BYTES",
    "MAX_IDENTIFIER_LENGTH",
    "MAX_INT_DIGITS",
    "MAX_NESTING_DEPTH",
    "MAX_POSITION",
    "MAX_VERSION",
    "PROJECT_NAME",
    "PUBLISHER_ENTRY_POINT_GROUP",
    "AggregateNotFoundError",
    "AppendResult",
    "BackendInfo",
    "BackendNotInstalledError",
    "BackendRegistry",
    "BackendSpec",
    "BackendURL",
    "BrokenPlugin",
    "Capabilities",
    "CheckpointData",
    "CheckpointRepository",
    "CheckpointRepositorySpec",
    "ConfigurationError",
    "ConnectionLostError",
    "DLQEntry",
    "DLQRepository",
    "DLQRepositorySpec",
    "DLQStats",
    "DLQStatus",
    "DatabaseLockedError",
    "DocumentRules",
    "DomainEvent",
    "DuplicateEventError",
    "DuplicateEventTypeError",
    "EntryNotFoundError",
    "ErrorDetails",
    "EventDecodeError",
    "EventRegistry",
    "EventSourceError",
    "EventStore",
    "EventStoreError",
    "EventStoreSpec",
    "EventStream",
    "ExpectedVersion",
    "InvalidArgumentError",
    "InvalidBackendURLError",
    "InvalidEventError",
    "InvalidStateError",
    "LagMetrics",
    "OptimisticLockError",
    "OptionSpec",
    "OutboxEntry",
    "OutboxRepository",
    "OutboxRepositorySpec",
    "OutboxStats",
    "OutboxStatus",
    "PayloadTooLargeError",
    "PluginConflictError",
    "PreparedEvent",
    "ProjectionFailureCount",
    "ProjectionStoppedError",
    "Publisher",
    "PublisherSpec",
    "ReadDirection",
    "ReadOptions",
    "RecordMapping",
    "ReplayError",
    "RepositoryError",
    "RepositorySpec",
    "SchemaVersionError",
    "SerializationError",
    "StorageError",
    "StorageUnavailableError",
    "StoreNotFoundError",
    "StoredEvent",
    "UnknownBackendError",
    "UnknownEventTypeError",
    "UnknownPublisherError",
    "UpcastError",
    "check_checkpoint_update",
    "check_dlq_id",
    "check_dlq_status",
    "check_duration",
    "check_event_id",
    "check_event_types",
    "check_expected_version",
    "check_get_events",
    "check_get_events_by_type",
    "check_identifier",
    "check_json_text",
    "check_keywords",
    "check_lease",
    "check_limit",
    "check_moment",
    "check_names",
    "check_no_surrogate_keys",
    "check_older_than",
    "check_outbox_id",
    "check_outbox_ids",
    "check_position",
    "check_projection_name",
    "check_read_options",
    "check_retry_after",
    "check_stream_key",
    "check_stream_version",
    "check_timeout",
    "check_uuid",
    "check_version",
    "check_wait",
    "check_worker_id",
    "clean_text",
    "decode_stored_event",
    "encode_json",
    "get_registry",
    "hand_out_claims",
    "hookimpl",
    "hookspec",
    "load_stored_document",
    "nesting_depth",
    "parse_stream_id",
    "parse_url",
    "prepare_append",
    "prepare_failed_event",
    "read_options",
    "reset_registry",
    "resolve_checkpoint_position",
    "restamp",
    "rules_for",
    "same_url_store",
    "serialize_event",
    "storable_note",
    "stream_id_for",
    "version_span",
]
