"""``eventsource events tail``: print events in global order, optionally following.

Each event is printed (and flushed) as it is read, so a large window shows at once and an
undecodable row stops the command after every event before it, naming the row's position.
"""

from __future__ import annotations

import argparse
import asyncio

from .._exceptions import EventDecodeError
from ..stores._contract import EventStore
from ..stores._types import ReadDirection, ReadOptions, StoredEvent
from ._context import Commands, Context
from ._safe_text import safe_text

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
            f"{stored.global_position:>8}  {safe_text(stored.stream_id)}  "
            f"{safe_text(stored.event_type)}  {safe_text(stored.event_id)}"
        )


async def run_tail(ctx: Context) -> int:
    """Print (and follow) events, each as it is read; stop at an undecodable one."""
    args = ctx.args
    async with ctx.backend() as backend:
        store = ctx.lenient(backend).events
        try:
            after = args.from_position
            if after is None:
                after = await _window_start(store, args.limit)
            position = after
            async for stored in store.read_all(ReadOptions(from_position=after, limit=args.limit)):
                _show(ctx, stored)
                position = stored.global_position
            if args.follow:
                await _follow(ctx, store, position, args.idle_timeout)
        except EventDecodeError as exc:
            if exc.global_position is None:
                raise
            hint = (
                "the events before it were printed; to go on after it: "
                f"eventsource events tail --from {exc.global_position}"
            )
            return ctx.fail(exc, hint=hint)
    return 0


async def _window_start(store: EventStore, limit: int) -> int:
    """The position to read forward from (exclusive) to get the last ``limit`` events.

    Found reading backward; an undecodable row there counts as one of the events (the forward
    read stops at it) and the search goes on before it."""
    start, before, remaining = await store.get_global_position() + 1, None, limit
    while remaining:
        backward = ReadOptions(ReadDirection.BACKWARD, from_position=before, limit=remaining)
        try:
            async for stored in store.read_all(backward):
                start, remaining = stored.global_position, remaining - 1
            break
        except EventDecodeError as exc:
            if exc.global_position is None:
                raise
            start = before = exc.global_position
            remaining -= 1
    return start - 1


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
