"""Plugins: hook specs, the registry, backend URLs and :func:`open_backend`.

Backend plugins are found through the ``eventsource.backends`` entry-point group, outbox
publisher plugins through ``eventsource.publishers``.
"""

from .._options import MAX_EVENT_BYTES, OptionSpec, check_keywords, read_options
from ._backend import DEFAULT_URL, ENV_VAR, Backend, open_backend, resolve_url
from ._hookspecs import hookimpl, hookspec
from ._manager import (
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
from ._specs import (
    Capabilities,
    CheckpointRepositorySpec,
    DLQRepositorySpec,
    EventStoreSpec,
    OutboxRepositorySpec,
    Publisher,
    PublisherSpec,
    RepositorySpec,
)
from ._url import BackendURL, parse_url

__all__ = [
    "DEFAULT_URL",
    "ENTRY_POINT_GROUP",
    "ENV_VAR",
    "KNOWN_BACKENDS",
    "MAX_EVENT_BYTES",
    "PUBLISHER_ENTRY_POINT_GROUP",
    "Backend",
    "BackendInfo",
    "BackendRegistry",
    "BackendSpec",
    "BackendURL",
    "BrokenPlugin",
    "Capabilities",
    "CheckpointRepositorySpec",
    "DLQRepositorySpec",
    "EventStoreSpec",
    "OptionSpec",
    "OutboxRepositorySpec",
    "Publisher",
    "PublisherSpec",
    "RepositorySpec",
    "check_keywords",
    "get_registry",
    "hookimpl",
    "hookspec",
    "open_backend",
    "parse_url",
    "read_options",
    "reset_registry",
    "resolve_url",
]
