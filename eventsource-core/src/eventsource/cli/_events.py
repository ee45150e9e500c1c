"""``eventsource events tail``: print events in global order, optionally following."""

from __future__ import annotations

import argparse
import asyncio

from ..stores._contract import EventStore
from ..stores._types import ReadDirection, ReadOptions, StoredEvent
from ._context import Commands, Context

__all__ = ["register"]


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, not {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, not {value}")
    return value


def register(commands: Commands, parent: argparse.ArgumentParser) -> None:
    """Add the ``events`` command group."""
    events = commands.add_parser("events", parents=[parent], help="read events")
    group = events.add_subparsers(title="events commands", metavar="COMMAND", required=True)
    tail = group.add_parser(
        "tail",
        parents=[parent],
        help="print events in global order",
        description="Print events as: global position, stream, event type, event id. "
        "Without --from, the last --limit events; with --from N, events after position N.",
    )
    tail.add_argument(
        "--from",
        dest="from_position",
        type=_non_negative,
        metavar="N",
        help="start after global position N (exclusive)",
    )
    tail.add_argument(
        "--limit", type=_non_negative, default=20, metavar="N", help="events to list (20)"
    )
    tail.add_argument(
        "-f", "--follow", action="store_true", help="keep printing new events as they arrive"
    )
    tail.add_argument(
        "--idle-timeout",
        type=_positive_float,
        metavar="SECONDS",
        help="with --follow, stop after this long without a new event",
    )
    tail.set_defaults(handler=run_tail)


def _show(ctx: Context, stored: StoredEvent) -> None:
    if ctx.json:
        ctx.emit_json_line(
            {
                "global_position": stored.global_position,
                "stream_id": stored.stream_id,
                "stream_position": stored.stream_position,
                "event_type": stored.event_type,
                "event_id": stored.event_id,
                "occurred_at": stored.event.occurred_at,
            }
        )
    else:
        ctx.out(
            f"{stored.global_position:>8}  {stored.stream_id}  {stored.event_type}  "
            f"{stored.event_id}"
        )


async def run_tail(ctx: Context) -> int:
    """List (and follow) events."""
    args = ctx.args
    async with ctx.backend() as backend:
        store = ctx.lenient(backend).events
        if args.from_position is None:
            options = ReadOptions(direction=ReadDirection.BACKWARD, limit=args.limit)
            page = [s async for s in store.read_all(options)][::-1]
            position = page[-1].global_position if page else await store.get_global_position()
        else:
            options = ReadOptions(from_position=args.from_position, limit=args.limit)
            page = [s async for s in store.read_all(options)]
            position = page[-1].global_position if page else args.from_position
        for stored in page:
            _show(ctx, stored)
        if args.follow:
            await _follow(ctx, store, position, args.idle_timeout)
    return 0


async def _follow(ctx: Context, store: EventStore, position: int, idle: float | None) -> None:
    loop = asyncio.get_running_loop()
    last_seen = loop.time()
    while True:
        wait = 1.0 if idle is None else max(0.0, min(1.0, last_seen + idle - loop.time()))
        if await store.wait_for_events(position, wait):
            async for stored in store.read_all(ReadOptions(from_position=position)):
                _show(ctx, stored)
                position = stored.global_position
            last_seen = loop.time()
        elif idle is not None and loop.time() - last_seen >= idle:
            return
