"""The lifecycle kit can fail: run StreamLifecycleConformance (through pytester) on toy
backends that break one guarantee each, and check exactly the right tests fail."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent

#: For each toy, the kit tests that must fail (every other one must pass).
EXPECTED_FAILURES: dict[str, set[str]] = {
    "sound": set(),
    "unrecorded": {
        "test_delete_is_recorded_past_every_position[soft]",
        "test_delete_is_recorded_past_every_position[hard]",
        "test_soft_delete_restores",
        "test_save_racing_delete",
        "test_truncate",
        "test_retention_scavenge",
    },
    "deaf_appends": {
        "test_append_to_deleted_stream[soft]",
        "test_append_to_deleted_stream[hard]",
        "test_restore_refuses_an_id_taken_since",  # its last check: the stream stays deleted
        "test_save_racing_delete",
    },
    "undead_snapshots": {
        "test_outbox_and_snapshot_go_with_the_stream[soft]",
        "test_outbox_and_snapshot_go_with_the_stream[hard]",
        "test_snapshot_racing_delete",
    },
    "forgetful_retention": {"test_retention_is_stored"},
}

KIT_CLASS = """
class Test_{kind}(StreamLifecycleConformance):
    @pytest.fixture
    def backend_opener(self):
        return lifecycle_toy_opener("{kind}")
"""


def test_lifecycle_kit_fails_exactly_the_broken_guarantees(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        "[pytest]\n"
        "asyncio_mode = strict\n"
        "asyncio_default_fixture_loop_scope = function\n"
        "filterwarnings = error\n"
    )
    pytester.makepyfile(
        broken_toys=(HERE / "broken_toys.py").read_text(),
        broken_lifecycle_toys=(HERE / "broken_lifecycle_toys.py").read_text(),
    )
    header = (
        "import pytest\nfrom broken_lifecycle_toys import lifecycle_toy_opener\n"
        "from eventsource.testing import StreamLifecycleConformance\n"
    )
    classes = "".join(KIT_CLASS.format(kind=kind) for kind in EXPECTED_FAILURES)
    pytester.makepyfile(test_lifecycle_toys=header + classes)
    recorder = pytester.inline_run("-p", "no:cacheprovider")
    passed, skipped, failed = recorder.listoutcomes()
    assert not recorder.getfailedcollections() and not skipped
    sound = {r.nodeid.split("::")[2] for r in passed if "Test_sound::" in r.nodeid}
    assert len(sound) == 16
    for kind, expected in EXPECTED_FAILURES.items():
        got = {r.nodeid.split("::")[2] for r in failed if f"Test_{kind}::" in r.nodeid}
        ok = {r.nodeid.split("::")[2] for r in passed if f"Test_{kind}::" in r.nodeid}
        assert got == expected, f"toy {kind!r}: failed {sorted(got)}"
        assert ok == sound - expected, f"toy {kind!r}"
