"""The console's parts without a server: the sampler (on a ManualClock), the chart, the HTML
escaping, the settings, and what importing the package loads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import pytest

from eventsource import open_backend
from eventsource.clock import ManualClock
from eventsource.console import ConsoleSettings
from eventsource.console._chart import line_chart
from eventsource.console._sampler import Sampler
from eventsource.exceptions import InvalidArgumentError

from .model import ConsoleItemAdded


async def test_lag_and_throughput_between_samples() -> None:
    clock = ManualClock()
    async with open_backend(f"memory://sampler-{uuid4().hex[:8]}") as backend:
        sampler = Sampler(backend, interval=5, window=15, clock=clock)
        store = backend.events

        async def append(count: int) -> None:
            aggregate_id = uuid4()
            events = [
                ConsoleItemAdded(aggregate_id=aggregate_id, sku="s", aggregate_version=v + 1)
                for v in range(count)
            ]
            await store.append_events(aggregate_id, "ConsoleOrder", events, 0)

        await append(4)
        first = [e async for e in store.read_all()]
        await backend.checkpoints.update_checkpoint("p", first[1].event_id, first[1].event_type, 2)
        await sampler.sample()
        clock.advance(5)
        await append(6)  # global 10
        await backend.checkpoints.update_checkpoint("p", first[3].event_id, first[3].event_type, 4)
        await sampler.sample()
        lag, rate = sampler.series("p")
        assert lag == [(-5.0, 2.0), (0.0, 6.0)]
        assert rate == [(0.0, 2 / 5)]
        assert sampler.series(None) == ([], [(0.0, 6 / 5)])
        assert sampler.series("unknown") == ([], [])
        for _ in range(5):  # the window keeps 15 s: 4 samples
            clock.advance(5)
            await sampler.sample()
        assert len(sampler.samples) == 4


async def test_a_sharded_projection_is_charted_as_one() -> None:
    clock = ManualClock()
    async with open_backend(f"memory://sampler-{uuid4().hex[:8]}") as backend:
        sampler = Sampler(backend, interval=1, window=60, clock=clock)
        aggregate_id = uuid4()
        events = [
            ConsoleItemAdded(aggregate_id=aggregate_id, sku="s", aggregate_version=v + 1)
            for v in range(10)
        ]
        await backend.events.append_events(aggregate_id, "ConsoleOrder", events, 0)
        stored = [e async for e in backend.events.read_all()]

        async def at(shard: str, position: int) -> None:
            event = stored[position - 1]
            await backend.checkpoints.update_checkpoint(
                shard, event.event_id, event.event_type, position
            )

        await at("p#0/2", 2)
        await at("p#1/2", 5)
        await at("other", 1)
        await sampler.sample()
        clock.advance(2)
        await at("p#0/2", 6)
        await at("p#1/2", 7)
        await sampler.sample()
        lag, rate = sampler.series("p")
        assert lag == [(-2.0, 8.0), (0.0, 4.0)]  # the furthest behind shard: 10-2, 10-6
        assert rate == [(0.0, (4 + 2) / 2)]  # both shards' progress, per second


def test_chart_escapes_its_title_and_spans_the_points() -> None:
    svg = line_chart("<lag>", [(-30.0, 1.0), (-15.0, 4.0), (0.0, 2.0)], window=600)
    assert "&lt;lag&gt;: 2" in svg and "<lag>" not in svg
    assert "-30 s" in svg and "<polyline" in svg
    assert "no data yet" in line_chart("lag", [], window=600)


@pytest.mark.parametrize(
    "options",
    [
        {"port": 70000},
        {"port": "80"},
        {"sample_interval": 0},
        {"sample_interval": 10, "sample_window": 5},
        {"token": "short"},
        {"projections": ("no_colon",)},
    ],
)
def test_bad_settings_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(InvalidArgumentError):
        ConsoleSettings("memory://", **options)  # type: ignore[arg-type]


def test_importing_the_console_loads_no_web_stack() -> None:
    """``eventsource.console`` (settings, create_app, serve) imports Starlette and uvicorn
    only when an app is made, so the core without the extra imports it fine."""
    code = (
        "import sys, eventsource.console, eventsource.cli._console; "
        "print(sorted(m for m in ('starlette', 'uvicorn') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_stored_text_is_escaped_for_text_and_attributes() -> None:
    from eventsource.console._html import esc, link, table

    hostile = "\"'><script>x</script>\u202e\x1b[2J"
    text = esc(hostile)
    assert "<" not in text and ">" not in text and '"' not in text and "'" not in text
    assert "\\u202e" in text and "\\x1b" in text  # bidi and control characters made visible
    anchor = link(f"/streams?stream={hostile}", hostile)
    assert anchor.count('"') == 2 and "<script>" not in anchor
    assert "<script>" not in table(["h"], [(hostile,)]) and esc(None) == "-"


def test_without_the_extra_the_command_names_the_pip_line(tmp_path: Path) -> None:
    """No Starlette installed (its import blocked here): one line naming the extra, exit 1."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    block = "import sys; sys.modules['starlette'] = None; "
    for code in (
        block + f"from eventsource.cli import main; sys.exit(main(['console', '--url', {url!r}]))",
        block
        + f"from eventsource.console.__main__ import main; sys.exit(main(['--url', {url!r}]))",
    ):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 1, done.stderr
        assert "pip install 'eventsource-core[console]'" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_projections_load_as_the_cli_loads_them() -> None:
    """The console and the CLI import ``module:attribute`` through one function: the same
    projection, and the same reasons when a spec leads nowhere."""
    import typer

    from eventsource.cli._projection_spec import load_projection
    from eventsource.console._state import load_projections
    from eventsource.exceptions import ConfigurationError

    loaded = load_projections(("console.model:OrdersProjection",))
    assert list(loaded) == [load_projection("console.model:OrdersProjection").name]
    for spec, reason in (
        ("console.model", "'console.model' is not MODULE:ATTR"),
        ("nosuchmodule_x:P", "cannot import 'nosuchmodule_x'"),
        ("console.model:Nope", "module 'console.model' has no 'Nope'"),
    ):
        with pytest.raises(ConfigurationError, match=reason):
            load_projections((spec,))
        with pytest.raises(typer.BadParameter, match=reason):
            load_projection(spec)


def test_python_m_eventsource_console_is_the_cli_command() -> None:
    """``python -m eventsource.console`` runs ``eventsource console``: the same options, help
    and exit codes (a bad option is the CLI's usage error, exit 2)."""
    module = [sys.executable, "-m", "eventsource.console"]
    cli = [str(Path(sys.executable).with_name("eventsource")), "console"]
    helps = [
        subprocess.run([*argv, "--help"], capture_output=True, text=True, timeout=60)
        for argv in (module, cli)
    ]
    assert helps[0].returncode == 0 and helps[0].stdout == helps[1].stdout
    assert "Usage: eventsource console" in helps[0].stdout
    done = subprocess.run([*module, "--port", "x"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "usage error" in done.stderr and "'--port'" in done.stderr


async def test_the_live_stream_sends_at_most_one_change_per_interval() -> None:
    """Appends within an interval of the last message are told once, when the interval is
    out (on the clock), with the latest head: the page re-renders (and re-inspects the store)
    at most once per sample interval, however fast events arrive."""
    import asyncio

    from eventsource.console._live import changes

    clock = ManualClock()
    closing = asyncio.Event()
    async with open_backend(f"memory://live-{uuid4().hex[:8]}") as backend:
        store = backend.events

        async def append() -> None:
            aggregate_id = uuid4()
            event = ConsoleItemAdded(aggregate_id=aggregate_id, sku="s", aggregate_version=1)
            await store.append_events(aggregate_id, "ConsoleOrder", [event], 0)

        async def listening() -> None:  # the stream waits for the next append
            async with asyncio.timeout(10):
                while not store.state.waiters:  # type: ignore[attr-defined]  # noqa: ASYNC110
                    await asyncio.sleep(0)

        stream = changes(store, 60.0, clock, closing)
        first = asyncio.ensure_future(anext(stream))
        await listening()
        await append()
        assert await first == "event: change\ndata: 1\n\n"  # the first one at once
        second = asyncio.ensure_future(anext(stream))
        await listening()
        await append()
        async with asyncio.timeout(10):
            await clock.sleepers()  # it waits out the interval ...
        for _ in range(3):
            await append()  # ... while more arrive
        clock.advance(59)
        await asyncio.sleep(0)
        assert not second.done()
        clock.advance(1)
        assert await second == "event: change\ndata: 5\n\n"  # one message, the latest head
        third = asyncio.ensure_future(anext(stream))
        await listening()
        await append()
        async with asyncio.timeout(10):
            await clock.sleepers()
        closing.set()  # the server stops: the stream ends, even mid-wait
        with pytest.raises(StopAsyncIteration):
            await third
