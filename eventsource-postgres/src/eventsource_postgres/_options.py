"""Store options, read from keyword arguments or a backend URL's query parameters."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from typing import Any

from eventsource._exceptions import ConfigurationError, InvalidBackendURLError
from eventsource.events import DEFAULT_MAX_EVENT_BYTES
from eventsource.plugins._url import BackendURL

__all__ = ["KNOWN_OPTIONS", "PostgresOptions", "connect_kwargs", "quote_schema"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

#: Query parameters a ``postgresql://`` URL may carry.
KNOWN_OPTIONS = frozenset(
    {
        "schema",
        "pool_min",
        "pool_max",
        "notify",
        "lock_timeout",
        "lock_warn_after",
        "poll_interval",
        "statement_cache_size",
        "command_timeout",
        "max_event_bytes",
        "group_commit",
    }
)


def quote_schema(schema: str) -> str:
    """``schema`` checked as a plain identifier and double-quoted for SQL."""
    if not isinstance(schema, str) or not _IDENT.match(schema):
        raise ConfigurationError(
            f"schema {schema!r} is not a valid PostgreSQL identifier "
            "(letters, digits and _, starting with a letter or _, at most 63 characters)"
        )
    return f'"{schema}"'


@dataclass(frozen=True, slots=True)
class PostgresOptions:
    """How a store uses its database.

    - ``schema``: the PostgreSQL schema holding the tables (one per application or tenant).
    - ``pool_min`` / ``pool_max``: size of the asyncpg pool the store opens.
    - ``notify``: send and LISTEN for notifications on append; turn off behind a
      transaction-mode pooler (``wait_for_events`` then polls).
    - ``lock_timeout``: seconds an append waits for the global-order lock before
      :class:`DatabaseLockedError`.
    - ``lock_warn_after``: seconds after which a still-waiting append logs a warning naming
      the transaction that holds the lock.
    - ``poll_interval``: seconds between position checks while waiting without notifications.
    - ``group_commit``: appends that queue while another is in flight in this store go
      together in one transaction (one lock hold, one WAL flush), each with its own outcome.
    """

    schema: str = "public"
    pool_min: int = 1
    pool_max: int = 10
    notify: bool = True
    lock_timeout: float = 30.0
    lock_warn_after: float = 5.0
    poll_interval: float = 0.5
    statement_cache_size: int = 100
    command_timeout: float | None = None
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    group_commit: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        quote_schema(self.schema)
        if self.pool_min < 0 or self.pool_max < 1 or self.pool_min > self.pool_max:
            raise ConfigurationError(
                f"pool_min={self.pool_min} / pool_max={self.pool_max}: "
                "need 0 <= min <= max and max >= 1"
            )
        if self.lock_timeout <= 0 or self.poll_interval <= 0:
            raise ConfigurationError("lock_timeout and poll_interval must be positive")

    @property
    def quoted_schema(self) -> str:
        """The schema name quoted for SQL."""
        return f'"{self.schema}"'

    @property
    def channel(self) -> str:
        """The LISTEN/NOTIFY channel of this schema."""
        return f"eventsource_{self.schema}"[:63]

    @property
    def channel_is_shared(self) -> bool:
        """True when the channel name was cut to 63 characters: other schemas whose names
        start alike notify on it too, so its positions may be theirs."""
        return len(f"eventsource_{self.schema}") > 63

    @property
    def lock_key(self) -> int:
        """Second key of the schema's advisory locks (a stable hash of its name)."""
        value = zlib.crc32(self.schema.encode())
        return value - 2**32 if value >= 2**31 else value

    @classmethod
    def from_url(cls, url: BackendURL, **overrides: Any) -> PostgresOptions:
        """Options from ``url``'s query parameters, then ``overrides``."""
        url.check_options(KNOWN_OPTIONS)
        values: dict[str, Any] = {}
        converters: dict[str, Any] = {
            "schema": str,
            "pool_min": int,
            "pool_max": int,
            "notify": bool,
            "lock_timeout": float,
            "lock_warn_after": float,
            "poll_interval": float,
            "statement_cache_size": int,
            "command_timeout": float,
            "max_event_bytes": int,
            "group_commit": bool,
        }
        for name, convert in converters.items():
            value = url.option(name, convert)
            if value is not None:
                values[name] = value
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)
        except ConfigurationError as exc:
            raise InvalidBackendURLError(f"{url}: {exc}") from None


def connect_kwargs(url: BackendURL) -> dict[str, Any]:
    """asyncpg connection arguments for ``url`` (host, port, user, password, database)."""
    if url.scheme not in ("postgresql", "postgres"):
        raise InvalidBackendURLError(f"{url} is not a postgresql:// URL")
    if url.driver not in (None, "asyncpg"):
        raise InvalidBackendURLError(
            f"{url}: driver {url.driver!r} is not supported; use postgresql:// or "
            "postgresql+asyncpg://"
        )
    kwargs: dict[str, Any] = {}
    for key, value in (
        ("host", url.host),
        ("port", url.port),
        ("user", url.username),
        ("password", url.password),
        ("database", url.database),
    ):
        if value is not None:
            kwargs[key] = value
    return kwargs
