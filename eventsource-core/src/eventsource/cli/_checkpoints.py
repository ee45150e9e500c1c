"""``eventsource checkpoints list|owners|reset``."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from .._exceptions import EntryNotFoundError
from ..repositories._leases import ProjectionLease, ProjectionLeases
from ..runtime._shards import stale_heartbeat
from ._context import Commands, Context

__all__ = ["register"]


def register(commands: Commands, parent: argparse.ArgumentParser) -> None:
    """Add the ``checkpoints`` command group."""
    checkpoints = commands.add_parser(
        "checkpoints", parents=[parent], help="projection checkpoints"
    )
    group = checkpoints.add_subparsers(
        title="checkpoints commands", metavar="COMMAND", required=True
    )
    listing = group.add_parser(
        "list",
        parents=[parent],
        help="every projection's checkpoint and lag",
        description="List each projection's checkpoint: global position, last event, "
        "events processed, and how many events it is behind.",
    )
    listing.set_defaults(handler=run_list)
    owners = group.add_parser(
        "owners",
        parents=[parent],
        help="who owns each projection (runner leases), since when",
        description="List each projection's ownership lease: the owning runner, its fencing "
        "token, since when it owns the projection, and whether the lease is live, expired or "
        "released.",
    )
    owners.set_defaults(handler=run_owners)
    reset = group.add_parser(
        "reset",
        parents=[parent],
        help="forget a projection's checkpoint (it restarts from the beginning)",
    )
    reset.add_argument("name", metavar="NAME", help="projection name")
    reset.set_defaults(handler=run_reset)


async def run_list(ctx: Context) -> int:
    """List checkpoints with their lag."""
    async with ctx.backend() as backend:
        rows = []
        for data in await backend.checkpoints.get_all_checkpoints():
            lag = await backend.checkpoints.get_lag_metrics(data.projection_name)
            rows.append((data, lag.lag_events if lag is not None else None))
    if ctx.json:
        ctx.emit_json([{**data.to_dict(), "lag_events": lag} for data, lag in rows])
        return 0
    if not rows:
        ctx.out("No checkpoints.")
        return 0
    ctx.table(
        [
            (
                d.projection_name,
                d.global_position,
                lag,
                d.events_processed,
                d.last_event_type,
                d.last_event_id,
                d.updated_at,
            )
            for d, lag in rows
        ],
        ["PROJECTION", "POSITION", "LAG", "PROCESSED", "LAST TYPE", "LAST EVENT", "UPDATED"],
    )
    return 0


def _state(lease: ProjectionLease, now: datetime) -> str:
    if lease.released_at is not None:
        return "released"
    return "live" if lease.is_live(now) else "expired"


async def run_owners(ctx: Context) -> int:
    """List the ownership leases (empty on a backend without ``projection_leases``), less
    the heartbeats of sharded workers gone for good (:func:`stale_heartbeat`)."""
    async with ctx.backend() as backend:
        repo = backend.checkpoints
        leases = await repo.get_leases() if isinstance(repo, ProjectionLeases) else []
    now = datetime.now(UTC)
    leases = [lease for lease in leases if not stale_heartbeat(lease, now)]
    if ctx.json:
        ctx.emit_json([{**lease.to_dict(), "state": _state(lease, now)} for lease in leases])
        return 0
    if not leases:
        ctx.out("No owners.")
        return 0
    ctx.table(
        [
            (x.projection_name, x.owner_id, _state(x, now), x.token, x.acquired_at, x.expires_at)
            for x in leases
        ],
        ["PROJECTION", "OWNER", "STATE", "TOKEN", "SINCE", "EXPIRES"],
    )
    return 0


async def run_reset(ctx: Context) -> int:
    """Reset one checkpoint; an unknown name is an error."""
    name = ctx.args.name
    async with ctx.backend() as backend:
        data = await backend.checkpoints.get_checkpoint_data(name)
        if data is None:
            raise EntryNotFoundError(f"no checkpoint for projection {name!r}")
        await backend.checkpoints.reset_checkpoint(name)
    if ctx.json:
        ctx.emit_json({"reset": name, "was_at": data.global_position})
    else:
        ctx.out(f"Reset checkpoint {name!r} (was at global position {data.global_position}).")
    return 0
