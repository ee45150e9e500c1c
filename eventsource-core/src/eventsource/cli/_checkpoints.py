"""``eventsource checkpoints list|owners|reset``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer

from .._exceptions import EntryNotFoundError
from ._checks import at_least
from ._command import command
from ._confirm import confirmed
from ._context import Context

if TYPE_CHECKING:
    from ..repositories._leases import ProjectionLease
    from ..stores._contract import EventStore

__all__ = ["register"]

group = typer.Typer(no_args_is_help=True, help="projection checkpoints")
YES_HELP = "do not ask (needed without a terminal)"


def register(app: typer.Typer) -> None:
    """Add the ``checkpoints`` command group."""
    app.add_typer(group, name="checkpoints")


@command(
    group,
    "list",
    help="every projection's checkpoint and lag",
    description="List each projection's checkpoint: global position, how many events it is "
    "behind, events processed, the last event and when it was written.",
)
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


@command(
    group,
    "owners",
    help="who owns each projection (runner leases), since when",
    description="List each projection's ownership lease: the owning runner, its fencing "
    "token, since when it owns the projection, and whether the lease is live, expired or "
    "released.",
)
async def run_owners(ctx: Context) -> int:
    """List the ownership leases (empty on a backend without ``projection_leases``), less
    the heartbeats of sharded workers gone for good (:func:`stale_heartbeat`)."""
    from ..repositories._leases import ProjectionLeases
    from ..runtime._shards import stale_heartbeat

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


@command(
    group,
    "reset",
    help="move a projection's checkpoint back (to the start, or --to a position)",
    description="Forget projection NAME's checkpoint, so its runner starts again from the "
    "beginning; with --to N, set it to global position N instead (the events after N are "
    "handled again). Asks first; --yes skips the question (and is needed without a "
    "terminal). Stop the projection's runners first.",
)
async def run_reset(
    ctx: Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="projection name")],
    to: Annotated[
        int | None,
        typer.Option(
            "--to", callback=at_least(0), metavar="POSITION", help="the global position to set"
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help=YES_HELP)] = False,
) -> int:
    """Reset one checkpoint; an unknown name is an error."""
    async with ctx.backend() as backend:
        repo = backend.checkpoints
        data = await repo.get_checkpoint_data(name)
        if data is None:
            raise EntryNotFoundError(f"no checkpoint for projection {name!r}")
        target = None if not to else await _event_at(ctx.lenient(backend).events, to)
        where = f"global position {to}" if to else "the beginning"
        question = f"Reset {name!r} (at global position {data.global_position}) to {where}?"
        if not confirmed(question, yes=yes):
            return ctx.error(
                f"not reset: confirm with --yes to reset {name!r} to {where}", "refused", 1
            )
        if target is not None and to:  # one write: never without a checkpoint in between
            await repo.move_checkpoint(name, target[0], target[1], to)
        else:
            await repo.reset_checkpoint(name)
    if ctx.json:
        ctx.emit_json({"reset": name, "was_at": data.global_position, "now_at": to or None})
    else:
        ctx.out(
            f"Reset checkpoint {name!r} (was at global position {data.global_position}) to {where}."
        )
    return 0


async def _event_at(store: EventStore, position: int) -> tuple[UUID, str]:
    """The id and type of the event at ``position`` (an undecodable row's too); an error when
    none is there."""
    from .._exceptions import EventDecodeError
    from ..inspection import event_at

    try:
        stored = await event_at(store, position)
    except EventDecodeError as exc:
        if exc.global_position == position and exc.event_id is not None:
            return UUID(str(exc.event_id)), exc.event_type
        raise
    if stored is None:
        raise EntryNotFoundError(f"no event at global position {position}")
    return stored.event_id, stored.event_type
