"""``certify(url)``: the whole kit against a backend named by a bare URL, in a child pytest,
each test on fresh scratch storage beside what the URL names, which is never touched."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from uuid import uuid4

import pytest

from eventsource import (
    ConfigurationError,
    InvalidArgumentError,
    StorageUnavailableError,
    UnknownBackendError,
    open_backend,
)
from eventsource.testing import BackendConformance, CertificationReport, certify
from eventsource.testing._certify_report import fix_hint, skip_kind
from eventsource.testing._events import AGGREGATE_TYPE, noted

KIT_TESTS = {name for name in dir(BackendConformance) if name.startswith("test_")}


def test_memory_is_certified_with_every_kit_test() -> None:
    """memory:// passes every kit test; the one needing persistence is skipped by capability
    and the undecodable-row tests for want of a raw writer, each saying so; progress is told
    as tests finish."""
    seen: list[tuple[int, int]] = []
    report = certify("memory://", progress=lambda done, total: seen.append((done, total)))
    assert report.certified, report.failures
    assert seen[-1] == (len(report.tests), len(report.tests))  # progress, ending at the end
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert report.backend == "memory"
    assert {t.name.split("[")[0] for t in report.tests} == KIT_TESTS
    assert report.count("failed") == 0
    assert report.count("passed") == len(report.tests) - len(report.skips)
    assert report.skipped_capabilities() == {"persistent": 1}
    kinds = {(s.kind, s.lacks) for s in report.skips}
    assert kinds == {("capability", "persistent"), ("fixture", None)}
    assert all(s.kit_class for s in report.skips)
    table = report.by_class()
    assert table["EventStoreConformance"]["passed"] > 10
    assert set(table) >= {"CheckpointConformance", "OutboxConformance", "DLQConformance"}


async def _seeded_file(path: Path) -> None:
    aid = uuid4()
    async with open_backend(f"sqlite:///{path}") as backend:
        await backend.events.append_events(aid, AGGREGATE_TYPE, noted(aid, 2), 0)


def _state(app: Path) -> tuple[str, int, list[str]]:
    """The file's bytes and mtime, and what its directory holds."""
    names = sorted(p.name for p in app.parent.iterdir())
    return hashlib.sha256(app.read_bytes()).hexdigest(), app.stat().st_mtime_ns, names


async def test_sqlite_file_is_certified_and_left_untouched(tmp_path: Path) -> None:
    """sqlite:///dir/app.db: every kit test passes (undecodable rows included: the backend
    gives a raw writer) in temporary directories beside app.db, all removed; app.db is not
    opened (same bytes, same mtime)."""
    app = tmp_path / "app.db"
    await _seeded_file(app)
    before = _state(app)
    report = certify(f"sqlite:///{app}")
    assert report.certified, [f.name for f in report.failures]
    assert report.backend == "sqlite"
    assert report.skips == ()
    assert {t.name.split("[")[0] for t in report.tests} == KIT_TESTS
    assert _state(app) == before


def test_sqlite_directory_and_memory(tmp_path: Path) -> None:
    """A URL naming a directory works alike; ``:memory:`` certifies private databases, its
    tests of shared connections and persistence skipped by capability."""
    assert certify(f"sqlite:///{tmp_path}/", keyword="OpeningConformance").certified
    assert list(tmp_path.iterdir()) == []
    report = certify("sqlite:///:memory:", keyword="ConcurrencyConformance or EventStore")
    assert report.certified
    assert set(report.skipped_capabilities()) == {"concurrent_connections", "persistent"}


def test_bad_urls_are_typed_errors(tmp_path: Path) -> None:
    """Unknown scheme, missing directory, a -k that selects nothing or does not parse: one
    typed error each, before any test runs, and nothing left behind."""
    with pytest.raises(UnknownBackendError):
        certify("nosuchdb://x")
    with pytest.raises(StorageUnavailableError, match="does not exist"):
        certify(f"sqlite:///{tmp_path}/no/such/dir/app.db")
    with pytest.raises(InvalidArgumentError, match="no kit test matches"):
        certify("memory://", keyword="no_such_test_anywhere")
    with pytest.raises(InvalidArgumentError, match="-k"):
        certify("memory://", keyword="and (")
    assert list(tmp_path.iterdir()) == []


def test_a_backend_without_scratch_storage_is_refused() -> None:
    """A backend that gives no scratch_storage cannot be certified from a URL: the error
    says what to add."""
    with pytest.raises(ConfigurationError, match="scratch_storage"):
        certify("toyscratchless://x", plugins=["scratchless_plugin"])


def test_report_round_trips_through_json() -> None:
    """What --json prints reads back as the same report, with the derived counts."""
    report = certify("memory://", keyword="OpeningConformance")
    data = json.loads(json.dumps(report.to_dict()))
    assert CertificationReport.from_dict(data) == report
    assert data["certified"] is True
    assert data["counts"]["passed"] == report.count("passed")
    assert data["by_class"] == {"OpeningConformance": {"passed": 2, "failed": 0, "skipped": 0}}


def test_skip_reasons_and_hints_are_read_as_the_kit_writes_them() -> None:
    assert skip_kind("backend 'x' does not declare capability 'persistent'") == (
        "capability",
        "persistent",
    )
    assert skip_kind("backend 'x' is certified without the dlq role: define") == ("role", "dlq")
    assert skip_kind("backend 'x' provides no snapshot store") == ("role", "snapshots")
    assert skip_kind("no missing_store_opener fixture") == ("fixture", None)
    assert fix_hint("Checks a thing.\n\n    Fix: do\n    it right.\n") == "do it right."
    assert fix_hint("No hint here.") == ""
    for name in KIT_TESTS:  # every kit test has one to report
        assert fix_hint(getattr(BackendConformance, name).__doc__), name


@pytest.mark.slow
def test_processes_race_on_a_sqlite_file(tmp_path: Path) -> None:
    """With processes=True the races between writer processes run too, their children
    opening the scratch URL; the directory is left empty."""
    report = certify(f"sqlite:///{tmp_path}/", processes=True, keyword="TestProcesses")
    assert report.certified, [(f.name, f.message) for f in report.failures]
    assert report.by_class() == {
        "ProcessConcurrencyConformance": {"passed": 3, "failed": 0, "skipped": 0}
    }
    assert list(tmp_path.iterdir()) == []


def test_a_backend_that_never_answers_fails_on_the_timeout() -> None:
    """A test stuck in the backend fails after --timeout, naming it; the run goes on."""
    report = certify(
        "toyhang://",
        plugins=["hanging_plugin"],
        keyword="test_event_exists_and_positions or test_append_to_new_stream",
        # Generous: the test that answers must finish within it on a loaded machine; only
        # the hanging one waits it out.
        timeout=15,
    )
    assert not report.certified
    assert [f.name for f in report.failures] == ["test_event_exists_and_positions"]
    assert "did not finish within --eventsource-timeout=15s" in report.failures[0].message
    assert report.failures[0].hint == "answer from committed data only."
    assert report.count("passed") == 1
