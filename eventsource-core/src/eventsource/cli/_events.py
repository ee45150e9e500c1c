"""``eventsource events list|tail|show`` and ``eventsource stream ID``.

Rows are printed as aligned columns (a Rich table): as soon as a page of them is read, so an
undecodable row stops the command after every event before it, naming the row's position.
With ``--json`` each event is one line of JSON (``list``/``tail``), one document (``show``,
``stream``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import typer

from .._exceptions import EntryNotFoundError, EventDecodeError
from ._checks import INT64_MAX, at_least, more_than
from ._command import command
from ._context import Context, to_jsonable
from ._safe_text import safe_text

if TYPE_CHECKING:
    from ..stores._contract import EventStore
    from ..stores._types import ReadOptions, StoredEvent

__all__ = ["register"]

group = typer.Typer(no_args_is_help=True, help="read events: list and filter, tail, show one")

HEADERS = ["POSITION", "STREAM", "VERSION", "TYPE", "EVENT ID", "OCCURRED"]
#: Rows are printed (and flushed) in pages of this many.
PAGE = 200

Limit = Annotated[
    int, typer.Option("--limit", callback=at_least(0), metavar="N", help="events to list")
]
Follow = Annotated[
    bool, typer.Option("-f", "--follow", help="keep printing new events as they arrive")
]
IdleTimeout = Annotated[
    float | None,
    typer.Option(
        "--idle-timeout",
        callback=more_than(0),
        metavar="SECONDS",
        help="with --follow, stop after this long without a new event",
    ),
]


def register(app: typer.Typer) -> None:
    """Add the ``events`` group and the ``stream`` command."""
    app.add_typer(group, name="events")
    command(
        app,
        "stream",
        help="one stream: its events with versions and payloads",
        description="Show stream STREAM (its id, '<aggregate id>:<aggregate type>', or the "
        "aggregate id and TYPE): each event's version, global position, type, id, time and "
        "payload.",
    )(run_stream)


def _moment(text: str | None, option: str) -> datetime | None:
    """An ISO 8601 time; without a zone it is UTC."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO 8601 time (2026-01-31T12:00:00+00:00)", param_hint=option
        ) from None
    value = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:59-01:00 is past the end of time in UTC
        raise typer.BadParameter(
            f"{text!r} is outside the range of times in UTC", param_hint=option
        ) from None
    return value


def _record(stored: StoredEvent) -> dict[str, Any]:
    return {
        "global_position": stored.global_position,
        "stream_id": stored.stream_id,
        "stream_position": stored.stream_position,
        "event_type": stored.event_type,
        "event_id": stored.event_id,
        "occurred_at": stored.event.occurred_at,
    }


def _row(stored: StoredEvent) -> tuple[Any, ...]:
    return (
        stored.global_position,
        stored.stream_id,
        stored.stream_position,
        stored.event_type,
        stored.event_id,
        stored.event.occurred_at,
    )


class _Printer:
    """Prints events in pages: aligned rows (the header once), or JSON lines."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.page: list[StoredEvent] = []
        self.header = True

    def add(self, stored: StoredEvent) -> None:
        if self.ctx.json:
            self.ctx.emit_json_line(_record(stored))
            return
        self.page.append(stored)
        if len(self.page) >= PAGE:
            self.flush()

    def flush(self) -> None:
        if self.page:
            self.ctx.table([_row(s) for s in self.page], HEADERS, header=self.header)
            self.header, self.page = False, []


def _decode_failure(ctx: Context, exc: EventDecodeError, again: str) -> int:
    if exc.global_position is None:
        raise exc
    hint = (
        "the events before it were printed; to go on after it: "
        f"eventsource {again} --from {exc.global_position}"
    )
    return ctx.fail(exc, hint=hint)


@command(
    group,
    "list",
    help="events in global order, filtered",
    description="List events in global order: by stream, type, tenant, time and position. "
    "--from N starts after global position N, --to N stops at N; --since/--until bound the "
    "events' time (ISO 8601, UTC when no zone is given). At most --limit events (20); "
    "--follow then keeps printing the new ones that match (not with --to).",
)
async def run_list(
    ctx: Context,
    stream: Annotated[
        str | None,
        typer.Option(
            "--stream", metavar="ID", help="only this stream (its id, or the aggregate id)"
        ),
    ] = None,
    event_type: Annotated[
        list[str] | None,
        typer.Option("--type", metavar="TYPE", help="only events of this type (repeatable)"),
    ] = None,
    tenant: Annotated[
        UUID | None, typer.Option("--tenant", metavar="UUID", help="only this tenant's events")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", metavar="TIME", help="occurred at or after TIME")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", metavar="TIME", help="occurred at or before TIME")
    ] = None,
    from_position: Annotated[
        int | None,
        typer.Option(
            "--from", callback=at_least(0), metavar="N", help="after global position N (exclusive)"
        ),
    ] = None,
    to_position: Annotated[
        int | None,
        typer.Option(
            "--to", callback=at_least(0), metavar="N", help="up to global position N (inclusive)"
        ),
    ] = None,
    limit: Limit = 20,
    follow: Follow = False,
    idle_timeout: IdleTimeout = None,
) -> int:
    """List (and follow) the events that match."""
    from ..stores._types import ReadOptions

    options = ReadOptions(
        from_position=from_position,
        from_timestamp=_moment(since, "--since"),
        to_timestamp=_moment(until, "--until"),
        tenant_id=tenant,
        event_types=tuple(event_type) if event_type else None,
    )
    wanted = _stream_filter(stream)
    printer = _Printer(ctx)
    shown = 0
    if follow and to_position is not None:
        raise typer.BadParameter("--follow goes on past any position", param_hint="--to")
    async with ctx.backend() as backend:
        store = ctx.lenient(backend).events
        position = from_position or 0
        head = await store.get_global_position()
        try:
            async for stored in _matching(store, options, stream):
                if to_position is not None and stored.global_position > to_position:
                    break
                if shown >= limit:
                    break
                position = stored.global_position
                if wanted(stored):
                    printer.add(stored)
                    shown += 1
            printer.flush()
            if follow:  # then the events stored from now on
                position = max(position, head)
                await _follow(store, options, position, idle_timeout, printer, wanted)
        except EventDecodeError as exc:
            printer.flush()
            return _decode_failure(ctx, exc, "events list")
    if not ctx.json and not shown and not follow:
        ctx.out("No events.")
    return 0


def _matching(
    store: EventStore, options: ReadOptions, stream: str | None
) -> AsyncIterator[StoredEvent]:
    """The events to list: of one stream when a whole stream id is given (read through
    ``read_stream``, not the whole log), else of the log."""
    if stream is not None and ":" in stream:
        return _of_stream(store, stream, options)
    return store.read_all(options)


async def _of_stream(
    store: EventStore, stream_id: str, options: ReadOptions
) -> AsyncIterator[StoredEvent]:
    from dataclasses import replace

    after = options.from_position or 0  # a global position; read_stream's is a version
    async for stored in store.read_stream(stream_id, replace(options, from_position=None)):
        if stored.global_position > after:
            yield stored


def _stream_filter(stream: str | None) -> Callable[[StoredEvent], bool]:
    if stream is None:
        return lambda stored: True
    return lambda stored: stored.stream_id == stream or stored.stream_id.startswith(f"{stream}:")


@command(
    group,
    "tail",
    help="the last events, in global order",
    description="Print events as: global position, stream, version, type, event id, time. "
    "Without --from, the last --limit events; with --from N, events after position N.",
)
async def run_tail(
    ctx: Context,
    from_position: Annotated[
        int | None,
        typer.Option(
            "--from", callback=at_least(0), metavar="N", help="start after global position N"
        ),
    ] = None,
    limit: Limit = 20,
    follow: Follow = False,
    idle_timeout: IdleTimeout = None,
) -> int:
    """Print (and follow) events, each page as it is read; stop at an undecodable one."""
    from ..stores._types import ReadOptions

    printer = _Printer(ctx)
    async with ctx.backend() as backend:
        store = ctx.lenient(backend).events
        try:
            after = from_position
            if after is None:
                after = await _window_start(store, limit)
            position = after
            async for stored in store.read_all(ReadOptions(from_position=after, limit=limit)):
                printer.add(stored)
                position = stored.global_position
            printer.flush()
            if follow:
                await _follow(store, ReadOptions(), position, idle_timeout, printer)
        except EventDecodeError as exc:
            printer.flush()
            return _decode_failure(ctx, exc, "events tail")
    return 0


async def _window_start(store: EventStore, limit: int) -> int:
    """The position to read forward from (exclusive) to get the last ``limit`` events.

    Found reading backward; an undecodable row there counts as one of the events (the forward
    read stops at it) and the search goes on before it."""
    from ..stores._types import ReadDirection, ReadOptions

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


async def _follow(
    store: EventStore,
    options: ReadOptions,
    position: int,
    idle: float | None,
    printer: _Printer,
    wanted: Callable[[StoredEvent], bool] = lambda stored: True,
) -> None:
    from dataclasses import replace

    loop = asyncio.get_running_loop()
    last_seen = loop.time()
    while True:
        wait = 1.0 if idle is None else max(0.0, min(1.0, last_seen + idle - loop.time()))
        if await store.wait_for_events(position, wait):
            # everything up to the head is readable now: read it, then go on after the head
            # (a filter may leave the newest events out, so the last one read is not it)
            head = await store.get_global_position()
            async for stored in store.read_all(replace(options, from_position=position)):
                if wanted(stored):
                    printer.add(stored)
                position = stored.global_position
            printer.flush()
            position = max(position, head)
            last_seen = loop.time()
        elif idle is not None and loop.time() - last_seen >= idle:
            return


def _document(stored: StoredEvent) -> dict[str, Any]:
    """One stored event as JSON: where it is, and the event as stored (its payload too)."""
    return {
        **_record(stored),
        "stored_at": stored.stored_at,
        "event": stored.event.model_dump(mode="json"),
    }


async def _scan(store: EventStore, after: int = 0) -> AsyncIterator[StoredEvent]:
    from ..stores._types import ReadOptions

    async for stored in store.read_all(ReadOptions(from_position=after)):
        yield stored


@command(
    group,
    "show",
    help="one event as JSON, by global position or event id",
    description="Print one event as JSON: its global position, stream, version and the "
    "event as stored (payload and metadata). EVENT is a global position or an event id. "
    "An undecodable event is shown as its "
    "stored text.",
)
async def run_show(
    ctx: Context,
    event: Annotated[str, typer.Argument(metavar="EVENT", help="global position or event id")],
) -> int:
    """Find one event and print it."""
    from ..inspection import event_at

    position: int | None = None
    event_id: UUID | None = None
    if event.isdigit():
        position = int(event)
        if position > INT64_MAX:
            raise typer.BadParameter(
                f"a global position is at most {INT64_MAX} (2**63 - 1), not {event}",
                param_hint="EVENT",
            )
    else:
        try:
            event_id = UUID(event)
        except ValueError:
            raise typer.BadParameter(
                f"{event!r} is neither a global position nor an event id", param_hint="EVENT"
            ) from None
    async with ctx.backend() as backend:
        store = ctx.lenient(backend).events
        if event_id is not None:  # one lookup by the id's index, then one read
            position = await store.get_event_position(event_id)
        try:
            found = await event_at(store, position) if position else None
        except EventDecodeError as exc:
            if exc.global_position == position:
                ctx.emit_json(_undecodable(exc))
                return 0
            raise
    if found is None:
        raise EntryNotFoundError(f"no event {event}")
    ctx.emit_json(_document(found))
    return 0


def _undecodable(exc: EventDecodeError) -> dict[str, Any]:
    return {
        "global_position": exc.global_position,
        "stream_id": exc.stream_id,
        "stream_position": exc.stream_position,
        "event_type": exc.event_type,
        "event_id": exc.event_id,
        "undecodable": str(exc.__cause__ or exc),
        "raw_payload": exc.raw_payload,
    }


_ENVELOPE = frozenset(
    {
        "event_id",
        "event_type",
        "event_version",
        "occurred_at",
        "aggregate_id",
        "aggregate_type",
        "aggregate_version",
        "tenant_id",
        "actor_id",
        "correlation_id",
        "causation_id",
        "metadata",
    }
)


async def run_stream(
    ctx: Context,
    stream: Annotated[str, typer.Argument(metavar="STREAM", help="stream id, or the aggregate id")],
    aggregate_type: Annotated[
        str | None, typer.Argument(metavar="TYPE", help="the aggregate type")
    ] = None,
) -> int:
    """Print one stream with versions and payloads."""
    from .._exceptions import InvalidArgumentError
    from ..stores._types import parse_stream_id

    stream_id = f"{stream}:{aggregate_type}" if aggregate_type else stream
    try:
        parse_stream_id(stream_id if ":" in stream_id else f"{stream_id}:Aggregate")
    except InvalidArgumentError:
        raise typer.BadParameter(
            f"{stream_id!r:.120} is neither a stream id ('<aggregate id>:<aggregate type>') "
            "nor an aggregate id (a UUID)",
            param_hint="STREAM",
        ) from None
    events: list[StoredEvent] = []
    async with ctx.backend() as backend:
        store = ctx.lenient(backend).events
        if ":" not in stream_id:  # an aggregate id alone: find its stream
            async for stored in _scan(store):
                if stored.stream_id.startswith(f"{stream_id}:"):
                    stream_id = stored.stream_id
                    break
        async for stored in store.read_stream(stream_id):
            events.append(stored)
    if not events:
        raise EntryNotFoundError(f"no stream {stream_id!r} (or it has no events)")
    if ctx.json:
        ctx.emit_json(
            {
                "stream_id": stream_id,
                "version": events[-1].stream_position,
                "events": [_document(s) for s in events],
            }
        )
        return 0
    ctx.fields([("stream", stream_id), ("version", events[-1].stream_position)])
    for stored in events:
        ctx.out()
        ctx.out(
            f"v{stored.stream_position}  #{stored.global_position}  "
            f"{safe_text(stored.event_type)}  {stored.event_id}  "
            f"{stored.event.occurred_at.isoformat(timespec='seconds')}"
        )
        data = stored.event.model_dump(mode="json")
        payload = {k: v for k, v in data.items() if k not in _ENVELOPE}
        if data.get("metadata"):
            payload["metadata"] = data["metadata"]
        for line in json.dumps(to_jsonable(payload), indent=2, sort_keys=True).splitlines():
            ctx.out(f"    {line}")
    return 0
