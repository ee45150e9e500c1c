"""Projection ownership leases: one owner per projection across processes and machines.

A checkpoint repository that also subclasses :class:`ProjectionLeases` lets a runner own its
projection for a while (a lease), renew it, and give it back. Guarantees (checked by
:class:`eventsource.testing.LeaseConformance`):

- **One live owner.** Of any number of connections calling :meth:`acquire_lease` at once for
  a projection that no one owns, exactly one gets a lease; the others get None until the
  lease is released or expires.
- **Fencing tokens only grow.** Each new owner's lease carries a token larger than every
  earlier owner's of that projection (the lease row is kept when released, so the count
  survives); renewing keeps the token.
- **A deposed owner writes nothing.** :meth:`update_checkpoint_fenced` checks, in the same
  transaction as the checkpoint write, that the lease's token is still the projection's
  current one, and raises :class:`OwnershipLostError` (writing nothing) once a newer owner
  exists: no checkpoint is written by an owner after its successor's lease was granted.

Time: ``now`` (a timezone-aware datetime) is the moment the backend judges expiry by; None
takes the backend's own clock (the database server's on PostgreSQL, so machines with skewed
clocks agree). Tests pass a clock's time instead of sleeping.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from .._exceptions import InvalidArgumentError
from ..arguments import check_duration, check_moment, check_position
from ..values import check_identifier
from ._entries import RecordMapping

__all__ = [
    "ProjectionLease",
    "ProjectionLeases",
    "check_lease_request",
    "check_lease_token",
    "check_owner_id",
    "check_projection_lease",
]


@dataclass(frozen=True, slots=True)
class ProjectionLease(RecordMapping):
    """Who owns a projection, since when, until when, and under which fencing token.

    ``acquired_at`` is when this owner's lease began (kept across renewals); ``expires_at``
    when it runs out unless renewed; ``released_at`` is set once the owner gave it back.
    """

    projection_name: str
    owner_id: str
    token: int
    acquired_at: datetime
    renewed_at: datetime
    expires_at: datetime
    released_at: datetime | None = None

    def is_live(self, at: datetime) -> bool:
        """True while the lease is neither released nor expired at ``at``."""
        return self.released_at is None and self.expires_at > at


def check_owner_id(owner_id: object) -> str:
    """An owner id: an identifier (:func:`eventsource.values.check_identifier`)."""
    return check_identifier(owner_id, "owner_id")


def check_lease_token(token: object) -> int:
    """A fencing token: an int from 1 to 2**63 - 1."""
    return check_position(token, "token", minimum=1)


def check_lease_request(
    projection_name: object, owner_id: object, ttl: object, now: object
) -> tuple[str, str, timedelta, datetime | None]:
    """``acquire_lease`` / ``renew_lease`` arguments checked before any I/O; shared by every
    backend. ``ttl`` must be a timedelta longer than 0."""
    name = check_identifier(projection_name, "projection_name")
    owner = check_owner_id(owner_id)
    duration = check_duration(ttl, "ttl")
    if duration <= timedelta(0):
        raise InvalidArgumentError(f"ttl must be longer than 0, got {duration}")
    moment = None if now is None else check_moment(now, "now")
    return name, owner, duration, moment


def check_projection_lease(lease: object) -> ProjectionLease:
    """``lease`` if it is a :class:`ProjectionLease`; :class:`InvalidArgumentError` else."""
    if not isinstance(lease, ProjectionLease):
        raise InvalidArgumentError(
            f"lease must be a ProjectionLease (from acquire_lease), got {type(lease).__name__}"
        )
    return lease


def lease_acquired(
    current: ProjectionLease | None,
    projection_name: str,
    owner_id: str,
    ttl: timedelta,
    now: datetime,
) -> ProjectionLease | None:
    """The lease :meth:`ProjectionLeases.acquire_lease` grants given the ``current`` one (None
    if the projection never had one), or None when another owner's is live. For backends that
    decide in Python under their own lock or transaction (memory, SQLite)."""
    if current is None:
        return ProjectionLease(projection_name, owner_id, 1, now, now, now + ttl)
    if current.is_live(now):
        if current.owner_id != owner_id:
            return None
        return ProjectionLease(
            projection_name, owner_id, current.token, current.acquired_at, now, now + ttl
        )
    return ProjectionLease(projection_name, owner_id, current.token + 1, now, now, now + ttl)


def lease_renewed(
    current: ProjectionLease | None, lease: ProjectionLease, ttl: timedelta, now: datetime
) -> ProjectionLease | None:
    """The renewed lease, or None when ``lease`` is no longer ``current`` (see
    :meth:`ProjectionLeases.renew_lease`)."""
    if not _same_grant(current, lease):
        return None
    assert current is not None
    return ProjectionLease(
        current.projection_name,
        current.owner_id,
        current.token,
        current.acquired_at,
        now,
        now + ttl,
    )


def lease_released(
    current: ProjectionLease | None, lease: ProjectionLease, now: datetime
) -> ProjectionLease | None:
    """The released lease, or None when ``lease`` is no longer ``current``."""
    if not _same_grant(current, lease):
        return None
    assert current is not None
    return ProjectionLease(
        current.projection_name,
        current.owner_id,
        current.token,
        current.acquired_at,
        current.renewed_at,
        min(current.expires_at, now),
        now,
    )


def lease_forgettable(
    current: ProjectionLease | None, lease: ProjectionLease, expired_before: datetime | None
) -> bool:
    """True when :meth:`ProjectionLeases.forget_lease` deletes the ``current`` row: it is
    still ``lease``'s grant (owner and token) and was released, or expired at or before
    ``expired_before``."""
    if current is None or current.token != lease.token or current.owner_id != lease.owner_id:
        return False
    if current.released_at is not None:
        return True
    return expired_before is not None and current.expires_at <= expired_before


def _same_grant(current: ProjectionLease | None, lease: ProjectionLease) -> bool:
    return (
        current is not None
        and current.released_at is None
        and current.token == lease.token
        and current.owner_id == lease.owner_id
    )


class ProjectionLeases(abc.ABC):
    """Ownership leases of projections, kept beside their checkpoints (see the module)."""

    @abc.abstractmethod
    async def acquire_lease(
        self,
        projection_name: str,
        owner_id: str,
        ttl: timedelta,
        *,
        now: datetime | None = None,
    ) -> ProjectionLease | None:
        """Own ``projection_name`` for ``ttl``, or None while another owner's lease is live.

        Granted when no one holds the projection, its lease expired or was released (a new,
        larger token), or ``owner_id`` holds it already (the same token, renewed).
        """

    @abc.abstractmethod
    async def renew_lease(
        self, lease: ProjectionLease, ttl: timedelta, *, now: datetime | None = None
    ) -> ProjectionLease | None:
        """Extend ``lease`` to ``now + ttl``; None when its token is no longer the current one
        (a newer owner took over, or it was released). An expired lease nobody took over is
        renewed: its token is still current."""

    @abc.abstractmethod
    async def release_lease(self, lease: ProjectionLease, *, now: datetime | None = None) -> bool:
        """Give ``lease`` back at once, so a standby can take over; False when its token was no
        longer current (nothing changed)."""

    @abc.abstractmethod
    async def forget_lease(
        self, lease: ProjectionLease, *, expired_before: datetime | None = None
    ) -> bool:
        """Delete ``lease``'s row when it is still that grant (owner and token) and was
        released, or expired at or before ``expired_before``; False (nothing changed) else.

        The token count of the name starts again at 1 afterwards, so this is for leases
        nothing is fenced by (a sharded runner's worker heartbeats), never a projection's.
        """

    @abc.abstractmethod
    async def get_leases(self) -> list[ProjectionLease]:
        """The latest lease of every projection that ever had one (live, expired or released),
        by projection name: who owns what since when."""

    async def get_lease(self, projection_name: str) -> ProjectionLease | None:
        """The projection's latest lease (live or not), or None if it never had one."""
        name = check_identifier(projection_name, "projection_name")
        return next(
            (lease for lease in await self.get_leases() if lease.projection_name == name), None
        )

    @abc.abstractmethod
    async def update_checkpoint_fenced(
        self,
        lease: ProjectionLease,
        event_id: UUID,
        event_type: str,
        global_position: int | None = None,
    ) -> None:
        """:meth:`CheckpointRepository.update_checkpoint` for ``lease.projection_name``,
        refused with :class:`OwnershipLostError` (writing nothing) when ``lease.token`` is no
        longer the projection's current token; the check and the write are one transaction.
        """
