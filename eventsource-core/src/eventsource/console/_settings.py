"""What one console serves: the store's URL, where it listens, and whether it may write."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from .._exceptions import InvalidArgumentError
from ..plugins._url import BackendURL

__all__ = ["ConsoleSettings"]


@dataclass(frozen=True)
class ConsoleSettings:
    """A console's configuration.

    ``url`` is the store's URL (text or a parsed :class:`~eventsource.plugins.BackendURL`).
    ``allow_writes`` turns on the DLQ replay/resolve and outbox retry actions; each of them
    then needs ``token`` (random by default, printed at start-up). ``projections`` names
    projections to import for DLQ replay, as ``module:attribute`` (a projection, its class,
    or a callable returning one). ``sample_interval`` is how often (seconds) lag and
    throughput are sampled for the charts; ``sample_window`` how far back (seconds) they go.
    """

    url: str | BackendURL
    host: str = "127.0.0.1"
    port: int = 8642
    allow_writes: bool = False
    token: str = field(default_factory=lambda: secrets.token_urlsafe(18), repr=False)
    projections: tuple[str, ...] = ()
    sample_interval: float = 5.0
    sample_window: float = 600.0

    def __post_init__(self) -> None:
        if not isinstance(self.port, int) or isinstance(self.port, bool):
            raise InvalidArgumentError(f"port must be an int, got {self.port!r:.40}")
        if not 0 <= self.port <= 65535:
            raise InvalidArgumentError(f"port must be from 0 to 65535, got {self.port}")
        if not self.sample_interval > 0 or not self.sample_window >= self.sample_interval:
            raise InvalidArgumentError(
                "sample_interval must be > 0 and sample_window at least sample_interval"
            )
        if len(self.token) < 16:
            raise InvalidArgumentError("the write token must be at least 16 characters")
        for spec in self.projections:
            module, sep, attribute = spec.partition(":")
            if not (module and sep and attribute):
                raise InvalidArgumentError(
                    f"a projection is given as module:attribute, got {spec!r:.80}"
                )
