"""Conformance of projection ownership leases: one live owner, growing fencing tokens, and no
checkpoint written under a superseded lease (races between real connections)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from .._exceptions import InvalidArgumentError, OwnershipLostError
from ..repositories._leases import ProjectionLease, ProjectionLeases
from ._base import ConformanceBase, race, raise_unexpected, read_all_list
from ._events import AGGREGATE_TYPE, noted
from ._roles import RoleBackend, RoleOpener

__all__ = ["LeaseConformance"]

_TTL = timedelta(seconds=5)
#: A fixed moment the tests judge expiry by (``now=``): no test waits on wall time.
_T0 = datetime(2030, 1, 1, tzinfo=UTC)


def _leases(backend: RoleBackend) -> Any:
    repo = backend.checkpoints
    assert isinstance(repo, ProjectionLeases), (
        f"backend {backend.name!r} declares projection_leases, but its checkpoint repository "
        f"{type(repo).__name__} is not a ProjectionLeases: subclass it and implement the "
        "lease methods, or turn the capability off"
    )
    return repo


class LeaseConformance(ConformanceBase):
    """Ownership leases of projections (capability ``projection_leases``)."""

    async def test_lease_acquire_renew_release(self, backend: RoleBackend) -> None:
        """A free projection is granted; another owner is refused while the lease is live;
        the same owner gets the same token back; renewing moves the expiry and keeps the
        token; a released lease is taken at once by another owner with a larger token; and
        get_leases / get_lease show who owns what since when.

        Fix: keep one row per projection (owner, token, acquired/renewed/expires/released
        times) and decide each call in one transaction or statement on that row.
        """
        self.require(backend, "projection_leases")
        repo = _leases(backend)
        a = await repo.acquire_lease("kit-p", "owner-a", _TTL, now=_T0)
        assert isinstance(a, ProjectionLease)
        assert (a.projection_name, a.owner_id) == ("kit-p", "owner-a")
        assert a.token >= 1 and a.acquired_at == _T0 and a.expires_at == _T0 + _TTL
        assert a.released_at is None and a.is_live(_T0)
        assert await repo.acquire_lease("kit-p", "owner-b", _TTL, now=_T0 + _TTL / 2) is None
        again = await repo.acquire_lease("kit-p", "owner-a", _TTL, now=_T0 + _TTL / 2)
        assert again is not None and again.token == a.token and again.acquired_at == _T0
        renewed = await repo.renew_lease(a, _TTL, now=_T0 + _TTL)
        assert renewed is not None and renewed.token == a.token
        assert renewed.expires_at == _T0 + 2 * _TTL and renewed.acquired_at == _T0
        assert await repo.release_lease(renewed, now=_T0 + _TTL)
        assert not await repo.release_lease(renewed, now=_T0 + _TTL), "released twice"
        assert await repo.renew_lease(renewed, _TTL, now=_T0 + _TTL) is None
        b = await repo.acquire_lease("kit-p", "owner-b", _TTL, now=_T0 + _TTL)
        assert b is not None and b.token > a.token and b.owner_id == "owner-b"
        other = await repo.acquire_lease("kit-q", "owner-a", _TTL, now=_T0)
        assert other is not None
        listed = await repo.get_leases()
        assert [(x.projection_name, x.owner_id, x.token) for x in listed] == [
            ("kit-p", "owner-b", b.token),
            ("kit-q", "owner-a", other.token),
        ]
        assert listed[0].acquired_at == _T0 + _TTL and listed[0].expires_at == b.expires_at
        assert await repo.get_lease("kit-p") == listed[0]
        assert await repo.get_lease("kit-none") is None

    async def test_race_one_lease_holder(
        self, backend: RoleBackend, kit_opener: RoleOpener
    ) -> None:
        """N connections acquire one free projection at once, each as its own owner: exactly
        one gets a lease; then, the lease expired, N connections race again and exactly one
        gets it, with a larger token.

        Fix: decide under the row's lock (``INSERT ... ON CONFLICT DO UPDATE ... WHERE``, a
        ``BEGIN IMMEDIATE`` transaction), never read-then-write in separate steps.
        """
        self.require(backend, "projection_leases")
        async with self.connections(kit_opener, backend) as conns:
            first = await race(
                [
                    _leases(c).acquire_lease("kit-p", f"owner-{i}", _TTL, now=_T0)
                    for i, c in enumerate(conns)
                ]
            )
            raise_unexpected(first, ())
            granted = [r for r in first if isinstance(r, ProjectionLease)]
            assert len(granted) == 1, f"{len(granted)} of {len(conns)} owners got the lease"
            later = _T0 + 2 * _TTL
            second = await race(
                [
                    _leases(c).acquire_lease("kit-p", f"next-{i}", _TTL, now=later)
                    for i, c in enumerate(conns)
                ]
            )
            raise_unexpected(second, ())
            taken = [r for r in second if isinstance(r, ProjectionLease)]
            assert len(taken) == 1, f"{len(taken)} of {len(conns)} owners took the lease over"
            assert taken[0].token > granted[0].token
        current = await _leases(backend).get_lease("kit-p")
        assert current is not None and current.owner_id == taken[0].owner_id

    async def test_expired_lease_taken_over_with_larger_token(self, backend: RoleBackend) -> None:
        """A lease that was not renewed is taken over once it expires (not before), with a
        larger token; the old owner can then neither renew nor release it.

        Fix: grant when ``expires_at <= now`` and bump the token; renew and release only
        while the caller's token is the current one.
        """
        self.require(backend, "projection_leases")
        repo = _leases(backend)
        a = await repo.acquire_lease("kit-p", "owner-a", _TTL, now=_T0)
        assert a is not None
        early = _T0 + _TTL - timedelta(milliseconds=1)
        assert await repo.acquire_lease("kit-p", "owner-b", _TTL, now=early) is None
        b = await repo.acquire_lease("kit-p", "owner-b", _TTL, now=_T0 + _TTL)
        assert b is not None and b.token > a.token
        assert await repo.renew_lease(a, _TTL, now=_T0 + _TTL) is None
        assert not await repo.release_lease(a, now=_T0 + _TTL)
        a2 = await repo.acquire_lease("kit-p", "owner-a", _TTL, now=_T0 + 2 * _TTL)
        assert a2 is not None and a2.token > b.token, "a returning owner gets a new token"

    async def test_stale_token_checkpoint_write_refused(self, backend: RoleBackend) -> None:
        """update_checkpoint_fenced writes under the current lease and raises
        OwnershipLostError (writing nothing) under a superseded one.

        Fix: check the lease row's token in the same transaction (or statement) as the
        checkpoint upsert, and raise OwnershipLostError when it differs.
        """
        self.require(backend, "projection_leases")
        repo = _leases(backend)
        aid = uuid4()
        await backend.events.append_events(aid, AGGREGATE_TYPE, noted(aid, 3), 0)
        stored = await read_all_list(backend)
        a = await repo.acquire_lease("kit-p", "owner-a", _TTL, now=_T0)
        assert a is not None
        e1, e2, e3 = stored
        await repo.update_checkpoint_fenced(a, e1.event_id, e1.event_type, e1.global_position)
        assert await repo.get_position("kit-p") == e1.global_position
        b = await repo.acquire_lease("kit-p", "owner-b", _TTL, now=_T0 + _TTL)
        assert b is not None
        with pytest.raises(OwnershipLostError) as caught:
            await repo.update_checkpoint_fenced(a, e3.event_id, e3.event_type, e3.global_position)
        assert caught.value.token == a.token and caught.value.projection_name == "kit-p"
        assert await repo.get_position("kit-p") == e1.global_position, "a stale write landed"
        await repo.update_checkpoint_fenced(b, e2.event_id, e2.event_type)
        assert await repo.get_position("kit-p") == e2.global_position
        never = ProjectionLease("kit-never", "owner-a", 1, _T0, _T0, _T0 + _TTL)
        with pytest.raises(OwnershipLostError):
            await repo.update_checkpoint_fenced(never, e3.event_id, e3.event_type)
        assert await repo.get_checkpoint_data("kit-never") is None

    async def test_race_fenced_writes_against_takeover(
        self, backend: RoleBackend, kit_opener: RoleOpener
    ) -> None:
        """An owner keeps writing fenced checkpoints on one connection while another
        connection takes the projection over: once the takeover returns, the checkpoint the
        new owner reads is final; every later write of the old owner is refused.

        Fix: make the fence check and the write atomic against the takeover (a row lock
        ``FOR SHARE`` on the lease row in the checkpoint statement, or one writer lock), so a
        write cannot commit after a successor's lease was granted.
        """
        self.require(backend, "projection_leases")
        aid = uuid4()
        await backend.events.append_events(aid, AGGREGATE_TYPE, noted(aid, 200), 0)
        stored = await read_all_list(backend)
        async with self.connections(kit_opener, backend, 2) as (old, new):
            a = await _leases(old).acquire_lease("kit-p", "owner-a", _TTL, now=_T0)
            assert a is not None
            refused = asyncio.Event()
            started = asyncio.Event()
            written: list[int] = []

            async def keep_writing() -> None:
                try:
                    for event in stored:
                        try:
                            await _leases(old).update_checkpoint_fenced(
                                a, event.event_id, event.event_type, event.global_position
                            )
                        except OwnershipLostError:
                            refused.set()
                            return
                        written.append(event.global_position)
                        if len(written) == 5:
                            started.set()
                        await asyncio.sleep(0)
                finally:
                    started.set()

            writer = asyncio.ensure_future(keep_writing())
            await started.wait()
            b = await _leases(new).acquire_lease("kit-p", "owner-b", _TTL, now=_T0 + _TTL)
            assert b is not None
            seen = await _leases(new).get_position("kit-p")
            await writer
        assert refused.is_set(), "the deposed owner wrote every checkpoint"
        assert await _leases(backend).get_position("kit-p") == seen, (
            "a checkpoint was written under the old lease after the takeover returned"
        )
        assert written and seen == written[-1]

    async def test_forget_lease_deletes_only_a_gone_grant(self, backend: RoleBackend) -> None:
        """forget_lease deletes a lease's row only while it is still that grant (owner and
        token) and was released, or expired at or before ``expired_before``: a live lease,
        a lease expired later, or one a newer owner took over stays listed.

        Fix: delete in one transaction or statement on the row, under the same condition.
        """
        self.require(backend, "projection_leases")
        repo = _leases(backend)
        a = await repo.acquire_lease("kit-p", "owner-a", _TTL, now=_T0)
        assert a is not None
        assert not await repo.forget_lease(a), "a live lease was forgotten"
        assert not await repo.forget_lease(a, expired_before=_T0 + _TTL / 2)
        b = await repo.acquire_lease("kit-p", "owner-b", _TTL, now=_T0 + _TTL)
        assert b is not None
        assert not await repo.forget_lease(a, expired_before=_T0 + 9 * _TTL), "a newer grant"
        assert await repo.forget_lease(b, expired_before=_T0 + 2 * _TTL)
        assert await repo.get_lease("kit-p") is None
        c = await repo.acquire_lease("kit-p", "owner-c", _TTL, now=_T0)
        assert c is not None and await repo.release_lease(c, now=_T0)
        other = await repo.acquire_lease("kit-q", "owner-c", _TTL, now=_T0)
        assert other is not None
        assert await repo.forget_lease(c), "a released lease stays"
        assert not await repo.forget_lease(c), "forgotten twice"
        assert [x.projection_name for x in await repo.get_leases()] == ["kit-q"]

    async def test_lease_bad_arguments(self, backend: RoleBackend) -> None:
        """A ttl that is not a positive timedelta, an owner id or projection name outside the
        identifier rules, a naive ``now`` or a lease that is no ProjectionLease raise
        InvalidArgumentError before any I/O; nothing is granted.

        Fix: call ``check_lease_request`` / ``check_projection_lease`` (eventsource.spi)
        first in every lease method.
        """
        self.require(backend, "projection_leases")
        repo = _leases(backend)
        bad: list[tuple[Any, ...]] = [
            ("kit-p", "owner-a", timedelta(0), _T0),
            ("kit-p", "owner-a", 5, _T0),
            ("kit-p", "", _TTL, _T0),
            ("", "owner-a", _TTL, _T0),
            ("kit-p", "owner-a", _TTL, datetime(2030, 1, 1)),
        ]
        for name, owner, ttl, now in bad:
            with pytest.raises(InvalidArgumentError):
                await repo.acquire_lease(name, owner, ttl, now=now)
        lease = ProjectionLease("kit-p", "owner-a", 1, _T0, _T0, _T0 + _TTL)
        for call in (
            repo.renew_lease("kit-p", _TTL),
            repo.release_lease(object()),
            repo.forget_lease(object()),
            repo.forget_lease(lease, expired_before=datetime(2030, 1, 1)),
        ):
            with pytest.raises(InvalidArgumentError):
                await call
        assert await repo.get_leases() == []
