"""The snapshot kit can fail: run SnapshotStoreConformance (through pytester) on toy backends
whose snapshot store breaks one guarantee each, and check exactly the right tests fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventsource.testing import SnapshotStoreConformance

HERE = Path(__file__).parent

#: For each toy, the kit tests that must fail (every other one must pass).
EXPECTED_FAILURES: dict[str, set[str]] = {
    "sound": set(),
    "last_write_wins": {"test_snapshot_never_moves_backwards"},
    "read_then_write": {"test_race_snapshot_writers_keep_the_newest"},
    # reads give the wrong version: every test that reads one back fails, and the repository
    # ignores such snapshots (their event id is not the stream's at that version)
    "stale_version": {
        "test_snapshot_round_trip",
        "test_snapshot_seen_by_another_connection",
        "test_snapshot_never_moves_backwards",
        "test_snapshots_are_per_aggregate_type",
        "test_race_snapshot_writers_keep_the_newest",
        "test_repository_uses_the_backends_snapshot_store",
        "test_load_starts_from_the_snapshot",
        "test_race_snapshot_write_and_append",
    },
}

KIT_CLASS = """
class Test_{kind}(SnapshotStoreConformance):
    @pytest.fixture
    def backend_opener(self):
        return snapshot_toy_opener("{kind}")
"""


def test_snapshot_kit_fails_exactly_the_broken_guarantees(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\n"
        "asyncio_mode = strict\n"
        "asyncio_default_fixture_loop_scope = function\n"
        "filterwarnings = error\n"
    )
    pytester.makepyfile(
        broken_toys=(HERE / "broken_toys.py").read_text(),
        broken_snapshot_toys=(HERE / "broken_snapshot_toys.py").read_text(),
    )
    header = (
        "import pytest\nfrom broken_snapshot_toys import snapshot_toy_opener\n"
        "from eventsource.testing import SnapshotStoreConformance\n"
    )
    classes = "".join(KIT_CLASS.format(kind=kind) for kind in EXPECTED_FAILURES)
    pytester.makepyfile(test_snapshot_toys=header + classes)
    recorder = pytester.inline_run("-p", "no:cacheprovider")
    passed, skipped, failed = recorder.listoutcomes()
    assert not recorder.getfailedcollections() and not skipped
    standard = {n for n in dir(SnapshotStoreConformance) if n.startswith("test_")}
    for kind, expected in EXPECTED_FAILURES.items():
        got = {r.nodeid.split("::")[2] for r in failed if f"Test_{kind}::" in r.nodeid}
        ok = {r.nodeid.split("::")[2] for r in passed if f"Test_{kind}::" in r.nodeid}
        assert got == expected, f"toy {kind!r}: failed {sorted(got)}"
        assert ok == standard - expected, f"toy {kind!r}"
