"""The Starlette app: routes, the backend's lifespan, the write guard, errors as pages.

The writes (each behind :func:`._guard.refusal`): resolve and replay a DLQ entry, give failed
outbox entries back as pending."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs
from uuid import UUID

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from .._exceptions import (
    EntryNotFoundError,
    EventSourceError,
    InvalidArgumentError,
    InvalidStateError,
)
from ..clock import SYSTEM_CLOCK, Clock
from ..migration import CopyingEventRegistry, LenientEventRegistry
from ..plugins._backend import Backend, open_backend
from ..runtime._dlq import DLQReplayer
from . import _views
from ._guard import COOKIE, refusal, token_matches
from ._html import esc, layout
from ._live import changes
from ._sampler import Sampler
from ._settings import ConsoleSettings
from ._state import ConsoleState, load_projections
from ._static import CSS, JS

__all__ = ["create_app"]

#: Scripts and styles only from the console itself: a payload that slipped through
#: escaping still could not run.
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

_STATUS = (
    (EntryNotFoundError, 404),
    (InvalidArgumentError, 400),
    (InvalidStateError, 409),
)

_LOOPBACK = ("127.0.0.1", "localhost", "::1")

Handler = Callable[[Request], Awaitable[Response]]


#: The largest form body read (a note and a token).
_MAX_FORM = 64 * 1024


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded form fields (the console's forms are nothing else; other bodies, and
    bodies over 64 KiB, read as no fields)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_FORM:
            return {}
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=20)
    except ValueError:  # too many fields
        return {}
    return {name: values[0] for name, values in fields.items()}


def create_app(
    settings: ConsoleSettings, *, backend: Backend | None = None, sampler_clock: Clock | None = None
) -> Starlette:
    """The console app for ``settings``. It serves ``backend`` when given (opened and closed
    by the caller); else it opens the store (an existing one only) when the app starts and
    closes it when it stops. ``sampler_clock`` is the clock of the chart sampler and of the live
    stream's throttle (tests)."""
    projections = load_projections(settings.projections)
    holder: dict[str, ConsoleState] = {}

    def state() -> ConsoleState:
        return holder["state"]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            opened = backend
            if opened is None:
                opened = await stack.enter_async_context(open_backend(settings.url, create=False))
            store = opened.events
            registry = store.event_registry
            store.event_registry = CopyingEventRegistry(registry)
            stack.callback(setattr, store, "event_registry", registry)
            options = {} if sampler_clock is None else {"clock": sampler_clock}
            sampler = Sampler(opened, settings.sample_interval, settings.sample_window, **options)
            holder["state"] = ConsoleState(settings, opened, sampler, registry, projections)
            sampler.start()
            try:
                yield
            finally:
                await sampler.stop()

    def html(
        request: Request, active: str, rendered: _views.Rendered, status: int = 200
    ) -> Response:
        return HTMLResponse(_views.page(state(), request, active, rendered), status, _HEADERS)

    def failed(request: Request, active: str, title: str, reason: object, code: int) -> Response:
        body = f'<p class="error" id="error">{esc(reason)}</p>'
        return html(request, active, (title, body, False), code)

    def error(request: Request, active: str, exc: EventSourceError) -> Response:
        """A library error as a page: 404, 400 or 409 for what the operator asked, else 500."""
        code = next((c for kind, c in _STATUS if isinstance(exc, kind)), 500)
        return failed(request, active, "Error", exc, code)

    def guarded(active: str, view: Callable[[Request], Awaitable[_views.Rendered]]) -> Handler:
        async def endpoint(request: Request) -> Response:
            try:
                return html(request, active, await view(request))
            except EventSourceError as exc:
                return error(request, active, exc)

        return endpoint

    async def write(
        request: Request, action: Callable[[dict[str, Any]], Awaitable[str]]
    ) -> Response:
        form = await _form(request)
        reason = refusal(request, form, allow_writes=settings.allow_writes, token=settings.token)
        if reason is not None:
            return failed(request, "", "Write refused", reason, 403)
        try:
            return RedirectResponse(await action(form), 303, _HEADERS)
        except EventSourceError as exc:
            return error(request, "", exc)

    async def resolve(request: Request) -> Response:
        dlq_id = int(request.path_params["dlq_id"])

        async def act(form: dict[str, Any]) -> str:
            note = str(form.get("note") or "").strip()
            if not note:
                raise InvalidArgumentError("resolving an entry needs a note: what was done")
            replayer = DLQReplayer(state().backend.dlq, state().backend.events)
            await replayer.resolve(dlq_id, note)
            return f"/dlq/{dlq_id}?flash=resolved"

        return await write(request, act)

    async def replay(request: Request) -> Response:
        dlq_id = int(request.path_params["dlq_id"])

        async def act(form: dict[str, Any]) -> str:
            current = state()
            entry = await current.backend.dlq.get_failed_event_by_id(dlq_id)
            if entry is None:
                raise EntryNotFoundError(f"no DLQ entry {dlq_id}")
            projection = current.projection_for(entry.projection_name)
            if projection is None:
                raise InvalidStateError(
                    f"no projection {entry.projection_name!r} loaded: start the console with "
                    "--projection module:attribute to replay its entries"
                )
            replayer = DLQReplayer(
                current.backend.dlq,
                current.backend.events,
                registry=LenientEventRegistry(current.registry),
            )
            note = str(form.get("note") or "").strip() or "replayed from the console"
            result = await replayer.replay(projection, dlq_id, resolution=note)
            return f"/dlq/{dlq_id}?flash={'replayed' if result.ok else 'replay-failed'}"

        return await write(request, act)

    async def retry_outbox(request: Request) -> Response:
        text = request.path_params.get("outbox_id")

        async def act(form: dict[str, Any]) -> str:
            outbox_id = None
            if text is not None:
                try:
                    outbox_id = UUID(text)
                except ValueError:
                    raise InvalidArgumentError(f"not an outbox entry id: {text!r:.60}") from None
            await state().backend.outbox.retry_failed(outbox_id)
            return "/outbox?status=failed&flash=retried"

        return await write(request, act)

    async def unlock(request: Request) -> Response:
        if request.method == "GET":
            return html(request, "", _views.unlock_form(state()))
        form = await _form(request)
        given = form.get("token")
        if not settings.allow_writes or not token_matches(settings.token, given):
            reason = (
                "this console is read-only"
                if not settings.allow_writes
                else "that is not the console's token"
            )
            return failed(request, "", "Write refused", reason, 403)
        response = RedirectResponse("/?flash=unlocked", 303, _HEADERS)
        response.set_cookie(COOKIE, settings.token, httponly=True, samesite="strict")
        return response

    async def live(request: Request) -> Response:
        current = state()
        store = current.backend.events
        how = (
            "notifications"
            if current.backend.capabilities.live_notifications
            else f"polling, refreshed every {settings.sample_interval:g} s"
        )

        async def stream() -> AsyncIterator[str]:
            yield f"event: hello\ndata: {how}\n\n"
            clock = sampler_clock or SYSTEM_CLOCK
            async for message in changes(store, settings.sample_interval, clock, app.state.closing):
                yield message

        return StreamingResponse(stream(), media_type="text/event-stream", headers=_HEADERS)

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name == "console.css":
            return Response(CSS, media_type="text/css")
        if name == "console.js":
            return Response(JS, media_type="text/javascript")
        return Response("not found", 404)

    async def event_page(request: Request) -> _views.Rendered:
        return await _views.event(state(), int(request.path_params["position"]))

    async def dlq_page(request: Request) -> _views.Rendered:
        return await _views.dlq_entry(state(), request, int(request.path_params["dlq_id"]))

    def view(function: Callable[[ConsoleState, Request], Awaitable[_views.Rendered]]) -> Any:
        async def call(request: Request) -> _views.Rendered:
            return await function(state(), request)

        return call

    async def not_found(request: Request, exc: Exception) -> Response:
        body = layout("Not found", "<p>No such page.</p>", active="", live=False, banner="")
        return HTMLResponse(body, 404, _HEADERS)

    # Only the names of this machine, so a page of another site whose name resolves here
    # (DNS rebinding) cannot read the console; bound elsewhere on purpose, any name.
    loopback = settings.host in _LOOPBACK
    hosts = ["127.0.0.1", "localhost", "[::1]"] if loopback else ["*"]
    routes = [
        Route("/", guarded("/", view(_views.overview))),
        Route("/streams", guarded("/streams", view(_views.streams))),
        Route("/events/{position:int}", guarded("/streams", event_page)),
        Route("/projections", guarded("/projections", view(_views.projections))),
        Route("/dlq", guarded("/dlq", view(_views.dlq_list))),
        Route("/dlq/{dlq_id:int}", guarded("/dlq", dlq_page)),
        Route("/dlq/{dlq_id:int}/resolve", resolve, methods=["POST"]),
        Route("/dlq/{dlq_id:int}/replay", replay, methods=["POST"]),
        Route("/outbox", guarded("/outbox", view(_views.outbox))),
        Route("/outbox/retry", retry_outbox, methods=["POST"]),
        Route("/outbox/{outbox_id}/retry", retry_outbox, methods=["POST"]),
        Route("/unlock", unlock, methods=["GET", "POST"]),
        Route("/live", live),
        Route("/static/{name}", static),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts)],
        exception_handlers={404: not_found},
    )
    #: Set by the server when it stops, so open live streams end instead of holding it up.
    app.state.closing = asyncio.Event()
    return app
