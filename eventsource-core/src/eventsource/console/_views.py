"""The console's pages, each rendered on the server from the role contracts."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from .._exceptions import (
    ConfigurationError,
    EntryNotFoundError,
    EventDecodeError,
    InvalidArgumentError,
)
from ..cli._context import to_jsonable
from ..inspection import (
    LeaseInfo,
    dlq_entry_stream,
    event_at,
    inspect_store,
    outbox_overview,
    projections_overview,
    split_projection_name,
)
from ..repositories._contracts import check_outbox_status
from ..repositories._entries import DLQEntry, DLQStatus, OutboxStatus
from ..repositories._leases import ProjectionLeases
from ..runtime._undecodable import UndecodableEvent
from ..stores._types import StoredEvent, parse_stream_id
from . import _reads
from ._chart import line_chart
from ._guard import COOKIE, token_matches
from ._html import Markup, esc, layout, link, query, table
from ._state import ConsoleState

__all__ = [
    "Rendered",
    "banner",
    "dlq_entry",
    "dlq_list",
    "event",
    "outbox",
    "overview",
    "page",
    "projections",
    "streams",
    "unlock_form",
]

#: A page: its title, body markup, and whether the script refreshes it live.
Rendered = tuple[str, str, bool]

PAGE_SIZE = 50

#: The DLQ list shows at most this many entries (oldest failure first).
DLQ_LIMIT = 200

#: The outbox list shows at most this many entries (oldest first).
OUTBOX_LIMIT = 200

#: Up to this many events the overview counts events and streams (it reads them all).
COUNT_LIMIT = 2000

#: The messages a redirect after a write may show (by code, so nothing is reflected).
FLASHES = {
    "resolved": "The entry is resolved.",
    "replayed": "Replayed: the projection handled the event and the entry is resolved.",
    "replay-failed": "The replay failed again: the entry is back to failed, its error updated.",
    "unlocked": "Writes unlocked in this browser.",
    "retried": "Given back as pending: the relay publishes it again.",
}


def banner(state: ConsoleState, request: Request) -> str:
    """The header's right side: backend, URL (password masked), mode, live state."""
    backend = state.backend
    if not state.settings.allow_writes:
        mode = '<span class="ro">read-only</span>'
    else:
        unlocked = token_matches(state.settings.token, request.cookies.get(COOKIE))
        mode = (
            '<span class="rw">writes unlocked</span>'
            if unlocked
            else '<span class="rw">writes allowed (locked)</span>'
        )
    return (
        f"{esc(backend.name)} {esc(str(backend.url))} | {mode} | "
        '<span id="live-state">live: connecting</span>'
    )


def page(state: ConsoleState, request: Request, active: str, rendered: Rendered) -> str:
    """The whole document for a rendered page."""
    title, body, live = rendered
    flash = FLASHES.get(request.query_params.get("flash", ""))
    return layout(title, body, active=active, live=live, banner=banner(state, request), flash=flash)


def _int(request: Request, name: str, *, minimum: int = 0) -> int | None:
    text = request.query_params.get(name)
    if text in (None, ""):
        return None
    try:
        value = int(text)
    except ValueError:
        raise InvalidArgumentError(f"{name} must be a whole number, got {text!r:.40}") from None
    if value < minimum:
        raise InvalidArgumentError(f"{name} must be >= {minimum}, got {value}")
    return value


def _events_table(events: list[StoredEvent], *, id: str = "events") -> Markup:
    return table(
        ["Position", "Stream", "Version", "Type", "Event id", "Occurred"],
        [
            (
                link(f"/events/{e.global_position}", e.global_position),
                link(query("/streams", stream=e.stream_id), e.stream_id),
                e.stream_position,
                link(query("/streams", type=e.event_type), e.event_type),
                e.event_id,
                e.event.occurred_at,
            )
            for e in events
        ],
        id=id,
    )


def _problem(text: str | None) -> str:
    return f'<p class="error">{esc(text)}</p>' if text else ""


async def overview(state: ConsoleState, request: Request) -> Rendered:
    """The store at a glance (:func:`eventsource.inspection.inspect_store`)."""
    backend = state.backend
    status = await inspect_store(backend, count_limit=COUNT_LIMIT)
    store = status.store
    lags = [p.lag_events for p in status.projections if p.lag_events is not None]
    latest = await _reads.recent(backend.events, before=None, limit=10, event_type=None)
    cards = [
        ("global position", store.global_position),
        ("events", store.events if store.events is not None else f"> {COUNT_LIMIT:,}"),
        ("streams", store.streams if store.streams is not None else "not counted"),
        ("projections", len(status.projections)),
        ("largest lag", max(lags) if lags else "-"),
        ("DLQ open", status.dlq.open),
        ("outbox pending", status.outbox.pending),
        ("outbox failed", status.outbox.failed),
    ]
    rows = [
        (
            link("/projections", p.name),
            p.position,
            p.lag_events,
            p.state,
            link(query("/dlq", projection=p.name), p.dlq_open) if p.dlq_open else 0,
        )
        for p in status.projections
    ]
    body = (
        '<div class="cards" id="cards">'
        + "".join(
            f'<div class="card" data-card="{esc(k)}"><b>{esc(v)}</b>{esc(k)}</div>'
            for k, v in cards
        )
        + "</div>"
        + f"<p class=muted>capabilities: {esc(', '.join(store.capabilities))}</p>"
        + "<h2>Projections</h2>"
        + table(["Projection", "Position", "Lag", "State", "DLQ open"], rows, id="summary")
        + "<h2>Latest events</h2>"
        + _events_table(latest.events)
        + _problem(latest.problem)
    )
    return "Overview", body, True


def _is_stream_id(text: str) -> bool:
    try:
        parse_stream_id(text)
    except InvalidArgumentError:
        return False
    return True


def _search_form(stream: str, event_type: str) -> str:
    return (
        '<form class="inline" method="get" action="/streams" id="search">'
        f'<input name="stream" id="stream" placeholder="stream id or part of it" size="44" '
        f'value="{esc(stream)}">'
        f'<input name="type" id="type" placeholder="event type" value="{esc(event_type)}">'
        '<button type="submit" id="search-button">Search</button></form>'
    )


async def streams(state: ConsoleState, request: Request) -> Rendered:
    """The stream browser: the newest events (of a type), one stream, or a search."""
    store = state.backend.events
    stream_text = request.query_params.get("stream", "").strip()
    event_type = request.query_params.get("type", "").strip()
    before = _int(request, "before", minimum=1)
    body = _search_form(stream_text, event_type)
    if stream_text and _is_stream_id(stream_text):
        after = _int(request, "after") or 0
        result = await _reads.stream(store, stream_text, after=after, limit=PAGE_SIZE)
        events = result.events
        shown = [e for e in events if not event_type or e.event_type == event_type]
        body += (
            f"<h2>Stream {esc(stream_text)}</h2>" + _events_table(shown) + _problem(result.problem)
        )
        if len(events) == PAGE_SIZE:
            later = events[-1].stream_position
            body += link(
                query("/streams", stream=stream_text, type=event_type, after=later),
                "later events",
                id="later",
            )
        return f"Stream {stream_text}", body, False
    if stream_text:
        found, scanned = await _reads.find_streams(store, stream_text)
        body += (
            f"<h2>Streams matching {esc(stream_text)}</h2>"
            f"<p class=muted>among the newest {scanned} events</p>"
            + table(
                ["Stream"], [(link(query("/streams", stream=s), s),) for s in found], id="found"
            )
        )
        return "Streams", body, False
    page_ = await _reads.recent(store, before=before, limit=PAGE_SIZE, event_type=event_type)
    title = f"Events of type {event_type}" if event_type else "Newest events"
    body += f"<h2>{esc(title)}</h2>" + _events_table(page_.events) + _problem(page_.problem)
    older = None
    if page_.stopped_at is not None:  # go on past the undecodable row
        older = page_.stopped_at
    elif len(page_.events) == PAGE_SIZE:
        older = page_.events[-1].global_position
    if older is not None and older > 1:
        body += link(query("/streams", type=event_type, before=older), "older events", id="older")
    return "Streams", body, before is None and not page_.problem


async def event(state: ConsoleState, position: int) -> Rendered:
    """One event: where it sits and its JSON document."""
    try:
        stored = await event_at(state.backend.events, position)
    except EventDecodeError as exc:
        body = (
            f'<p class="error">This row cannot be decoded: {esc(exc)}</p>'
            f'<h2>Stored text</h2><pre id="document">{esc(exc.raw_payload, multiline=True)}</pre>'
        )
        return f"Event at {position}", body, False
    if stored is None:
        raise EntryNotFoundError(f"no event at global position {position}")
    fields = [
        ("global position", stored.global_position),
        ("stream", link(query("/streams", stream=stored.stream_id), stored.stream_id)),
        ("stream position", stored.stream_position),
        ("event type", stored.event_type),
        ("event id", stored.event_id),
        ("occurred at", stored.event.occurred_at),
        ("stored at", stored.stored_at),
    ]
    before, after = await _reads.neighbours(state.backend.events, stored)
    steps = [
        link(f"/events/{e.global_position}", f"{label} (version {e.stream_position})", id=ident)
        for e, label, ident in ((before, "previous", "previous"), (after, "next", "next"))
        if e is not None
    ]
    body = (
        "<dl>"
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in fields)
        + "</dl>"
        + (f"<p>in this stream: {' | '.join(steps)}</p>" if steps else "")
        + f'<h2>JSON</h2><pre id="document">'
        f"{esc(_reads.event_document(stored), multiline=True)}</pre>"
    )
    return f"Event {stored.global_position}", body, False


def _owners(owners: tuple[LeaseInfo, ...]) -> str:
    return ", ".join(f"{o.owner_id} (since {o.since:%H:%M:%S})" for o in owners) or "-"


async def projections(state: ConsoleState, request: Request) -> Rendered:
    """Every projection (shards grouped): checkpoint, lag, state, owners, shards, open DLQ
    entries; with charts of lag and throughput over the last minutes."""
    backend = state.backend
    position = await backend.events.get_global_position()
    found = await projections_overview(backend.checkpoints, backend.dlq)
    rows = [
        (
            p.name,
            p.position,
            p.lag_events,
            None if p.lag_seconds is None else f"{p.lag_seconds:.1f}",
            p.events_processed,
            p.state,
            _owners(p.owners),
            len(p.shards) or "-",
            link(query("/dlq", projection=p.name), p.dlq_open) if p.dlq_open else 0,
            p.updated_at,
        )
        for p in found
    ]
    shards = ""
    for p in found:
        if p.shards:
            shards += f"<h2>Shards of {esc(p.name)}</h2>" + table(
                ["Shard", "Position", "Lag", "Owner", "Lease"],
                [
                    (
                        s.name,
                        s.position,
                        s.lag_events,
                        None if s.owner is None else s.owner.owner_id,
                        None if s.owner is None else s.owner.state,
                    )
                    for s in p.shards
                ],
            )
    sampler = state.sampler
    window = state.settings.sample_window
    _, store_rate = sampler.series(None)
    charts = (
        '<h2>Over the last minutes</h2><div class="chartrow"><h3>store</h3>'
        + line_chart("appends/s", store_rate, window)
        + "</div>"
    )
    for p in found:
        lag, rate = sampler.series(p.name)
        charts += (
            f'<div class="chartrow"><h3>{esc(p.name)}</h3>'
            + line_chart("lag (events)", lag, window)
            + line_chart("throughput (events/s)", rate, window)
            + "</div>"
        )
    leases = isinstance(backend.checkpoints, ProjectionLeases)
    body = (
        f"<p class=muted>global position {esc(position)}; charts sampled every "
        f"{esc(state.settings.sample_interval)} s, kept {window / 60:g} min (in memory)</p>"
        + table(
            [
                "Projection",
                "Position",
                "Lag",
                "Lag (s)",
                "Processed",
                "State",
                "Owners",
                "Shards",
                "DLQ open",
                "Updated",
            ],
            rows,
            id="projections",
        )
        + ("" if leases else "<p class=muted>this backend keeps no ownership leases</p>")
        + shards
        + charts
    )
    return "Projections", body, True


async def dlq_list(state: ConsoleState, request: Request) -> Rendered:
    """The DLQ entries of one status (failed by default), of one projection when asked."""
    status_text = request.query_params.get("status", DLQStatus.FAILED.value)
    projection = request.query_params.get("projection") or None
    dlq = state.backend.dlq
    if projection is None:
        entries = await dlq.get_failed_events(status=status_text, limit=DLQ_LIMIT)
    else:  # the projection's own entries and its shards' (``p#k/N``)
        names = {projection} | {
            c.projection_name
            for c in await state.backend.checkpoints.get_all_checkpoints()
            if split_projection_name(c.projection_name)[0] == projection
        }
        entries = []
        for name in sorted(names):
            entries += await dlq.get_failed_events(name, status=status_text, limit=DLQ_LIMIT)
        entries = sorted(entries, key=lambda e: (e.first_failed_at, e.id))[:DLQ_LIMIT]
    stats = await state.backend.dlq.get_failure_stats()
    tabs = " | ".join(
        link(query("/dlq", status=s.value, projection=projection), f"{s.value}") for s in DLQStatus
    )
    rows = [
        (
            link(f"/dlq/{e.id}", e.id),
            link(
                query("/dlq", status=status_text, projection=e.projection_name), e.projection_name
            ),
            "undecodable" if UndecodableEvent.from_event_data(e.event_data) else "handler",
            e.event_type,
            dlq_entry_stream(e, UndecodableEvent.from_event_data(e.event_data)),
            e.retry_count,
            e.last_failed_at,
            f"{e.error_type}: {e.error_message}"[:160],
            e.status.value,
        )
        for e in entries
    ]
    body = (
        f"<p>{tabs}</p><p class=muted>{esc(stats.total_failed)} failed, "
        f"{esc(stats.total_retrying)} retrying, {esc(stats.total_resolved)} resolved</p>"
        + table(
            [
                "Id",
                "Projection",
                "Kind",
                "Event type",
                "Stream",
                "Retries",
                "Last failed",
                "Error",
                "Status",
            ],
            rows,
            id="dlq",
        )
        + (f"<p class=muted>the oldest {DLQ_LIMIT} shown</p>" if len(rows) == DLQ_LIMIT else "")
    )
    title = f"DLQ: {status_text}" + (f" of {projection}" if projection else "")
    return title, body, True


def _token_field(state: ConsoleState, request: Request) -> str:
    if token_matches(state.settings.token, request.cookies.get(COOKIE)):
        return ""
    return '<input type="password" name="token" placeholder="token" autocomplete="off">'


async def dlq_entry(state: ConsoleState, request: Request, dlq_id: int) -> Rendered:
    """One DLQ entry: its event, error and traceback, and (with writes) replay/resolve."""
    entry = await state.backend.dlq.get_failed_event_by_id(dlq_id)
    if entry is None:
        raise EntryNotFoundError(f"no DLQ entry {dlq_id}")
    poison = UndecodableEvent.from_event_data(entry.event_data)
    fields: list[tuple[str, Any]] = [
        ("status", entry.status.value),
        ("projection", entry.projection_name),
        ("kind", "undecodable event (poison)" if poison else "handler failure"),
        ("event", f"{entry.event_type} {entry.event_id}"),
        ("stream", dlq_entry_stream(entry, poison)),
        ("retries", entry.retry_count),
        ("first failed", entry.first_failed_at),
        ("last failed", entry.last_failed_at),
        ("error", f"{entry.error_type}: {entry.error_message}"),
        ("resolved", entry.resolved_at),
        ("resolution", entry.resolution),
    ]
    data = (
        poison.raw_payload
        if poison is not None
        else json.dumps(to_jsonable(entry.event_data), indent=2, sort_keys=True)
    )
    body = (
        '<dl id="entry">'
        + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in fields)
        + "</dl>"
        + _actions(state, request, entry)
        + f'<h2>Event data</h2><pre id="data">{esc(data, multiline=True)}</pre>'
        + f"<h2>Traceback</h2><pre>{esc(entry.error_stacktrace or '-', multiline=True)}</pre>"
    )
    return f"DLQ entry {entry.id}", body, False


def _actions(state: ConsoleState, request: Request, entry: DLQEntry) -> str:
    if entry.status is DLQStatus.RESOLVED:
        return ""
    if not state.settings.allow_writes:
        return "<p class=muted>read-only console: start it with --allow-writes to act</p>"
    token = _token_field(state, request)
    replay = (
        f'<form class="inline" method="post" action="/dlq/{entry.id}/replay" id="replay">'
        f'{token}<input name="note" placeholder="note (replayed)">'
        '<button type="submit">Replay</button></form>'
        if state.projection_for(entry.projection_name) is not None
        else "<p class=muted>to replay, start the console with --projection "
        f"module:attribute for {esc(entry.projection_name)}</p>"
    )
    resolve = (
        f'<form class="inline" method="post" action="/dlq/{entry.id}/resolve" id="resolve">'
        f'{token}<input name="note" placeholder="what was done" required>'
        '<button type="submit">Resolve</button></form>'
    )
    return f"<h2>Actions</h2>{replay}<br>{resolve}"


async def outbox(state: ConsoleState, request: Request) -> Rendered:
    """Outbox counts, and the entries of one status (``list_entries``: it claims none, so
    looking takes nothing from a relay); with writes, failed entries can be retried."""
    status = check_outbox_status(request.query_params.get("status", OutboxStatus.PENDING.value))
    found = await outbox_overview(state.backend.outbox)
    cards = [
        ("pending", found.pending),
        ("claimed", found.claimed),
        ("published", found.published),
        ("failed", found.failed),
        ("oldest pending", found.oldest_pending_at),
    ]
    body = (
        '<div class="cards" id="outbox-cards">'
        + "".join(
            f'<div class="card" data-card="{esc(k)}"><b>{esc(v)}</b>{esc(k)}</div>'
            for k, v in cards
        )
        + "</div><p class=muted>pending counts the claimed entries too (a relay is publishing "
        "them now)</p><p>"
        + " | ".join(link(query("/outbox", status=s.value), s.value) for s in OutboxStatus)
        + "</p>"
    )
    try:
        entries = await state.backend.outbox.list_entries(status.value, limit=OUTBOX_LIMIT)
    except ConfigurationError as exc:  # a backend without list_entries: counts only
        return "Outbox", body + f"<p class=muted>{esc(exc)}</p>", True
    retry = status is OutboxStatus.FAILED and state.settings.allow_writes
    token = _token_field(state, request) if retry else ""
    rows = [
        (
            e.id,
            e.event_type,
            f"{e.aggregate_id}:{e.aggregate_type}",
            e.created_at,
            e.retry_count,
            e.claimed_by if e.claimed_until is not None else None,
            e.published_at,
            e.last_error,
            *(
                (
                    Markup(
                        f'<form class="inline" method="post" action="/outbox/{esc(e.id)}/retry">'
                        f'{token}<button type="submit">Retry</button></form>'
                    ),
                )
                if retry
                else ()
            ),
        )
        for e in entries
    ]
    headers = ["Entry", "Event type", "Aggregate", "Created", "Retries", "Claimed by"]
    headers += ["Published", "Last error", *(["Action"] if retry else [])]
    body += f"<h2>{esc(status.value.capitalize())}</h2>" + table(headers, rows, id="outbox")
    if len(rows) == OUTBOX_LIMIT:
        body += f"<p class=muted>the oldest {OUTBOX_LIMIT} shown</p>"
    if retry and rows:
        body += (
            '<form class="inline" method="post" action="/outbox/retry" id="retry-all">'
            f'{token}<button type="submit">Retry every failed entry</button></form>'
        )
    return f"Outbox: {status.value}", body, True


def unlock_form(state: ConsoleState) -> Rendered:
    """The form that sets the token cookie for this browser."""
    if not state.settings.allow_writes:
        return "Unlock writes", "<p>This console is read-only.</p>", False
    body = (
        '<form method="post" action="/unlock" id="unlock">'
        '<input type="password" name="token" id="token" placeholder="token printed at start-up"'
        ' size="40" autocomplete="off"> <button type="submit">Unlock</button></form>'
    )
    return "Unlock writes", body, False
