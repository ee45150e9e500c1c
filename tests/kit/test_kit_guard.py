"""The certification guard: a kit subclass may not drop or replace a standard test silently."""

from __future__ import annotations

import pytest

from eventsource.testing import BackendConformance, EventStoreConformance
from eventsource.testing._base import ConformanceBase


def test_overriding_a_standard_test_fails_at_class_creation() -> None:
    """Replacing a standard test with a plain method raises TypeError naming the test."""
    with pytest.raises(TypeError, match="overrides the standard conformance test") as info:

        class TestCheating(BackendConformance):
            async def test_append_to_new_stream(self) -> None:
                pass

    assert "EventStoreConformance.test_append_to_new_stream" in str(info.value)
    assert "xfail(reason=" in str(info.value)


def test_deleting_a_standard_test_fails_at_class_creation() -> None:
    """Setting a standard test to None raises TypeError."""
    with pytest.raises(TypeError, match="deletes the standard conformance test"):

        class TestDeleting(EventStoreConformance):
            test_read_all_options = None


def test_xfail_without_reason_is_refused() -> None:
    """An xfail mark must carry a reason."""
    with pytest.raises(TypeError, match="without an xfail mark"):

        class TestNoReason(BackendConformance):
            @pytest.mark.xfail
            async def test_wait_for_events(self) -> None:
                pass

    with pytest.raises(TypeError):

        class TestSkipInstead(BackendConformance):
            @pytest.mark.skip(reason="not now")
            async def test_wait_for_events(self) -> None:
                pass


def test_xfail_with_reason_and_own_tests_are_allowed() -> None:
    """An xfail override with a reason, new tests, and overriding non-test members are fine."""

    class TestHonest(BackendConformance):
        concurrency = 2

        @pytest.mark.xfail(reason="notifications arrive late on this backend", strict=True)
        async def test_wait_for_events(self) -> None:
            raise AssertionError("late")

        async def test_my_own_extra_check(self) -> None:
            pass

    assert TestHonest.concurrency == 2


def test_guard_applies_through_intermediate_classes() -> None:
    """A subclass of a subclass is checked against the kit's tests too."""

    class TestBase(BackendConformance):
        pass

    with pytest.raises(TypeError):

        class TestChild(TestBase):
            async def test_outbox_mark_failed(self) -> None:
                pass


def test_kit_classes_are_not_collected_and_every_test_is_documented() -> None:
    """Kit classes are not named Test* (pytest would collect them unconfigured) and every
    standard test has a docstring saying what it checks and how to fix a failure."""
    names = [n for n in dir(BackendConformance) if n.startswith("test_")]
    assert len(names) >= 50
    assert not BackendConformance.__name__.startswith("Test")
    for name in names:
        doc = getattr(BackendConformance, name).__doc__ or ""
        assert "Fix:" in doc, f"{name} has no 'Fix:' paragraph"
    assert issubclass(BackendConformance, ConformanceBase)


def test_guard_reported_at_collection(pytester: pytest.Pytester) -> None:
    """In a real test run, a cheating subclass is a collection error naming the test."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        test_cheat="""
        import pytest
        from eventsource import open_backend
        from eventsource.testing import BackendConformance

        class TestCheat(BackendConformance):
            @pytest.fixture
            def backend_opener(self):
                return lambda: open_backend("memory://")

            async def test_race_outbox_entry_claimed_once(self, backend):
                pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*test_race_outbox_entry_claimed_once*xfail*"])


def test_missing_opener_fails_with_instructions(pytester: pytest.Pytester) -> None:
    """A subclass that forgets backend_opener gets an error that says what to write."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        test_forgot="""
        from eventsource.testing import EventStoreConformance

        class TestForgot(EventStoreConformance):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-k", "test_append_to_new_stream")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*must define a 'backend_opener' fixture*"])


def test_non_empty_storage_is_reported(pytester: pytest.Pytester) -> None:
    """An opener that hands every test the same database fails with a clear message."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        test_shared="""
        import pytest
        from eventsource import open_backend
        from eventsource.testing import EventStoreConformance

        KEEP_ALIVE = open_backend("memory://kit-shared-by-every-test")  # holds the named state

        class TestShared(EventStoreConformance):
            @pytest.fixture
            def backend_opener(self):
                return lambda: open_backend("memory://kit-shared-by-every-test")
        """
    )
    result = pytester.runpytest(
        "-p", "no:cacheprovider", "-k", "test_append_to_new_stream or test_append_result_fields"
    )
    result.stdout.fnmatch_lines(["*Each test needs its own empty storage*"])
    result.assert_outcomes(passed=1, errors=1)


def test_xfail_override_is_reported_as_xfailed(pytester: pytest.Pytester) -> None:
    """The documented way to declare a deviation runs, and shows up as xfailed in the report."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        test_deviation="""
        import pytest
        from uuid import uuid4
        from eventsource import open_backend
        from eventsource.testing import EventStoreConformance

        class TestDeviation(EventStoreConformance):
            @pytest.fixture
            def backend_opener(self):
                url = f"memory://{uuid4().hex}"
                return lambda: open_backend(url)

            @pytest.mark.xfail(reason="this toy pretends its stamps are off", strict=True)
            async def test_append_to_new_stream(self, backend):
                await super().test_append_to_new_stream(backend)
                raise AssertionError("pretend")
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "-rx", "-k", "new_stream")
    result.assert_outcomes(xfailed=1)
    result.stdout.fnmatch_lines(["*XFAIL*this toy pretends its stamps are off*"])
