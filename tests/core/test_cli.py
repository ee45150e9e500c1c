"""The ``eventsource`` command: main([...]) with capsys, and the console script once for real."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest

from eventsource import DomainEvent, MemoryEventStore, open_backend, parse_url
from eventsource.cli import main
from eventsource.cli._safe_text import safe_text
from eventsource.memory import MemoryCheckpointRepository, MemoryDLQRepository
from eventsource.memory import plugin as memory_plugin
from eventsource.memory._repositories import MemoryOutboxRepository
from eventsource.runtime import UndecodableEvent
from eventsource.spi import BackendRegistry, BrokenPlugin, get_registry, reset_registry
from eventsource.testing import RawEventRow
from raw_events import write_raw_event

from ._model import CtItemAdded, CtOrderPlaced

CONSOLE_SCRIPT = Path(sys.executable).with_name("eventsource")


class Db:
    """A named in-memory database that outlives each main() call, filled synchronously."""

    def __init__(self) -> None:
        self.url = f"memory://cli-{uuid4().hex[:10]}"
        self.store = memory_plugin.store_from_url(parse_url(self.url))
        self.ids: list[object] = []

    def add_orders(self, count: int, items: int = 1) -> None:
        async def fill() -> None:
            for _ in range(count):
                aggregate_id = uuid4()
                events = [CtOrderPlaced(aggregate_id=aggregate_id, customer="c")]
                events += [
                    CtItemAdded(aggregate_id=aggregate_id, sku=f"s{i}", aggregate_version=i + 2)
                    for i in range(items)
                ]
                await self.store.append_events(aggregate_id, "CtOrder", events, 0)

        asyncio.run(fill())

    def run(self, coro: object) -> object:
        return asyncio.run(coro)  # type: ignore[arg-type]

    def events(self) -> list[object]:
        return list(self.store.state.events)


@pytest.fixture
def db() -> Db:
    return Db()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def positions(out: str) -> list[int]:
    """The global positions of an events table (its header lines skipped)."""
    return [int(line.split()[0]) for line in out.splitlines() if not line.startswith("POSITION")]


# -- usage ----------------------------------------------------------------------------------------


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys)
    assert code == 2 and "Usage: eventsource" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["bogus"],
        ["events"],
        ["events", "tail", "--limit", "-3"],
        ["dlq", "show", "abc"],
        ["dlq", "resolve", "1"],
        ["dlq", "list", "--status", "lost"],
        ["migrate", "--from", "memory://"],
        ["migrate", "--from", "memory://", "--to", "memory://", "--batch-size", "0"],
        ["checkpoints", "reset"],
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2 and "usage" in err.lower() and "Traceback" not in err
    assert err.count("\n") == 1 or err.startswith("Usage:")  # one line, or a group's help


def test_help_and_version_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("backends", "demo", "info", "init", "events", "checkpoints", "outbox", "dlq"):
        assert command in out
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.startswith("eventsource ")


def test_help_imports_neither_the_library_nor_rich() -> None:
    """``eventsource --help`` stays fast: pydantic, pluggy, the backends and Rich are imported
    only by a command that runs."""
    heavy = ("pydantic", "pluggy", "eventsource_sqlite", "eventsource_postgres", "rich")
    program = (
        "import sys\n"
        "from eventsource.cli import main\n"
        "code = main(['--help'])\n"
        f"print(code, sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.splitlines()[-1] == "0 []"
    assert "Exit codes: 0 ok, 1 operational error, 2 usage error, 3 malformed URL," in done.stdout


def test_shell_completion_completes_commands(tmp_path: Path) -> None:
    env = {**os.environ, "_EVENTSOURCE_COMPLETE": "complete_bash", "COMP_CWORD": "2"}
    done = subprocess.run(
        [str(CONSOLE_SCRIPT)],
        capture_output=True,
        text=True,
        env={**env, "COMP_WORDS": "eventsource checkpoints r"},
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.split() == ["reset"]


# -- backends -------------------------------------------------------------------------------------


def test_backends_lists_installed_backends(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "backends")
    assert code == 0
    assert "memory" in out and "eventsource-core" in out and "memory://" in out
    code, out, _ = run(capsys, "backends", "--json")
    data = json.loads(out)
    memory = next(b for b in data["backends"] if b["name"] == "memory")
    assert memory["distribution"] == "eventsource-core" and memory["version"]
    assert "transactional_outbox" in memory["capabilities"]
    assert set(data["backends"][0]) >= {"name", "schemes", "version", "capabilities"}


def test_backends_reports_broken_plugins_and_exits_0(
    capsys: pytest.CaptureFixture[str], memory_only_registry: BackendRegistry
) -> None:
    memory_only_registry.broken.append(
        BrokenPlugin("sqlite", "eventsource-sqlite", "ModuleNotFoundError: No module named 'x'")
    )
    code, out, err = run(capsys, "backends")
    assert code == 0 and "Traceback" not in err
    assert "Broken plugins" in out
    assert "sqlite (eventsource-sqlite): ModuleNotFoundError: No module named 'x'" in out
    code, out, _ = run(capsys, "--json", "backends")
    assert json.loads(out)["broken"] == [
        {
            "name": "sqlite",
            "distribution": "eventsource-sqlite",
            "error": "ModuleNotFoundError: No module named 'x'",
        }
    ]


def test_backends_reports_a_conflict(
    capsys: pytest.CaptureFixture[str], restore_registry: None
) -> None:
    from eventsource.spi import EventStoreSpec, hookimpl

    class Clash:
        @hookimpl
        def eventsource_event_stores(self) -> list[EventStoreSpec]:
            return [
                EventStoreSpec(
                    name="memory",
                    store_class=MemoryEventStore,
                    from_url=lambda u: MemoryEventStore(),
                )
            ]

    registry = BackendRegistry(load_entry_points=False)
    registry.register(memory_plugin, name="memory")
    registry.register(Clash(), name="clash")
    reset_registry(registry)
    code, out, err = run(capsys, "backends")
    assert code == 1 and "'clash' and 'memory' both register" in out and "Traceback" not in err


# -- info / init ----------------------------------------------------------------------------------


def test_info_shows_position_and_counts(capsys: pytest.CaptureFixture[str], db: Db) -> None:
    db.add_orders(3, items=2)
    code, out, _ = run(capsys, "--url", db.url, "info")
    assert code == 0
    assert "backend:" in out and "memory" in out
    assert "global position: 9" in out
    code, out, _ = run(capsys, "info", "--url", db.url, "--json")  # options after the command
    data = json.loads(out)
    assert data["global_position"] == 9 and data["backend"] == "memory"
    assert data["outbox"]["pending_count"] == 0 and data["dlq"]["total_failed"] == 0


def test_url_comes_from_the_environment(
    capsys: pytest.CaptureFixture[str], db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    db.add_orders(1)
    monkeypatch.setenv("EVENTSOURCE_URL", db.url)
    code, out, _ = run(capsys, "info", "--json")
    assert code == 0 and json.loads(out)["global_position"] == 2


def test_default_url_is_the_embedded_sqlite_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVENTSOURCE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "info")
    assert code == 5
    assert "no database at 'events.db'" in err and "init" in err
    assert not (tmp_path / "events.db").exists()


def test_operational_errors_are_one_clean_line_with_password_masked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, "--url", "postgresql://admin:hunter2@127.0.0.1:1/db", "info")
    assert code == 6 and out == ""
    assert err.count("\n") == 1 and err.startswith("eventsource: error:")
    assert "hunter2" not in err and "Traceback" not in err
    code, _, err = run(capsys, "--url", "nosuch://x", "info")
    assert code == 4 and "unknown backend 'nosuch'" in err and "memory" in err
    code, _, err = run(capsys, "--url", "sqlite:///x.db?bogus=1", "init")
    assert code == 3 and "bogus" in err


def test_init_creates_the_schema_and_is_idempotent(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    if "sqlite" not in get_registry().backend_names():
        pytest.skip("the sqlite backend is not installed")
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    code, out, _ = run(capsys, "--url", url, "init")
    assert code == 0 and "Schema ready" in out and (tmp_path / "ops.db").exists()
    assert run(capsys, "--url", url, "init")[0] == 0
    code, out, _ = run(capsys, "--url", url, "info", "--json")
    assert code == 0 and json.loads(out)["global_position"] == 0


# -- events tail ----------------------------------------------------------------------------------


def test_tail_defaults_to_the_last_events(capsys: pytest.CaptureFixture[str], db: Db) -> None:
    db.add_orders(15)  # 30 events
    code, out, _ = run(capsys, "--url", db.url, "events", "tail")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 21
    assert lines[0].split() == ["POSITION", "STREAM", "VERSION", "TYPE", "EVENT", "ID", "OCCURRED"]
    assert positions(out) == list(range(11, 31))
    last = db.events()[-1]
    assert lines[-1].split()[:5] == [
        "30",
        last.stream_id,  # type: ignore[attr-defined]
        "2",
        "coretest.ItemAdded",
        str(last.event_id),  # type: ignore[attr-defined]
    ]
    widths = {len(line.split("  coretest.")[0]) for line in lines[1:]}
    assert len(widths) == 1  # aligned columns


def test_tail_from_and_limit_and_json(capsys: pytest.CaptureFixture[str], db: Db) -> None:
    db.add_orders(5)  # 10 events
    code, out, _ = run(capsys, "--url", db.url, "events", "tail", "--from", "3", "--limit", "4")
    assert code == 0 and positions(out) == [4, 5, 6, 7]
    code, out, _ = run(capsys, "--url", db.url, "--json", "events", "tail", "--from", "8")
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["global_position"] for r in records] == [9, 10]
    assert records[0]["event_type"] == "coretest.OrderPlaced" and records[0]["stream_position"] == 1
    code, out, _ = run(capsys, "--url", db.url, "events", "tail", "--from", "10")
    assert code == 0 and out == ""


def test_tail_follow_prints_events_appended_by_another_writer(
    capsys: pytest.CaptureFixture[str], db: Db
) -> None:
    db.add_orders(1)
    result: list[int] = []
    argv = ["--url", db.url, "events", "tail", "--from", "0", "--follow", "--idle-timeout", "1.5"]
    follower = threading.Thread(target=lambda: result.append(main(argv)))
    follower.start()
    try:
        for _ in range(3):
            time.sleep(0.2)
            db.add_orders(1)
    finally:
        follower.join(timeout=20)
    assert not follower.is_alive() and result == [0]
    out, _ = capsys.readouterr()
    assert positions(out) == list(range(1, 9))


def test_list_filters_and_follows_only_matching_events(
    capsys: pytest.CaptureFixture[str], db: Db
) -> None:
    db.add_orders(2, items=1)  # positions 1..4: placed, item, placed, item
    code, out, _ = run(capsys, "--url", db.url, "events", "list", "--type", "coretest.ItemAdded")
    assert code == 0 and positions(out) == [2, 4]
    code, out, _ = run(capsys, "--url", db.url, "events", "list", "--from", "1", "--limit", "2")
    assert code == 0 and positions(out) == [2, 3]
    stream = db.events()[2].stream_id  # type: ignore[attr-defined]
    code, out, _ = run(capsys, "--url", db.url, "--json", "events", "list", "--stream", stream)
    assert [json.loads(line)["global_position"] for line in out.splitlines()] == [3, 4]
    result: list[int] = []
    argv = ["--url", db.url, "events", "list", "--type", "coretest.OrderPlaced", "--from", "4"]
    argv += ["--follow", "--idle-timeout", "1.5", "--json"]
    follower = threading.Thread(target=lambda: result.append(main(argv)))
    follower.start()
    try:
        for _ in range(2):
            time.sleep(0.2)
            db.add_orders(1)
    finally:
        follower.join(timeout=20)
    assert not follower.is_alive() and result == [0]
    out, _ = capsys.readouterr()
    assert [json.loads(line)["global_position"] for line in out.splitlines()] == [5, 7]


def test_tail_decodes_events_whose_classes_are_unknown(
    capsys: pytest.CaptureFixture[str], db: Db
) -> None:
    db.add_orders(1)
    db.store.event_registry = __import__("eventsource").EventRegistry()  # knows nothing
    code, out, _ = run(capsys, "--url", db.url, "events", "tail")
    assert code == 0 and "coretest.OrderPlaced" in out


# -- checkpoints / outbox / dlq -------------------------------------------------------------------


def test_checkpoints_list_and_reset(capsys: pytest.CaptureFixture[str], db: Db) -> None:
    db.add_orders(3)
    events = db.events()
    repo = MemoryCheckpointRepository(db.store)
    db.run(repo.update_checkpoint("orders", events[1].event_id, events[1].event_type))  # type: ignore[attr-defined]
    db.run(repo.update_checkpoint("totals", events[5].event_id, events[5].event_type))  # type: ignore[attr-defined]
    code, out, _ = run(capsys, "--url", db.url, "checkpoints", "list")
    lines = out.splitlines()
    assert code == 0 and lines[0].split()[:3] == ["PROJECTION", "POSITION", "LAG"]
    assert lines[1].split()[:3] == ["orders", "2", "4"] and lines[2].split()[:3] == [
        "totals",
        "6",
        "0",
    ]
    code, out, _ = run(capsys, "--url", db.url, "--json", "checkpoints", "list")
    assert [(c["projection_name"], c["lag_events"]) for c in json.loads(out)] == [
        ("orders", 4),
        ("totals", 0),
    ]
    code, out, err = run(capsys, "--url", db.url, "checkpoints", "reset", "orders")
    assert code == 1 and "--yes" in err and out == ""  # no terminal to ask on: refused
    assert db.run(repo.get_checkpoint("orders")) == events[1].event_id  # type: ignore[attr-defined]
    code, out, _ = run(capsys, "--url", db.url, "checkpoints", "reset", "orders", "--yes")
    assert code == 0 and "'orders'" in out and "2" in out
    assert db.run(repo.get_checkpoint("orders")) is None
    assert db.run(repo.get_checkpoint("totals")) == events[5].event_id  # type: ignore[attr-defined]
    code, _, err = run(capsys, "--url", db.url, "checkpoints", "reset", "orders", "--yes")
    assert code == 1 and "no checkpoint for projection 'orders'" in err


def test_checkpoints_list_when_empty(capsys: pytest.CaptureFixture[str], db: Db) -> None:
    code, out, _ = run(capsys, "--url", db.url, "checkpoints", "list")
    assert code == 0 and out.strip() == "No checkpoints."


def test_outbox_stats(capsys: pytest.CaptureFixture[str], db: Db) -> None:
    db.add_orders(2)
    outbox = MemoryOutboxRepository(db.store)
    for stored in db.events():
        db.run(outbox.add_event(stored.event))  # type: ignore[attr-defined]
    claimed = db.run(outbox.get_pending_events(limit=1))
    db.run(outbox.mark_published(claimed[0].id))  # type: ignore[index]
    db.run(outbox.get_pending_events(limit=1))
    code, out, _ = run(capsys, "--url", db.url, "outbox", "stats", "--json")
    data = json.loads(out)
    assert code == 0
    assert (data["pending_count"], data["claimed_count"], data["published_count"]) == (3, 1, 1)
    code, out, _ = run(capsys, "--url", db.url, "outbox", "stats")
    assert "pending:" in out and out.split("pending:")[1].split()[0] == "3"


def test_dlq_list_show_resolve(capsys: pytest.CaptureFixture[str], db: Db) -> None:
    dlq = MemoryDLQRepository(db.store)
    try:
        raise ZeroDivisionError("division by zero in totals")
    except ZeroDivisionError as exc:
        error = exc
    first = db.run(
        dlq.add_failed_event(uuid4(), "totals", "coretest.ItemAdded", {"sku": "a"}, error)
    )
    db.run(dlq.add_failed_event(uuid4(), "emails", "coretest.OrderPlaced", {}, "SMTP down", 3))

    code, out, _ = run(capsys, "--url", db.url, "dlq", "list")
    assert code == 0 and "totals" in out and "emails" in out
    assert "ZeroDivisionError: division by zero in totals" in out
    code, out, _ = run(capsys, "--url", db.url, "dlq", "list", "--projection", "emails", "--json")
    entries = json.loads(out)
    assert [e["projection_name"] for e in entries] == ["emails"] and entries[0]["retry_count"] == 3

    code, out, _ = run(capsys, "--url", db.url, "dlq", "show", str(first))
    assert code == 0 and "Traceback (most recent call last)" in out  # the entry's own traceback
    assert '"sku": "a"' in out and "status:" in out

    code, out, _ = run(
        capsys, "--url", db.url, "dlq", "resolve", str(first), "--note", "fixed data"
    )
    assert code == 0 and "fixed data" in out
    entry = db.run(dlq.get_failed_event_by_id(first))
    assert entry.status == "resolved" and entry.resolution == "fixed data"  # type: ignore[attr-defined]
    code, _, err = run(capsys, "--url", db.url, "dlq", "resolve", str(first), "--note", "again")
    assert code == 1 and err.strip().endswith(
        "is already resolved ('fixed data'); --force replaces its note"
    )
    code, _, _ = run(
        capsys, "--url", db.url, "dlq", "resolve", str(first), "--note", "again", "--force"
    )
    assert code == 0 and db.run(dlq.get_failed_event_by_id(first)).resolution == "again"  # type: ignore[attr-defined]
    run(capsys, "--url", db.url, "dlq", "resolve", str(first), "--note", "fixed data", "--force")
    code, out, _ = run(capsys, "--url", db.url, "dlq", "list", "--status", "resolved", "--json")
    assert [e["id"] for e in json.loads(out)] == [first]
    code, out, _ = run(capsys, "--url", db.url, "dlq", "list", "--status", "retrying")
    assert code == 0 and out.strip() == "No retrying entries."

    for argv in (["dlq", "show", "999"], ["dlq", "resolve", "999", "--note", "x"]):
        code, out, err = run(capsys, "--url", db.url, *argv)
        assert code == 1 and "999" in err and "Traceback" not in err


def test_dlq_shows_an_undecodable_entry_with_control_characters_escaped(
    capsys: pytest.CaptureFixture[str], db: Db
) -> None:
    dlq = MemoryDLQRepository(db.store)
    raw = '{"note": "\x1b[2J\u202egone", ' + "[" * 30
    poison = UndecodableEvent(raw, "coretest.Thing", 2, str(uuid4()), 17, "s:T", 5)
    dlq_id = db.run(
        dlq.add_failed_event(
            uuid4(), "totals", "coretest.Thing", poison.to_event_data(), "cannot be decoded"
        )
    )
    code, out, _ = run(capsys, "--url", db.url, "dlq", "list")
    assert code == 0 and "undecodable" in out and " 17 " in out and "s:T" in out
    assert "\x1b" not in out and "\\x1b[2J" in out and "\\u202e" in out  # escaped, shown
    code, out, _ = run(capsys, "--url", db.url, "dlq", "show", str(dlq_id))
    assert code == 0 and "global position: 17" in out and "stream position: 5" in out
    assert (
        "raw payload (as stored):\n" + raw.replace("\x1b", "\\x1b").replace("\u202e", "\\u202e")
        in out
    )
    assert "\x1b" not in out and "\u202e" not in out


# -- stored text that would steer the terminal ---------------------------------------------------

#: What a hostile writer can store: clear screen, carriage return, bell, set the window title,
#: right-to-left override, and a newline that would forge an output line.
HOSTILE = "\x1b[2J\r\x07\x1b]0;owned\x07\u202e\nforged"
#: What the command prints for it instead.
HOSTILE_SHOWN = "\\x1b[2J\\r\\x07\\x1b]0;owned\\x07\\u202e\\nforged"
RAW = ("\x1b", "\r", "\x07", "\u202e")


class CtHostile(DomainEvent):
    """An event whose stored type steers the terminal."""

    event_type: str = "coretest.Hostile" + HOSTILE
    note: str = ""


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[2J", "\\x1b[2J"),
        ("a\rb\x07\x00\x7f", "a\\rb\\x07\\x00\\x7f"),
        ("\x9b31m", "\\x9b31m"),  # C1: CSI on an 8-bit terminal
        ("\u202egnp\u2066\u200e\u200b\ufeff", "\\u202egnp\\u2066\\u200e\\u200b\\ufeff"),
        ("a\u2028b", "a\\u2028b"),
        ("\ud800 lone", "\\ud800 lone"),
        ("\U000e0041 tag", "\\U000e0041 tag"),
        ("a\nb\tc", "a\\nb\\tc"),
        ("Café 日本\u3000\u00a0ok \\x1b", "Café 日本\u3000\u00a0ok \\x1b"),  # kept as is
    ],
)
def test_safe_text_escapes_what_is_not_printable(text: str, shown: str) -> None:
    assert safe_text(text) == shown
    shown.encode("utf-8")  # a lone surrogate no longer crashes the encoder
    assert safe_text(shown) == shown  # escaping twice changes nothing


def test_safe_text_multiline_keeps_newlines_and_tabs_only() -> None:
    assert safe_text("a\n\tb\r\x1b", multiline=True) == "a\n\tb\\r\\x1b"
    assert safe_text("é\n\tb\r\u202e", multiline=True) == "é\n\tb\\r\\u202e"
    assert safe_text(12) == "12"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    if "sqlite" not in get_registry().backend_names():
        pytest.skip("the sqlite backend is not installed")
    return f"sqlite:///{tmp_path / 'hostile.db'}"


def _no_raw_controls(text: str) -> bool:
    return not any(c in text for c in RAW)


def test_stored_control_characters_are_printed_escaped(
    capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    """Hostile strings written through the public API into a SQLite file reach no command's
    output raw; the JSON modes stay valid JSON holding them unchanged."""
    aggregate_id = uuid4()
    aggregate_type, projection = "Cart" + HOSTILE, "proj" + HOSTILE
    event = CtHostile(aggregate_id=aggregate_id, note=HOSTILE, metadata={"by": HOSTILE})

    async def fill() -> None:
        async with open_backend(sqlite_url) as backend:
            await backend.events.append_events(aggregate_id, aggregate_type, [event], 0)
            await backend.checkpoints.update_checkpoint(
                projection, event.event_id, event.event_type
            )
            data = {"aggregate_id": HOSTILE, "aggregate_type": "T", "note": HOSTILE}
            await backend.dlq.add_failed_event(
                event.event_id, projection, event.event_type, data, "boom" + HOSTILE
            )

    asyncio.run(fill())
    stream = f"{aggregate_id}:Cart{HOSTILE_SHOWN}"
    expected = {
        ("events", "tail"): [stream, f"coretest.Hostile{HOSTILE_SHOWN}"],
        ("checkpoints", "list"): [f"proj{HOSTILE_SHOWN}", f"coretest.Hostile{HOSTILE_SHOWN}"],
        ("dlq", "list"): [
            f"proj{HOSTILE_SHOWN}",
            "boom\\x1b[2J \\x07\\x1b]0;owned\\x07\\u202e forged",  # whitespace folded
            f"{HOSTILE_SHOWN}:T",
        ],
        ("dlq", "show", "1"): [f"proj{HOSTILE_SHOWN}", f"boom{HOSTILE_SHOWN}", "\\u001b[2J"],
    }
    for argv, shown in expected.items():
        code, out, err = run(capsys, "--url", sqlite_url, *argv)
        assert code == 0, err
        assert _no_raw_controls(out + err), argv
        assert all(s in out for s in shown), (argv, out)
        assert "forged" not in "".join(line[:6] for line in out.splitlines())  # no forged line
    code, out, _ = run(capsys, "--url", sqlite_url, "events", "tail")
    assert len(out.splitlines()) == 2  # the header and one row
    code, out, _ = run(capsys, "--url", sqlite_url, "--json", "events", "tail")
    assert out.isascii() and code == 0
    record = json.loads(out)
    assert (record["stream_id"], record["event_type"]) == (
        f"{aggregate_id}:{aggregate_type}",
        event.event_type,
    )
    code, out, _ = run(capsys, "--url", sqlite_url, "--json", "checkpoints", "list")
    assert out.isascii() and json.loads(out)[0]["projection_name"] == projection
    code, out, _ = run(capsys, "--url", sqlite_url, "--json", "dlq", "show", "1")
    assert out.isascii() and json.loads(out)["error_message"] == "boom" + HOSTILE


def test_output_the_terminal_cannot_encode_is_escaped(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    aggregate_id = uuid4()

    async def fill() -> None:
        async with open_backend(sqlite_url) as backend:
            placed = CtOrderPlaced(aggregate_id=aggregate_id, customer="c")
            await backend.events.append_events(aggregate_id, "Café", [placed], 0)

    asyncio.run(fill())
    ascii_out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    monkeypatch.setattr(sys, "stdout", ascii_out)
    assert main(["--url", sqlite_url, "events", "tail"]) == 0
    ascii_out.seek(0)
    row = ascii_out.read().splitlines()[1].split()
    assert row[1:4] == [f"{aggregate_id}:Caf\\xe9", "1", "coretest.OrderPlaced"]


def test_tail_streams_up_to_an_undecodable_row_and_names_it(
    capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    """Every event before a poison row is printed, then one line naming its position (and its
    hostile stream, escaped); tail resumes after it with --from."""
    first, second = uuid4(), uuid4()

    async def fill() -> None:
        async with open_backend(sqlite_url) as backend:
            for aggregate_id in (first, second):
                placed = CtOrderPlaced(aggregate_id=aggregate_id, customer="c")
                items = [
                    CtItemAdded(aggregate_id=aggregate_id, sku="s", aggregate_version=v)
                    for v in (2, 3)
                ]
                await backend.events.append_events(aggregate_id, "CtOrder", [placed, *items], 0)
                if aggregate_id == first:
                    row = RawEventRow(uuid4(), "Evil\x1b[2J", 1, "coretest.X", 1, "{not json")
                    assert await write_raw_event(backend, row) == 4

    asyncio.run(fill())
    for argv, printed in [
        (["events", "tail", "--from", "0"], [1, 2, 3]),
        (["events", "tail"], [1, 2, 3]),  # the last 20 start before the row
        (["events", "tail", "--limit", "4"], []),  # the last 4 start at the row
    ]:
        code, out, err = run(capsys, "--url", sqlite_url, *argv)
        assert code == 1 and positions(out) == printed
        assert err.count("\n") == 1 and "stored event at global position 4" in err
        assert "cannot be decoded" in err and "events tail --from 4" in err
        assert "Evil\\x1b[2J" in err and "\x1b" not in err
    code, out, err = run(capsys, "--url", sqlite_url, "--json", "events", "tail", "--from", "0")
    assert code == 1 and [json.loads(line)["global_position"] for line in out.splitlines()] == [
        1,
        2,
        3,
    ]
    for argv in (["--from", "4"], ["--limit", "3"]):
        code, out, err = run(capsys, "--url", sqlite_url, "events", "tail", *argv)
        assert code == 0 and positions(out) == [5, 6, 7]


# -- migrate --------------------------------------------------------------------------------------


def test_migrate_between_memory_databases(capsys: pytest.CaptureFixture[str]) -> None:
    source, target = Db(), Db()
    source.add_orders(10, items=2)
    events = source.events()
    repo = MemoryCheckpointRepository(source.store)
    source.run(repo.update_checkpoint("p", events[4].event_id, events[4].event_type))  # type: ignore[attr-defined]
    argv = ["migrate", "--from", source.url, "--to", target.url, "--batch-size", "7"]
    code, out, err = run(capsys, *argv)
    assert code == 0 and "30 events copied" in out and "1 checkpoint," in out
    assert "30/30 events (100%)" in err  # progress goes to stderr
    assert "Verified: 30 events on both sides" in out
    assert [s.event_id for s in target.events()] == [s.event_id for s in events]  # type: ignore[attr-defined]
    code, out, _ = run(capsys, "--json", *argv)
    data = json.loads(out)
    assert (data["events_copied"], data["events_skipped"]) == (0, 30)


def test_migrate_refuses_a_missing_sqlite_source(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nope.db"
    code, _, err = run(capsys, "migrate", "--from", f"sqlite:///{missing}", "--to", "memory://")
    assert code == 5 and "no database at" in err and not missing.exists()


# -- demo -----------------------------------------------------------------------------------------


def test_demo_on_memory(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "demo", "--url", "memory://")
    assert code == 0, err
    assert "Saved Order" in out and "Reloaded" in out and "status=created" in out
    assert "#3  demo.OrderShipped" in out
    assert "checkpointed at global position 3" in out and "1 published" in out
    code, out, _ = run(capsys, "--json", "--url", "memory://", "demo")
    steps = {s["step"]: s for s in json.loads(out)["steps"]}
    assert steps["load"]["state"]["items"] == {"WIDGET-1": 2}
    assert [e["event_type"] for e in steps["read"]["events"]] == [
        "demo.OrderCreated",
        "demo.ItemAdded",
        "demo.OrderShipped",
    ]


def test_demo_on_the_default_sqlite_file_reruns_clean(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "sqlite" not in get_registry().backend_names():
        pytest.skip("the sqlite backend is not installed")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVENTSOURCE_URL", "memory://must-not-be-used")
    for _ in range(2):
        code, out, err = run(capsys, "demo")
        assert code == 0, err
        assert f"sqlite backend at {tmp_path / 'eventsource-demo.db'}" in out
        assert "#3  demo.OrderShipped" in out and "#4" not in out
    code, out, _ = run(capsys, "--url", "sqlite:///eventsource-demo.db", "info", "--json")
    data = json.loads(out)
    assert data["global_position"] == 3 and data["checkpoints"] == 1
    assert data["outbox"]["published_count"] == 1
    code, out, _ = run(capsys, "--url", "sqlite:///eventsource-demo.db", "events", "tail")
    assert [line.split()[3] for line in out.splitlines()[1:]] == [
        "demo.OrderCreated",
        "demo.ItemAdded",
        "demo.OrderShipped",
    ]


# -- the console script ---------------------------------------------------------------------------


@pytest.fixture
def clean_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if k != "EVENTSOURCE_URL"}
    yield env


def test_console_script(tmp_path: Path, clean_env: dict[str, str]) -> None:
    assert CONSOLE_SCRIPT.exists(), "the eventsource console script is installed in the venv"
    done = subprocess.run(
        [str(CONSOLE_SCRIPT), "--json", "demo", "--url", "memory://"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["backend"] == "memory"
    failed = subprocess.run(
        [str(CONSOLE_SCRIPT), "--url", "nosuch://", "info"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env,
        timeout=60,
        check=False,
    )
    assert failed.returncode == 4 and "Traceback" not in failed.stderr
    assert failed.stderr.strip().startswith("eventsource: error: unknown backend 'nosuch'")


def test_outbox_list_and_retry_on_memory(capsys: pytest.CaptureFixture[str], db: Db) -> None:
    db.add_orders(2)
    outbox = MemoryOutboxRepository(db.store)
    for stored in db.events():
        db.run(outbox.add_event(stored.event))  # type: ignore[attr-defined]
    claimed = db.run(outbox.get_pending_events(limit=2))
    for entry in claimed:  # type: ignore[attr-defined]
        db.run(outbox.mark_failed(entry.id, "broker said no"))
    code, out, _ = run(capsys, "--url", db.url, "outbox", "list", "--status", "failed", "--json")
    failed = json.loads(out)
    assert code == 0 and [e["last_error"] for e in failed] == ["broker said no"] * 2
    code, out, _ = run(capsys, "--url", db.url, "outbox", "list", "--limit", "1")
    assert code == 0 and len(out.splitlines()) == 2 and out.startswith("ID ")
    code, _, err = run(capsys, "--url", db.url, "outbox", "retry")
    assert code == 2 and "--all" in err  # neither ID nor --all
    code, out, _ = run(capsys, "--url", db.url, "outbox", "retry", failed[0]["id"])
    assert code == 0 and out.startswith("1 failed")
    code, _, err = run(capsys, "--url", db.url, "outbox", "retry", failed[0]["id"], "--json")
    assert code == 1 and json.loads(err)["code"] == "error" and "not failed" in err
    code, out, _ = run(capsys, "--url", db.url, "outbox", "retry", "--all", "--json")
    assert code == 0 and json.loads(out) == {"retried": 1}
    assert db.run(outbox.get_stats()).pending_count == 4  # type: ignore[attr-defined]
    assert db.run(outbox.list_entries("failed")) == []
    code, _, err = run(capsys, "--url", db.url, "outbox", "list", "--status", "lost")
    assert code == 2 and "lost" in err


def test_events_show_by_id_looks_it_up_past_an_undecodable_row(
    capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    """An event id is looked up by its index, not by reading the log from the start: a poison
    row before the event does not stop ``events show ID`` (a scan would stop there)."""
    aggregate_id = uuid4()

    async def fill() -> object:
        async with open_backend(sqlite_url) as backend:
            row = RawEventRow(uuid4(), "Poison", 1, "coretest.X", 1, "{not json")
            assert await write_raw_event(backend, row) == 1
            placed = CtOrderPlaced(aggregate_id=aggregate_id, customer="c")
            await backend.events.append_events(aggregate_id, "CtOrder", [placed], 0)
            assert await backend.events.get_event_position(uuid4()) is None
            return placed.event_id

    event_id = asyncio.run(fill())
    code, out, err = run(capsys, "--url", sqlite_url, "events", "show", str(event_id))
    assert code == 0, err
    assert json.loads(out)["global_position"] == 2
    code, _, err = run(capsys, "--url", sqlite_url, "events", "show", str(uuid4()))
    assert code == 1 and "no event" in err
    code, out, _ = run(capsys, "--url", sqlite_url, "events", "show", "1")
    assert code == 0 and json.loads(out)["raw_payload"] == "{not json"


def test_counts_in_sentences_are_singular_for_one(
    capsys: pytest.CaptureFixture[str], db: Db
) -> None:
    from eventsource.cli._words import counted
    from eventsource.inspection import COUNT_LIMIT

    assert [counted(n, "stream") for n in (0, 1, 2)] == ["0 streams", "1 stream", "2 streams"]
    assert counted(1, "DLQ entry", "DLQ entries") == "1 DLQ entry"
    assert counted(3, "DLQ entry", "DLQ entries") == "3 DLQ entries"
    db.add_orders(1, items=0)
    code, out, _ = run(capsys, "--url", db.url, "status")
    assert code == 0 and "global position 1, 1 event in 1 stream\n" in out
    db.add_orders(1)
    code, out, _ = run(capsys, "--url", db.url, "status")
    assert code == 0 and "global position 3, 3 events in 2 streams\n" in out
    code, out, _ = run(capsys, "--url", db.url, "status", "--help")
    assert f"{COUNT_LIMIT:,} events" in " ".join(out.split())
