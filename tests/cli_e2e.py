"""The installed ``eventsource`` command end to end against a real store (SQLite file or
PostgreSQL schema), in subprocesses: what operators type, what they see, the exit codes.

Used by tests/sqlite/test_cli_e2e.py and tests/postgres/test_cli_e2e.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsource import open_backend
from eventsource.cli import _demo_model  # noqa: F401 - registers the demo's event classes

CONSOLE_SCRIPT = Path(sys.executable).with_name("eventsource")

#: A projection the commands import as ``cliproj:Proj``: it writes each event type it handles
#: to handled.txt, and fails on events whose type is in fail.txt.
PROJECTION = textwrap.dedent(
    """
    from pathlib import Path

    HERE = Path(__file__).parent


    class Proj:
        name = "cli-proj"
        event_types = None

        def reset(self):
            (HERE / "handled.txt").write_text("")

        async def handle(self, event):
            fail = HERE / "fail.txt"
            if fail.exists() and event.event_type in fail.read_text().split():
                raise RuntimeError(f"refusing {event.event_type}")
            with open(HERE / "handled.txt", "a") as out:
                out.write(event.event_type + "\\n")
    """
)


@dataclass
class Done:
    """One finished run of the command."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def json_lines(self) -> list[Any]:
        return [json.loads(line) for line in self.out.splitlines()]

    def error(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.err)
        return data


class Cli:
    """Runs the installed console script in ``cwd`` with ``EVENTSOURCE_URL`` unset."""

    def __init__(self, cwd: Path) -> None:
        assert CONSOLE_SCRIPT.exists(), "the eventsource console script is installed"
        self.cwd = cwd
        self.env = {k: v for k, v in os.environ.items() if k != "EVENTSOURCE_URL"}
        self.env["COLUMNS"] = "200"

    def __call__(self, *argv: str, env: dict[str, str] | None = None) -> Done:
        done = subprocess.run(
            [str(CONSOLE_SCRIPT), *argv],
            capture_output=True,
            text=True,
            cwd=self.cwd,
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
        assert "Traceback" not in done.stderr, done.stderr
        return Done(done.returncode, done.stdout, done.stderr)

    def many(self, *runs: tuple[str, ...]) -> list[Done]:
        """Several read-only runs at once (the suite stays fast), results in order."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(lambda argv: self(*argv), runs))


def one_line(done: Done) -> str:
    """The single line a failure prints on stderr."""
    assert done.out == "" and done.err.count("\n") == 1, (done.out, done.err)
    return done.err


async def _park(url: str, aggregate_id: UUID) -> tuple[int, int]:
    """Two DLQ entries: one for the demo's projection, one of cli-proj for the second event;
    a failed outbox entry for the second event."""
    async with open_backend(url, create=False) as backend:
        events = [s async for s in backend.events.read_all()]
        second = events[1]
        first = await backend.dlq.add_failed_event(
            events[0].event_id, "OrderSummaryProjection", events[0].event_type, {}, "boom"
        )
        replay = await backend.dlq.add_failed_event(
            second.event_id,
            "cli-proj",
            second.event_type,
            second.event.model_dump(mode="json"),
            RuntimeError("refusing demo.ItemAdded"),
        )
        assert second.aggregate_id == aggregate_id
        await backend.outbox.add_event(second.event)
        [claimed] = await backend.outbox.get_pending_events(limit=1)
        await backend.outbox.mark_failed(claimed.id, "broker said no")
    return first, replay


def run_scenario(url: str, tmp_path: Path) -> None:
    """Every command on a store the demo filled: output and exit codes."""
    cli = Cli(tmp_path)
    (tmp_path / "cliproj.py").write_text(PROJECTION)
    demo = cli("--json", "demo", "--url", url)
    assert demo.code == 0, demo.err
    aggregate_id = UUID(demo.json()["steps"][1]["order_id"])
    stream = f"{aggregate_id}:Order"
    first, replayable = asyncio.run(_park(url, aggregate_id))

    u = ("--url", url)
    (
        status_text,
        status_json,
        listed,
        by_type,
        by_stream,
        by_position,
        by_time,
        tail,
        shown,
        stream_text,
        stream_json,
        checkpoints,
        refused,
        dlq_list,
        dlq_show,
    ) = cli.many(
        ("status", "--url", url),
        ("status", "--json", *u),
        ("--url", url, "events", "list"),
        ("events", "list", *u, "--type", "demo.ItemAdded", "--json"),
        ("events", "list", *u, "--stream", str(aggregate_id), "--json"),
        ("events", "list", *u, "--from", "1", "--to", "2", "--json"),
        ("events", "list", *u, "--since", "2999-01-01"),
        ("events", "tail", *u, "--limit", "1", "--json"),
        ("events", "show", "3", *u),
        ("stream", str(aggregate_id), *u),
        ("stream", stream, *u, "--json"),
        ("checkpoints", "list", *u),
        ("checkpoints", "reset", "OrderSummaryProjection", "--to", "1", *u),
        ("dlq", "list", *u),
        ("dlq", "show", str(replayable), *u),
    )

    # status, at a glance
    assert status_text.code == 0, status_text.err
    assert "global position 3, 3 events in 1 stream" in status_text.out
    assert "2 open (2 failed, 0 retrying)" in status_text.out
    assert "OrderSummaryProjection" in status_text.out
    status = status_json.json()
    assert (status["store"]["global_position"], status["store"]["streams"]) == (3, 1)
    summary = next(p for p in status["projections"] if p["name"] == "OrderSummaryProjection")
    assert (summary["position"], summary["lag_events"], summary["dlq_open"]) == (3, 0, 1)
    assert status["outbox"]["published"] == 1 and status["dlq"]["open"] == 2

    # events: list and filter, show one, one stream
    lines = listed.out.splitlines()
    assert listed.code == 0 and lines[0].split()[:3] == ["POSITION", "STREAM", "VERSION"]
    assert [line.split()[3] for line in lines[1:]] == [
        "demo.OrderCreated",
        "demo.ItemAdded",
        "demo.OrderShipped",
    ]
    assert len({line.index("demo.") for line in lines[1:]}) == 1  # aligned
    assert [r["global_position"] for r in by_type.json_lines()] == [2]
    assert [r["stream_position"] for r in by_stream.json_lines()] == [1, 2, 3]
    assert [r["global_position"] for r in by_position.json_lines()] == [2]
    assert by_time.code == 0 and by_time.out.strip() == "No events."
    assert [r["event_type"] for r in tail.json_lines()] == ["demo.OrderShipped"]
    event = shown.json()
    assert event["event_type"] == "demo.OrderShipped" and event["stream_id"] == stream
    assert event["event"]["tracking_number"] == "TRACK-123"
    assert cli("events", "show", event["event_id"], *u).json()["global_position"] == 3
    out = stream_text.out
    assert stream_text.code == 0 and f"stream:  {stream}" in out and "version: 3" in out
    assert "v3  #3  demo.OrderShipped" in out and '"tracking_number": "TRACK-123"' in out
    assert stream_json.json()["version"] == 3
    assert checkpoints.code == 0 and checkpoints.out.splitlines()[1].split()[:3] == [
        "OrderSummaryProjection",
        "3",
        "0",
    ]
    assert refused.code == 1 and "--yes" in one_line(refused)  # no terminal: not reset
    assert dlq_list.code == 0 and "cli-proj" in dlq_list.out and "boom" in dlq_list.out
    assert dlq_show.code == 0 and "RuntimeError: refusing demo.ItemAdded" in dlq_show.out

    # checkpoints: list with lag, reset with confirmation
    done = cli("--url", url, "checkpoints", "reset", "OrderSummaryProjection", "--to", "1", "-y")
    assert done.code == 0 and "to global position 1" in done.out
    listed = cli("checkpoints", "list", "--json", "--url", url).json()
    assert [(c["global_position"], c["lag_events"]) for c in listed] == [(1, 2)]

    # dlq: resolve (once), replay
    done = cli("dlq", "resolve", str(first), "--note", "checked", "--url", url)
    assert done.code == 0 and "checked" in done.out
    done = cli("dlq", "resolve", str(first), "--note", "again", "--url", url, "--json")
    assert done.code == 1 and done.error()["code"] == "refused"
    assert "already resolved" in done.error()["error"]
    done = cli("dlq", "resolve", str(first), "--note", "again", "--force", "--url", url)
    assert done.code == 0
    entry = cli("dlq", "show", str(first), "--json", "--url", url).json()
    assert (entry["status"], entry["resolution"]) == ("resolved", "again")
    (tmp_path / "fail.txt").write_text("demo.ItemAdded")
    done = cli("dlq", "replay", str(replayable), "--projection", "cliproj:Proj", "--url", url)
    assert done.code == 1 and "failed again: RuntimeError" in done.out
    (tmp_path / "fail.txt").write_text("")
    done = cli("dlq", "replay", "--all", "--projection", "cliproj:Proj", "--url", url)
    assert done.code == 0 and "1 resolved, 0 failed" in done.out
    assert (tmp_path / "handled.txt").read_text() == "demo.ItemAdded\n"
    assert cli("dlq", "list", "--url", url, "--json").json() == []

    # projections: list, rebuild with progress
    done = cli("projections", "rebuild", "cliproj:Proj", "--url", url, "--yes")
    assert done.code == 0, done.err
    assert "Rebuilt 'cli-proj': 3 events handled, at global position 3" in done.out
    assert (tmp_path / "handled.txt").read_text().split() == [
        "demo.OrderCreated",
        "demo.ItemAdded",
        "demo.OrderShipped",
    ]
    projections = {p["name"]: p for p in cli("projections", "list", "--json", "--url", url).json()}
    assert projections["cli-proj"]["position"] == 3 and projections["cli-proj"]["lag_events"] == 0
    assert projections["cli-proj"]["state"] == "stopped"  # the rebuild released its lease

    # outbox: list failed, retry, list pending, cleanup, stats
    [failed] = cli("outbox", "list", "--status", "failed", "--json", *u).json()
    assert (failed["event_type"], failed["last_error"]) == ("demo.ItemAdded", "broker said no")
    done = cli("outbox", "list", "--status", "failed", *u)
    assert done.code == 0 and "broker said no" in done.out.splitlines()[1]
    done = cli("outbox", "retry", failed["id"], *u)
    assert done.code == 0 and "1 failed outbox entry is pending again" in done.out
    done = cli("outbox", "retry", failed["id"], *u, "--json")
    assert done.code == 1 and "not failed" in done.error()["error"]  # refused: pending now
    [pending] = cli("outbox", "list", "--json", *u).json()
    assert (pending["id"], pending["retry_count"]) == (failed["id"], 1)
    done = cli("outbox", "cleanup", "--days", "0", "--url", url, "--json")
    assert done.json() == {"deleted": 1, "older_than_days": 0.0}
    assert cli("outbox", "stats", "--json", "--url", url).json()["published_count"] == 0


def run_usage_failures(url: str, tmp_path: Path) -> None:
    """Usage errors: one line (JSON with --json), exit 2, nothing changed."""
    cli = Cli(tmp_path)
    letters, negative, moment, module, bogus, migrate = cli.many(
        ("events", "tail", "--limit", "abc", "--url", url),
        ("--json", "events", "list", "--limit", "-1", "--url", url),
        ("events", "list", "--since", "yesterday", "--url", url),
        ("dlq", "replay", "1", "--projection", "nosuchmodule:X", "--url", url),
        ("bogus",),
        ("migrate", "--help"),
    )
    assert letters.code == 2 and "--limit" in one_line(letters) and "integer" in letters.err
    assert negative.code == 2
    assert negative.error() == {
        "error": "Invalid value for '--limit': must be >= 0, not -1",
        "code": "usage",
        "exit_code": 2,
    }
    assert moment.code == 2 and "ISO 8601" in one_line(moment)
    assert module.code == 2 and "cannot import 'nosuchmodule'" in one_line(module)
    assert bogus.code == 2 and "No such command 'bogus'" in one_line(bogus)
    assert migrate.code == 0 and "--from" in migrate.out
    assert "--url" not in migrate.out  # migrate takes --from and --to, no ignored --url
    # Beyond 2**63 - 1 is a usage error naming the option, not the store's internal message.
    huge = "99999999999999999999"
    beyond = cli.many(
        ("events", "list", "--from", huge, "--url", url),
        ("events", "tail", "--limit", huge, "--url", url),
        ("--json", "events", "show", huge, "--url", url),
        ("dlq", "show", huge, "--url", url),
        ("checkpoints", "reset", "p", "--to", huge, "--yes", "--url", url),
    )
    for done in beyond[:2] + beyond[3:]:
        assert done.code == 2 and "must be <= 9223372036854775807" in one_line(done), done.err
        assert "ReadOptions" not in done.err and "dlq_id" not in done.err
    assert beyond[2].error()["code"] == "usage" and "at most" in beyond[2].error()["error"]
    assert cli("dlq", "show", "0", "--url", url).code == 2
    # Days and times a timedelta or UTC cannot hold: usage errors, not an OverflowError.
    for done in cli.many(
        ("outbox", "cleanup", "--days", "1e400", "--url", url),
        ("outbox", "cleanup", "--days", "nan", "--url", url),
        ("outbox", "cleanup", "--days", "99999999999", "--url", url),
        ("streams", "retention", "set", "Sensor", "--max-age", "1e300", "--url", url),
        ("streams", "scavenge", "Sensor", "--max-age", "1e300", "--url", url),
        ("events", "list", "--since", "9999-12-31T23:59:59-01:00", "--url", url),
        ("--json", "events", "list", "--until", "0001-01-01T00:00:00+01:00", "--url", url),
    ):
        assert done.code == 2 and "usage" in done.err and "ReadOptions" not in done.err, done.err
    # Usage errors a command finds itself read like Click's: "eventsource: usage error: ...".
    for done in cli.many(
        ("migrate", url, "sqlite:///never.db", "--with", "bogus"),
        ("migrate", url),
        ("streams", "retention", "set", "Sensor", "--url", url),
        ("events", "upcast", "--url", url),
    ):
        assert done.code == 2 and one_line(done).startswith("eventsource: usage error: "), done.err
    assert not (tmp_path / "never.db").exists()
    blank = cli("--json", "dlq", "resolve", "1", "--note", " ", "--url", url)  # as the console
    assert blank.code == 2 and "give a note" in blank.error()["error"]
    not_a_stream = cli("stream", "nope", "--url", url)  # neither a stream id nor a UUID
    assert not_a_stream.code == 2 and "nor an aggregate id (a UUID)" in one_line(not_a_stream)
    policies = cli("streams", "retention", "list", "--url", url)  # nothing was stored
    assert policies.code == 0 and "Sensor" not in policies.out, policies
