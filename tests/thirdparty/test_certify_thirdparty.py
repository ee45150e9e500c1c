"""``certify`` on third-party backends registered as plugin modules: the JSON-lines example
is certified from a URL (its ``scratch_storage``), and a deliberately broken copy of it
(``broken_jsonl``: ``event_exists`` never finds an event) fails exactly the kit tests that
catch that bug, each reported with the kit's fix hint."""

from __future__ import annotations

from pathlib import Path

from eventsource.testing import BackendConformance, certify
from eventsource.testing._certify_report import fix_hint

PLUGINS = ["eventsource_jsonl.plugin", "broken_jsonl"]
BROKEN = {
    "test_event_exists_and_positions",
    "test_read_ids_and_options_must_be_typed",
    "test_get_events_raises_at_an_undecodable_event",
}


def test_the_jsonl_example_is_certified_from_a_url(tmp_path: Path) -> None:
    """Every kit test of the event store passes; the roles it lacks and the capabilities it does not
    declare are skipped and named; its temporary directories are gone."""
    report = certify(f"jsonl:///{tmp_path}/events.jsonl", plugins=PLUGINS)
    assert report.certified, [(f.name, f.message) for f in report.failures]
    lacking = {s.lacks for s in report.skips if s.kind == "role"}
    assert lacking == {"checkpoints", "outbox", "dlq", "snapshots"}
    assert "stream_lifecycle" in report.skipped_capabilities()
    assert list(tmp_path.iterdir()) == []


def test_a_broken_backend_fails_with_the_kits_hints(tmp_path: Path) -> None:
    """The failures are exactly the tests that rely on event_exists, each with its message
    and the Fix: paragraph of its docstring; the report is not certified."""
    report = certify(f"brokenjsonl:///{tmp_path}/", plugins=PLUGINS)
    assert not report.certified
    assert {f.name for f in report.failures} == BROKEN
    for failure in report.failures:
        assert failure.hint == fix_hint(getattr(BackendConformance, failure.name).__doc__)
        assert failure.hint and failure.message and failure.kit_class.endswith("Conformance")
    assert report.count("failed") == len(BROKEN)
    assert list(tmp_path.iterdir()) == []
