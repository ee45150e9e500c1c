"""The kit can fail: run it (through pytester, in strict asyncio mode) on toy backends that each
break one guarantee, and check that exactly the right kit tests fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventsource.testing import (
    BulkTransferConformance,
    ShardReadConformance,
    StreamLifecycleConformance,
    UndecodableEventConformance,
)

TOYS_SOURCE = (Path(__file__).parent / "broken_toys.py").read_text()

#: For each toy, the kit tests that must fail (every other test must pass or skip).
EXPECTED_FAILURES: dict[str, set[str]] = {
    "sound": set(),
    "no_version_check": {
        "test_append_with_exact_expected_version",
        "test_expected_version_no_stream",
        "test_expected_version_stream_exists",
        "test_race_one_winner_per_expected_version",
        "test_race_one_creator_per_new_stream",
        "test_transactional_outbox",
        # a retry at another expected version is no retry: without the check it is taken as one
        "test_same_ids_elsewhere_are_duplicates",
        "test_race_retries_beside_other_appends",
    },
    "commit_order": {"test_race_tailing_reader_sees_every_event_once"},
    "not_idempotent": {
        "test_retry_returns_the_original_result",
        "test_retry_after_the_stream_moved_on",
        "test_race_retries_write_once",
        "test_race_retries_beside_other_appends",
    },
    "page_skipping": {"test_reads_page_beyond_page_size"},
    "double_claim": {"test_race_outbox_entry_claimed_once"},
    "unordered_claims": {
        "test_ordered_claim_hands_out_oldest_per_aggregate",
        "test_race_ordered_claims_one_entry_per_aggregate",
    },
    "backwards_checkpoints": {
        "test_checkpoint_never_moves_backwards",
        "test_race_checkpoint_never_moves_backwards",
        "test_checkpoint_unknown_event_is_refused",
        "test_checkpoint_bad_arguments_are_refused",
        "test_checkpoint_given_position_must_be_the_events",
    },
    "resetting_checkpoints": {
        "test_checkpoint_unknown_event_is_refused",
        "test_checkpoint_bad_arguments_are_refused",
        "test_checkpoint_given_position_must_be_the_events",
    },
    "unfenced_checkpoints": {
        "test_stale_token_checkpoint_write_refused",
        "test_race_fenced_writes_against_takeover",
    },
}

KIT_FILE = """
import pytest
from broken_toys import toy_opener
from eventsource.testing import BackendConformance
{classes}
"""

KIT_CLASS = """
class Test_{kind}(BackendConformance):
    @pytest.fixture
    def backend_opener(self):
        return toy_opener("{kind}")
"""


@pytest.fixture
def kit_project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytest project in strict asyncio mode with warnings as errors, holding the toys."""
    pytester.makeini(
        "[pytest]\n"
        "asyncio_mode = strict\n"
        "asyncio_default_fixture_loop_scope = function\n"
        "filterwarnings = error\n"
    )
    pytester.makepyfile(broken_toys=TOYS_SOURCE)
    return pytester


def test_kit_fails_exactly_the_broken_guarantees(kit_project: pytest.Pytester) -> None:
    """One inner run of the whole kit on every toy; per toy, the failing set is as expected."""
    classes = "".join(KIT_CLASS.format(kind=kind) for kind in EXPECTED_FAILURES)
    kit_project.makepyfile(test_toys=KIT_FILE.format(classes=classes))
    recorder = kit_project.inline_run("-p", "no:cacheprovider")
    passed, skipped, failed = recorder.listoutcomes()
    assert not recorder.getfailedcollections()
    outcomes: dict[str, dict[str, set[str]]] = {
        kind: {"passed": set(), "failed": set(), "skipped": set()} for kind in EXPECTED_FAILURES
    }
    for outcome, reports in (("passed", passed), ("skipped", skipped), ("failed", failed)):
        for report in reports:
            _, cls, test = report.nodeid.split("::")
            outcomes[cls.removeprefix("Test_")][outcome].add(test)
    for kind, expected in EXPECTED_FAILURES.items():
        got = outcomes[kind]
        assert got["failed"] == expected, f"toy {kind!r}: failed {sorted(got['failed'])}"
        assert len(got["passed"]) >= 40, f"toy {kind!r}: only {len(got['passed'])} passed"
    # the toys have no raw_event_writer: the tests of undecodable rows skip, saying so; nor a
    # missing_store_opener: the test of opening a missing store skips too
    undecodable = {n for n in dir(UndecodableEventConformance) if n.startswith("test_")}
    lifecycle = {n for n in dir(StreamLifecycleConformance) if n.startswith("test_")}
    lifecycle |= {n for n in dir(ShardReadConformance) if n.startswith("test_")}  # opt-in too
    # nor bulk transfer (capability bulk_transfer)
    lifecycle |= {n for n in dir(BulkTransferConformance) if n.startswith("test_")}
    skipped = {t for t in outcomes["sound"]["skipped"] if t.split("[")[0] not in lifecycle}
    assert skipped == {
        "test_events_survive_reopen",
        "test_open_missing_store_without_create",
        *undecodable,
    }


STORE_ONLY_CLASS = """
import pytest
from broken_toys import toy_store_opener
from eventsource.spi import Capabilities
from eventsource.testing import EventStoreConformance

class Test_{kind}(EventStoreConformance):
    capabilities = Capabilities(persistent=False, parallel_writers=False)

    @pytest.fixture
    def event_store_opener(self):
        return toy_store_opener("{kind}")
"""


def _failures(recorder: pytest.HookRecorder) -> dict[str, str]:
    """The failed tests of an inner run, by test name, with their failure text."""
    _, _, failed = recorder.listoutcomes()
    return {report.nodeid.split("::")[-1]: report.longreprtext for report in failed}


def test_kit_fails_a_read_that_never_ends(kit_project: pytest.Pytester) -> None:
    """A store whose ``from_position`` is inclusive re-reads the last row of every page and
    its reads never end (nor yield to the loop, so no timeout could stop them): the kit's read
    cap fails each such test with a message naming the backend, the read and the usual cause,
    and the run ends; the tests whose reads end fail on the duplicates they get."""
    kit_project.makepyfile(test_toy=STORE_ONLY_CLASS.format(kind="inclusive_from_position"))
    recorder = kit_project.inline_run("-p", "no:cacheprovider", "--eventsource-read-cap=500")
    failures = _failures(recorder)
    capped = {name for name, text in failures.items() if "the kit's read cap" in text}
    assert capped >= {
        "test_read_all_global_order_and_positions",
        "test_reads_page_beyond_page_size",
    }
    text = failures["test_read_all_global_order_and_positions"]
    assert "InclusiveFromPositionStore" in text and ".read_all yielded more than 500" in text
    assert "resumes AT the last row of the previous page" in text
    # the sound store, certified the same way (event store only), passes: the failures are
    # the toy's
    kit_project.makepyfile(test_toy=STORE_ONLY_CLASS.format(kind="sound"))
    sound = kit_project.inline_run("-p", "no:cacheprovider", "--eventsource-read-cap=500")
    passed, skipped, failed = sound.listoutcomes()
    assert not failed and len(passed) >= 18
    reasons = {r.nodeid.split("::")[-1]: str(r.longrepr) for r in skipped}
    assert set(reasons) == {"test_events_survive_reopen", "test_transactional_outbox"}
    assert (
        "without the outbox role: define the 'outbox_factory'"
        in (reasons["test_transactional_outbox"])
    )


def test_kit_times_out_a_backend_that_never_answers(kit_project: pytest.Pytester) -> None:
    """An append that waits forever fails its test after ``--eventsource-timeout`` with a
    message naming the timeout; the next tests still run."""
    kit_project.makepyfile(test_toy=STORE_ONLY_CLASS.format(kind="hanging_append"))
    recorder = kit_project.inline_run(
        "-p",
        "no:cacheprovider",
        "--eventsource-timeout=0.5",
        "-k",
        "test_append_to_new_stream or test_event_exists_and_positions",
    )
    failures = _failures(recorder)
    assert set(failures) == {"test_append_to_new_stream", "test_event_exists_and_positions"}
    for text in failures.values():
        assert "did not finish within --eventsource-timeout=0.5s" in text


def test_kit_interrupts_a_backend_that_never_yields(kit_project: pytest.Pytester) -> None:
    """An append that spins without ever giving the loop a turn is interrupted (SIGALRM) a
    little after the timeout, failing with the same message."""
    kit_project.makepyfile(test_toy=STORE_ONLY_CLASS.format(kind="spinning_append"))
    recorder = kit_project.inline_run(
        "-p", "no:cacheprovider", "--eventsource-timeout=0.5", "-k", "test_append_to_new_stream"
    )
    failures = _failures(recorder)
    assert set(failures) == {"test_append_to_new_stream"}
    assert "never gave its event loop a turn" in failures["test_append_to_new_stream"]


def test_kit_assertions_show_their_values(kit_project: pytest.Pytester) -> None:
    """The plugin registers assertion rewriting for the kit: a failing kit assertion prints
    the values it compared, not a bare AssertionError."""
    kit_project.makepyfile(test_toy=STORE_ONLY_CLASS.format(kind="page_skipping"))
    result = kit_project.runpytest_inprocess(
        "-p", "no:cacheprovider", "-k", "test_reads_page_beyond_page_size"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*assert 1? == 14*", "*where 1? = len(*"])
