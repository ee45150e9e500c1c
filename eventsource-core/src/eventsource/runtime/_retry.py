"""Retry policies: how often to retry a failing handler or publish, how long to wait, and what
to do when the attempts run out."""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from datetime import timedelta

from .._exceptions import ConfigurationError

__all__ = ["Backoff", "FailureMode", "RetryPolicy"]


class FailureMode(enum.StrEnum):
    """What a projection does with an event that still fails after every attempt.

    - ``SKIP``: park the event in the dead-letter queue and carry on ("skip and park").
    - ``STOP``: stop the projection; its checkpoint stays before the failing event, so a
      restart tries that event again.
    """

    SKIP = "skip"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff: ``initial * multiplier ** (attempt - 1)``, capped at ``maximum``,
    plus up to ``jitter`` (a fraction of the delay) of random extra wait. Seconds."""

    initial: float = 0.05
    maximum: float = 5.0
    multiplier: float = 2.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.initial < 0 or self.maximum < 0:
            raise ConfigurationError("backoff delays must be >= 0 seconds")
        if self.multiplier < 1:
            raise ConfigurationError(f"backoff multiplier must be >= 1, got {self.multiplier}")
        if not 0 <= self.jitter <= 1:
            raise ConfigurationError(f"backoff jitter must be within 0..1, got {self.jitter}")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        base = min(self.maximum, self.initial * self.multiplier ** max(0, attempt - 1))
        return base + (base * self.jitter * random.random() if self.jitter else 0.0)

    def timedelta(self, attempt: int) -> timedelta:
        """:meth:`delay` as a :class:`~datetime.timedelta`."""
        return timedelta(seconds=self.delay(attempt))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a projection handles a failing event: up to ``max_attempts`` calls with ``backoff``
    between them, then ``on_failure`` (:class:`FailureMode`)."""

    max_attempts: int = 3
    backoff: Backoff = Backoff()
    on_failure: FailureMode = FailureMode.SKIP

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise ConfigurationError("RetryPolicy.max_attempts must be an int")
        if self.max_attempts < 1:
            raise ConfigurationError(
                f"RetryPolicy.max_attempts must be >= 1, not {self.max_attempts}"
            )
        if not isinstance(self.on_failure, FailureMode):
            try:
                object.__setattr__(self, "on_failure", FailureMode(self.on_failure))
            except ValueError:
                raise ConfigurationError(
                    f"RetryPolicy.on_failure must be one of {[m.value for m in FailureMode]}, "
                    f"not {self.on_failure!r}"
                ) from None

    @classmethod
    def no_retry(cls, on_failure: FailureMode = FailureMode.SKIP) -> RetryPolicy:
        """One attempt, then ``on_failure``."""
        return cls(max_attempts=1, on_failure=on_failure)
