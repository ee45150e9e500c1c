"""The console over HTTP, served by a real subprocess over a real SQLite file: pages, the
write guard (403 without the token, nothing changed), escaping, bad input, live updates."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

from eventsource import open_backend
from eventsource.repositories import DLQStatus

from .conftest import COMMAND, Console
from .model import HOSTILE, ConsoleItemAdded, Seeded


def fetch(
    url: str,
    *,
    data: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], str]:
    """GET (or POST ``data``) without following redirects: status, headers, body."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    body = None if data is None else urllib.parse.urlencode(data).encode()
    request = urllib.request.Request(url, data=body, headers=headers or {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), exc.read().decode()


def dlq_status(url: str, dlq_id: int) -> tuple[DLQStatus, str | None]:
    """The entry's status and resolution, read from the store directly."""

    async def read() -> tuple[DLQStatus, str | None]:
        async with open_backend(url, create=False) as backend:
            entry = await backend.dlq.get_failed_event_by_id(dlq_id)
            assert entry is not None
            return entry.status, entry.resolution

    return asyncio.run(read())


def outbox_claimable(url: str) -> int:
    """How many outbox entries a relay could claim now (claimed, then released)."""

    async def claim() -> int:
        async with open_backend(url, create=False) as backend:
            claimed = await backend.outbox.get_pending_events(100, worker_id="probe")
            for entry in claimed:
                await backend.outbox.release(entry.id)
            return len(claimed)

    return asyncio.run(claim())


def test_pages_render_and_payloads_show_as_text(
    sqlite_store: tuple[str, Seeded], console_factory: Callable[..., Console]
) -> None:
    url, seeded = sqlite_store
    console = console_factory(url)
    assert "read-only" in "".join(console.lines) and console.token is None
    for path in ("/", "/streams", "/projections", "/dlq", "/outbox"):
        status, headers, body = fetch(console.url(path))
        assert status == 200, (path, body)
        assert "script-src 'self'" in headers["content-security-policy"]
    _, _, body = fetch(console.url(f"/events/{seeded.hostile_position}"))
    assert "<script>document" not in body and "<img src=x" not in body
    # its stream's first event: a next (version 2), no previous
    next_link = f'<a href="/events/{seeded.hostile_position + 1}" id="next">next (version 2)</a>'
    assert next_link in body and 'id="previous"' not in body
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in body
    _, _, body = fetch(console.url("/dlq"))
    assert HOSTILE not in body and "&lt;img src=x onerror=alert(1)&gt;" in body
    _, _, body = fetch(console.url("/"))
    assert 'data-card="global position"><b>18</b>' in body
    _, _, body = fetch(console.url("/outbox"))
    assert 'data-card="pending"><b>2</b>' in body and 'data-card="failed"><b>1</b>' in body
    assert body.split('id="outbox"')[1].count("<tr><td>") == 2
    _, _, body = fetch(console.url("/outbox?status=failed"))
    assert str(seeded.failed_outbox) in body and "broker refused: &lt;script&gt;" in body
    assert "Retry" not in body  # read-only
    assert outbox_claimable(url) == 2  # looking claimed nothing: a relay still gets both
    _, _, body = fetch(console.url("/projections"))
    assert "<td>orders</td><td>13</td><td>5</td>" in body  # position, lag
    assert "<svg" in body and "lag (events)" in body
    assert "<td>emails</td><td>18</td><td>0</td>" in body and "worker-a (since " in body
    # the sharded projection: one row (lowest position, largest lag), its shards below
    assert "<td>search</td><td>10</td><td>8</td>" in body and "Shards of search" in body
    assert "<td>search#0/2</td><td>18</td><td>0</td><td>worker-b</td><td>running</td>" in body
    assert "<td>search#1/2</td><td>10</td><td>8</td><td>-</td><td>-</td>" in body


def test_read_only_console_refuses_every_write(
    sqlite_store: tuple[str, Seeded], console_factory: Callable[..., Console]
) -> None:
    url, seeded = sqlite_store
    console = console_factory(url)
    dlq_id = seeded.dlq_ids["resolve"]
    for path in (f"/dlq/{dlq_id}/resolve", f"/dlq/{dlq_id}/replay", "/unlock"):
        status, _, body = fetch(
            console.url(path), data={"note": "x", "token": "a" * 24}, headers={}
        )
        assert status == 403 and "read-only" in body, path
    assert dlq_status(url, dlq_id) == (DLQStatus.FAILED, None)


def test_writes_need_the_token(
    sqlite_store: tuple[str, Seeded], console_factory: Callable[..., Console]
) -> None:
    url, seeded = sqlite_store
    console = console_factory(url, allow_writes=True, cli=True)  # `eventsource console`
    assert console.token is not None and len(console.token) >= 16
    dlq_id = seeded.dlq_ids["resolve"]
    resolve = console.url(f"/dlq/{dlq_id}/resolve")
    refused = [
        ({"note": "fixed"}, {}),
        ({"note": "fixed", "token": console.token[:-1] + "?"}, {}),
        ({"note": "fixed"}, {"X-Console-Token": "not-the-token-at-all"}),
        ({"note": "fixed"}, {"Cookie": "es_console_token=guessed-token-value"}),
        # the right token from another site's page: refused
        ({"note": "fixed", "token": console.token}, {"Origin": "http://evil.example"}),
    ]
    for data, headers in refused:
        status, _, body = fetch(resolve, data=data, headers=headers)
        assert status == 403, (data, headers, body)
    status, _, _ = fetch(console.url("/unlock"), data={"token": "wrong-token-wrong-token"})
    assert status == 403
    assert dlq_status(url, dlq_id) == (DLQStatus.FAILED, None)
    # a note is required: a typed refusal (400) that changes nothing
    status, _, body = fetch(resolve, data={"note": " "}, headers={"X-Console-Token": console.token})
    assert status == 400 and "needs a note" in body
    assert dlq_status(url, dlq_id) == (DLQStatus.FAILED, None)
    status, headers, _ = fetch(
        resolve, data={"note": "fixed"}, headers={"X-Console-Token": console.token}
    )
    assert status == 303 and headers["location"] == f"/dlq/{dlq_id}?flash=resolved"
    assert dlq_status(url, dlq_id) == (DLQStatus.RESOLVED, "fixed")
    # resolving twice is refused (409) and keeps the first note
    status, _, body = fetch(
        resolve, data={"note": "again"}, headers={"X-Console-Token": console.token}
    )
    assert status == 409 and "already resolved" in body
    assert dlq_status(url, dlq_id) == (DLQStatus.RESOLVED, "fixed")
    # retrying a failed outbox entry: the same guard, then it is pending again
    retry = console.url(f"/outbox/{seeded.failed_outbox}/retry")
    assert fetch(retry, data={})[0] == 403
    assert fetch(retry, data={"token": "wrong-token-wrong-token"})[0] == 403
    assert outbox_claimable(url) == 2
    status, headers, _ = fetch(retry, data={"token": console.token})
    assert status == 303 and headers["location"] == "/outbox?status=failed&flash=retried"
    assert outbox_claimable(url) == 3
    status, _, body = fetch(retry, data={"token": console.token})  # no longer failed: 409
    assert status == 409
    status, _, body = fetch(console.url("/outbox/nope/retry"), data={"token": console.token})
    assert status == 400 and "not an outbox entry id" in body
    # the unlock form sets an HttpOnly, SameSite=Strict cookie holding the token
    status, headers, _ = fetch(console.url("/unlock"), data={"token": console.token})
    assert status == 303
    cookie = headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()


def test_bad_input_is_a_typed_error_page(
    sqlite_store: tuple[str, Seeded], console_factory: Callable[..., Console]
) -> None:
    url, _ = sqlite_store
    console = console_factory(url)
    cases = {
        "/streams?before=abc": (400, "whole number"),
        "/streams?before=0": (400, "before must be"),
        "/streams?after=-1&stream=" + urllib.parse.quote(f"{uuid4()}:Order"): (400, "after must"),
        "/events/999999": (404, "no event at global position 999999"),
        "/dlq/424242": (404, "no DLQ entry 424242"),
        f"/events/{2**63}": (400, f"global position must be from 1 to {2**63 - 1}"),
        f"/dlq/{2**63}": (400, "dlq_id must be from 1"),
        "/events/0": (400, "global position must be from 1"),
        "/streams?type=%00": (400, "NUL character"),
        "/dlq?status=lost": (400, "status"),
        "/nowhere": (404, "No such page"),
    }
    for path, (code, text) in cases.items():
        status, _, body = fetch(console.url(path))
        assert status == code and text in body, (path, status, body[-400:])
    # a Host header naming another site (DNS rebinding) is refused
    status, _, _ = fetch(console.url("/"), headers={"Host": "evil.example"})
    assert status == 400


def test_stream_search_by_id_and_type(
    sqlite_store: tuple[str, Seeded], console_factory: Callable[..., Console]
) -> None:
    url, seeded = sqlite_store
    console = console_factory(url)
    _, _, body = fetch(
        console.url("/streams?" + urllib.parse.urlencode({"stream": seeded.hostile_stream}))
    )
    assert body.count('<a href="/events/') == 3
    part = seeded.hostile_stream[:8]
    _, _, body = fetch(console.url(f"/streams?stream={part}"))
    assert seeded.hostile_stream in body and body.count('<tr><td><a href="/streams?stream=') == 1
    _, _, body = fetch(console.url("/streams?type=consoletest.OrderPlaced"))
    assert body.count("consoletest.OrderPlaced</a>") == 6
    assert "consoletest.ItemAdded</a>" not in body


def test_a_long_stream_pages_and_a_piece_with_a_colon_is_a_search(
    sqlite_store: tuple[str, Seeded], console_factory: Callable[..., Console]
) -> None:
    url, seeded = sqlite_store
    aggregate_id = uuid4()

    async def append() -> None:
        async with open_backend(url, create=False) as backend:
            events = [
                ConsoleItemAdded(aggregate_id=aggregate_id, sku=f"s{v}", aggregate_version=v)
                for v in range(1, 56)
            ]
            await backend.events.append_events(aggregate_id, "ConsoleOrder", events, 0)

    asyncio.run(append())
    console = console_factory(url)
    stream = f"{aggregate_id}:ConsoleOrder"
    _, _, body = fetch(console.url("/streams?" + urllib.parse.urlencode({"stream": stream})))
    assert body.count('<a href="/events/') == 50 and 'id="later"' in body
    later = urllib.parse.urlencode({"stream": stream, "after": 50})
    _, _, body = fetch(console.url(f"/streams?{later}"))
    assert body.count('<a href="/events/') == 5 and 'id="later"' not in body
    assert "<td>51</td>" in body and "<td>55</td>" in body
    # "<piece>:Cons" is no stream id: the streams whose id contains it
    piece = seeded.hostile_stream[24:41]
    assert ":" in piece
    _, _, body = fetch(console.url("/streams?" + urllib.parse.urlencode({"stream": piece})))
    assert "Streams matching" in body and seeded.hostile_stream in body


def test_live_endpoint_says_how_it_updates(
    sqlite_store: tuple[str, Seeded], console_factory: Callable[..., Console]
) -> None:
    url, _ = sqlite_store
    console = console_factory(url)
    with urllib.request.urlopen(console.url("/live"), timeout=10) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.readline() == b"event: hello\n"
        assert response.readline().startswith(b"data: polling")
        response.readline()
        assert response.readline() == b"event: change\n"


def test_a_missing_store_is_one_line_and_an_exit_code(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing.db'}"
    for argv, code in (
        ([str(COMMAND), "console", "--url", url, "--port", "0"], 5),
        ([sys.executable, "-m", "eventsource.console", "--url", url, "--port", "0"], 5),
        ([str(COMMAND), "console", "--url", "nope://x", "--port", "0"], 4),
    ):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        assert done.returncode == code, (argv, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "missing.db").exists()


def test_a_taken_port_names_the_address(sqlite_store: tuple[str, Seeded]) -> None:
    import socket

    url, _ = sqlite_store
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        argv = [str(COMMAND), "--json", "console", "--url", url, "--port", str(port)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    assert done.returncode == 6 and "Traceback" not in done.stderr
    error = json.loads(done.stderr)
    assert error["code"] == "unavailable"
    assert error["error"].startswith(f"cannot listen on 127.0.0.1:{port}: "), error


def test_an_undecodable_row_shows_as_a_note_and_its_stored_text(
    sqlite_store: tuple[str, Seeded], console_factory: Callable[..., Console]
) -> None:
    from eventsource.testing import RawEventRow
    from raw_events import write_raw_event

    url, _ = sqlite_store
    payload = '{"not": "an event", "x": "<script>alert(2)</script>"'  # cut short: no JSON

    async def write() -> int:
        async with open_backend(url, create=False) as backend:
            row = RawEventRow(uuid4(), "ConsoleOrder", 1, "consoletest.Broken", 1, payload)
            return await write_raw_event(backend, row)

    position = asyncio.run(write())
    console = console_factory(url)
    status, _, body = fetch(console.url("/streams"))  # the newest first: the row stops it
    assert status == 200 and f"global position {position}" in body and "cannot be decoded" in body
    assert f'href="/streams?before={position}" id="older"' in body  # the way on past it
    _, _, body = fetch(console.url(f"/streams?before={position}"))
    assert body.count('<a href="/events/') == 18 and "cannot be decoded" not in body
    status, _, body = fetch(console.url(f"/events/{position}"))
    assert status == 200 and "This row cannot be decoded" in body
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in body and "<script>alert(2)" not in body
    _, _, body = fetch(console.url(f"/events/{position - 1}"))  # its neighbour still opens
    assert 'id="document"' in body and "consoletest.ItemAdded" in body


def test_dlq_of_one_projection_takes_in_its_shards(
    sqlite_store: tuple[str, Seeded], console_factory: Callable[..., Console]
) -> None:
    url, _ = sqlite_store

    async def park() -> int:
        async with open_backend(url, create=False) as backend:
            event = [e async for e in backend.events.read_all()][9]
            data = event.event.model_dump(mode="json")
            return await backend.dlq.add_failed_event(
                event.event_id, "search#1/2", event.event_type, data, error="shard failed"
            )

    shard_entry = asyncio.run(park())
    console = console_factory(url)
    _, _, body = fetch(console.url("/dlq?projection=search"))
    assert "DLQ: failed of search" in body and body.count('<a href="/dlq/') == 1
    assert f'<a href="/dlq/{shard_entry}">' in body and "search#1/2" in body
    _, _, body = fetch(console.url("/dlq?projection=orders"))
    assert body.count('<a href="/dlq/') == 2 and "emails" not in body.split("<tbody>")[1]
    _, _, body = fetch(console.url("/"))  # the overview links each projection's open entries
    assert '<a href="/dlq?projection=search">1</a>' in body


def test_a_missing_browser_fails_the_browser_tests_under_ci() -> None:
    """Under CI=true a missing chromium is an error naming the apt-get line, not a skip."""
    test = "tests/console/test_browser.py::test_browse_search_and_open_an_event"
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "CI": "true", "EVENTSOURCE_CHROMIUM": "/nonexistent/chromium"}
    argv = [sys.executable, "-m", "pytest", test, "-q", "-p", "no:cacheprovider"]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=root, env=env, timeout=120)
    assert done.returncode == 1 and "1 error" in done.stdout, done.stdout[-2000:]
    assert "apt-get install -y chromium chromium-driver" in done.stdout


def test_create_app_opens_the_store_itself_when_served(sqlite_store: tuple[str, Seeded]) -> None:
    """``create_app(settings)`` as another ASGI server would use it: the app opens the store
    at start-up and closes it at shutdown (here uvicorn in a thread)."""
    import socket
    import threading
    import time

    import uvicorn

    from eventsource.console import ConsoleSettings, create_app

    url, _ = sqlite_store
    app = create_app(ConsoleSettings(url, sample_interval=0.2))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]})
    thread.start()
    try:
        deadline = time.monotonic() + 60  # a readiness poll, generous for a loaded machine
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started, "the console did not start serving"
        status, _, body = fetch(f"http://127.0.0.1:{port}/")
        assert status == 200 and 'data-card="global position"><b>18</b>' in body
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
    assert not thread.is_alive()
