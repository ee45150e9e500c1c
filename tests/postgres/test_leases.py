"""PostgreSQL ownership leases: the table added within schema version 3, the server's clock,
and a fenced write that makes a takeover wait for its commit."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from uuid import uuid4

import asyncpg

from eventsource import DomainEvent, open_backend
from eventsource.spi import ProjectionLeases


class PgLeaseNoted(DomainEvent):
    event_type: str = "pgtest.LeaseNoted"


async def test_a_schema_without_the_lease_table_gets_it_on_open(
    pg_url: str, pg_schema: str, admin: asyncpg.Connection
) -> None:
    async with open_backend(pg_url):
        pass
    await admin.execute(f'DROP TABLE "{pg_schema}".projection_leases')
    async with open_backend(pg_url) as backend:
        repo = backend.checkpoints
        assert isinstance(repo, ProjectionLeases)
        assert await repo.get_leases() == []
        lease = await repo.acquire_lease("p", "owner-a", timedelta(seconds=5))
        assert lease is not None and lease.token == 1


async def test_expiry_is_judged_by_the_server_clock(
    pg_url: str, pg_schema: str, admin: asyncpg.Connection
) -> None:
    async with open_backend(pg_url) as backend:
        repo = backend.checkpoints
        assert isinstance(repo, ProjectionLeases)
        lease = await repo.acquire_lease("p", "owner-a", timedelta(seconds=30))
        assert lease is not None
        server_now = await admin.fetchval("SELECT clock_timestamp()")
        assert abs((lease.acquired_at - server_now).total_seconds()) < 30
        assert lease.expires_at - lease.acquired_at == timedelta(seconds=30)
        # Age the lease on the server: it is expired by the server's clock, not ours.
        await admin.execute(
            f'UPDATE "{pg_schema}".projection_leases SET expires_at = clock_timestamp()'
            " - interval '1 second'"
        )
        taken = await repo.acquire_lease("p", "owner-b", timedelta(seconds=30))
        assert taken is not None and taken.token == lease.token + 1


async def test_a_takeover_waits_for_a_fenced_write_in_flight(
    pg_url: str, pg_schema: str, admin: asyncpg.Connection
) -> None:
    async with open_backend(pg_url) as backend, open_backend(pg_url) as other:
        old, new = backend.checkpoints, other.checkpoints
        assert isinstance(old, ProjectionLeases) and isinstance(new, ProjectionLeases)
        aid = uuid4()
        await backend.events.append_events(aid, "PgLease", [PgLeaseNoted(aggregate_id=aid)], 0)
        (stored,) = [e async for e in backend.events.read_all()]
        lease = await old.acquire_lease("p", "owner-a", timedelta(seconds=30))
        assert lease is not None
        # Hold the lease row the way a fenced write in flight does (FOR SHARE, uncommitted).
        async with admin.transaction():
            await admin.execute(
                f'SELECT token FROM "{pg_schema}".projection_leases WHERE projection_name = $1'
                " FOR SHARE",
                "p",
            )
            takeover = asyncio.ensure_future(
                new.acquire_lease("p", "owner-b", timedelta(seconds=30), now=lease.expires_at)
            )
            async with asyncio.timeout(30):  # the takeover blocks on the row lock
                while True:
                    assert not takeover.done(), "the takeover did not wait for the fenced write"
                    # pg_stat_activity is read once per transaction unless the snapshot is
                    # cleared: without this, a first look before the takeover waits is final.
                    await admin.execute("SELECT pg_stat_clear_snapshot()")
                    waiting = await admin.fetchval(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND query LIKE $1",
                        f"%{pg_schema}%projection_leases%",
                    )
                    if waiting:
                        break
                    await asyncio.sleep(0.01)
        taken = await takeover
        assert taken is not None and taken.token > lease.token
        await new.update_checkpoint_fenced(taken, stored.event_id, stored.event_type)
        assert await new.get_position("p") == stored.global_position
