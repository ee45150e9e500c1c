"""Store options, read from keyword arguments or a backend URL's query parameters."""

from __future__ import annotations

import dataclasses
import re
import zlib
from dataclasses import dataclass, field
from typing import Any

from eventsource.spi import (
    MAX_EVENT_BYTES,
    BackendURL,
    ConfigurationError,
    InvalidBackendURLError,
    OptionSpec,
    check_keywords,
    read_options,
)

__all__ = ["KNOWN_OPTIONS", "OPTION_SPECS", "PostgresOptions", "connect_kwargs", "quote_schema"]

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

#: Seconds PostgreSQL's ``lock_timeout`` can hold (its limit is 2**31 - 1 milliseconds).
_MAX_SECONDS = (2**31 - 1) // 1000

#: Every option of a ``postgresql://`` URL (and keyword of the store), with type and range.
OPTION_SPECS: tuple[OptionSpec, ...] = (
    OptionSpec("schema", str, "public", help="the PostgreSQL schema holding the tables"),
    OptionSpec("pool_min", int, 1, minimum=0, maximum=10_000, help="connections kept open"),
    OptionSpec("pool_max", int, 10, minimum=1, maximum=10_000, help="largest pool size"),
    OptionSpec("notify", bool, True, help="NOTIFY on append and LISTEN while waiting"),
    OptionSpec(
        "lock_timeout",
        float,
        30.0,
        minimum=0,
        exclusive_minimum=True,
        maximum=_MAX_SECONDS,
        unit="seconds",
        help="how long an append waits for the global-order lock",
    ),
    OptionSpec(
        "lock_warn_after",
        float,
        5.0,
        minimum=0,
        exclusive_minimum=True,
        maximum=_MAX_SECONDS,
        unit="seconds",
        help="when a still-waiting append logs who holds the lock",
    ),
    OptionSpec(
        "poll_interval",
        float,
        0.5,
        minimum=0,
        exclusive_minimum=True,
        maximum=3600,
        unit="seconds",
        help="position checks while waiting without notifications",
    ),
    OptionSpec(
        "statement_cache_size",
        int,
        100,
        minimum=0,
        maximum=100_000,
        help="asyncpg prepared statements cached per connection (0: off)",
    ),
    OptionSpec(
        "command_timeout",
        float,
        None,
        minimum=0,
        exclusive_minimum=True,
        maximum=_MAX_SECONDS,
        nullable=True,
        unit="seconds",
        help="asyncpg's per-statement timeout (default: none)",
    ),
    OptionSpec(
        "connect_timeout",
        float,
        5.0,
        minimum=0,
        exclusive_minimum=True,
        maximum=3600,
        unit="seconds",
        help="how long opening each connection may take before StorageUnavailableError",
    ),
    OptionSpec(
        "random_page_cost",
        float,
        1.1,
        minimum=0,
        exclusive_minimum=True,
        maximum=1000,
        nullable=True,
        help="the planner's random_page_cost on the store's own connections (default 1.1, "
        "for a log that is mostly cached: filtered reads then use the event-type index; "
        "4 is PostgreSQL's default)",
    ),
    # jsonb's limit: a larger document cannot be stored
    dataclasses.replace(MAX_EVENT_BYTES, maximum=268_435_455),
    OptionSpec("group_commit", bool, True, help="appends queued together share a transaction"),
)

#: The specs by name.
SPEC = {spec.name: spec for spec in OPTION_SPECS}

#: Query parameters a ``postgresql://`` URL may carry.
KNOWN_OPTIONS = frozenset(SPEC)


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
    - ``connect_timeout``: seconds opening one connection may take (asyncpg's own default is
      60); a server that does not answer in time is a :class:`StorageUnavailableError`.
    - ``random_page_cost``: the planner setting on the store's own pool (1.1: the log is read
      in index order and mostly cached, so a filtered read scans the event-type index instead
      of walking the whole log; ``None``, from Python, leaves the server's setting, 4 by
      default).

    Types and ranges are in :data:`OPTION_SPECS`; a bad value is a :class:`ConfigurationError`
    naming the option.
    """

    schema: str = SPEC["schema"].default
    pool_min: int = SPEC["pool_min"].default
    pool_max: int = SPEC["pool_max"].default
    notify: bool = SPEC["notify"].default
    lock_timeout: float = SPEC["lock_timeout"].default
    lock_warn_after: float = SPEC["lock_warn_after"].default
    poll_interval: float = SPEC["poll_interval"].default
    statement_cache_size: int = SPEC["statement_cache_size"].default
    command_timeout: float | None = SPEC["command_timeout"].default
    max_event_bytes: int = SPEC["max_event_bytes"].default
    group_commit: bool = SPEC["group_commit"].default
    connect_timeout: float = SPEC["connect_timeout"].default
    random_page_cost: float | None = SPEC["random_page_cost"].default
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for spec in OPTION_SPECS:
            object.__setattr__(self, spec.name, spec.check(getattr(self, spec.name)))
        quote_schema(self.schema)
        if self.pool_min > self.pool_max:
            raise ConfigurationError(
                f"pool_min={self.pool_min} / pool_max={self.pool_max}: need min <= max"
            )

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
        values = {k: v for k, v in read_options(url, OPTION_SPECS).items() if k in url.options}
        keywords = {k: v for k, v in overrides.items() if v is not None}
        values.update(check_keywords(keywords, OPTION_SPECS))
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
