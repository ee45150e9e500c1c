"""docs/writing-a-backend.md: it documents every kit test, kit class and contract method, its
Python blocks compile, and the blocks that are test files (first line ``# tests/test_*.py``)
pass when run as written (through pytester)."""

from __future__ import annotations

import inspect
import re
import textwrap
from pathlib import Path

import pytest

import eventsource.testing as kit
from eventsource.spi import CheckpointRepository, DLQRepository, EventStore, OutboxRepository

DOC = Path(__file__).parents[2] / "docs" / "writing-a-backend.md"
THIRDPARTY = Path(__file__).parents[1] / "thirdparty"

#: The kit tests the doc's test files run (the rest are run by our own conformance tests).
SAMPLE = {
    "test_append_to_new_stream",
    "test_read_all_options",
    "test_reads_page_beyond_page_size",
    "test_transactional_outbox",
    "test_open_missing_store_without_create",
    "test_outbox_claim_publish",
    "test_checkpoint_never_moves_backwards",
}

SAMPLE_CONFTEST = f"""
import pytest

SAMPLE = {sorted(SAMPLE)!r}


def pytest_collection_modifyitems(config, items):
    kit = [i for i in items if getattr(i, "cls", None) is not None
           and any(b.__module__.startswith("eventsource.testing") for b in i.cls.__mro__[1:])]
    dropped = [i for i in kit if i.originalname not in SAMPLE]
    items[:] = [i for i in items if i not in dropped]
    config.hook.pytest_deselected(items=dropped)
"""


def python_blocks() -> list[str]:
    """The fenced Python blocks of the guide."""
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_every_kit_test_and_class_is_in_the_guide() -> None:
    """A test added to the kit must be listed in the backend author's guide."""
    text = DOC.read_text()
    tests = [name for name in dir(kit.BackendConformance) if name.startswith("test_")]
    missing = [name for name in tests if f"`{name}`" not in text]
    assert not missing, f"docs/writing-a-backend.md does not list {missing}"
    for name in kit.__all__:
        assert name in text, f"docs/writing-a-backend.md does not mention {name}"


@pytest.mark.parametrize(
    "contract", [EventStore, CheckpointRepository, OutboxRepository, DLQRepository]
)
def test_every_method_of_every_role_is_in_the_table(contract: type) -> None:
    """The table of methods per role lists each public method of each contract."""
    text = DOC.read_text()
    table = text[text.index("### Every method, per role") :]
    table = table[: table.index("\n\n", table.index("| Role |"))]
    methods = [
        name
        for name, member in inspect.getmembers(contract, inspect.isfunction)
        if not name.startswith("_") and name not in {"open"}
    ] + ["__init__"] * (contract is EventStore)
    missing = [name for name in methods if f"`{name}(" not in table]
    assert not missing, f"the method table does not list {contract.__name__}.{missing}"
    abstract = sorted(getattr(contract, "__abstractmethods__", ()))
    for name in abstract:
        row = next(line for line in table.splitlines() if f"`{name}(" in line)
        assert "**abstract**" in row, f"{contract.__name__}.{name} is not marked abstract"


def test_python_blocks_compile() -> None:
    """Every Python block is valid Python (fragments of a class body are dedented first)."""
    blocks = python_blocks()
    assert len(blocks) >= 10
    for block in blocks:
        compile(textwrap.dedent(block), "<docs/writing-a-backend.md>", "exec")


def test_test_files_of_the_guide_pass(pytester: pytest.Pytester) -> None:
    """The guide's test files, run as written (a sample of the kit's tests in each), pass:
    the whole-backend kit on SQLite, the per-role kit on the JSON-lines store, the URL
    mapping and the same-store hook."""
    files = {
        block.splitlines()[0].removeprefix("# tests/"): block
        for block in python_blocks()
        if re.match(r"# tests/test_\w+\.py\n", block)
    }
    assert {"test_conformance.py", "test_jsonl_store.py", "test_urls.py"} <= set(files)
    assert "test_same_store.py" in files
    pytester.makeini(
        "[pytest]\nasyncio_mode = strict\nasyncio_default_fixture_loop_scope = function\n"
        "filterwarnings = error\n"
    )
    pytester.makeconftest(SAMPLE_CONFTEST)
    pytester.syspathinsert(THIRDPARTY)
    for name, block in files.items():
        pytester.makepyfile(**{name.removesuffix(".py"): block})
    recorder = pytester.inline_run("-p", "no:cacheprovider")
    passed, skipped, failed = recorder.listoutcomes()
    assert not recorder.getfailedcollections()
    assert not failed, [report.longreprtext for report in failed]
    ran = {report.nodeid.split("::")[-1] for report in passed}
    assert {
        "test_three_slashes_relative_four_absolute",
        "test_two_urls_of_one_file_are_one_store",
    } <= ran
    assert "test_open_missing_store_without_create" in ran and len(passed) >= 10
    # the store alone: its outbox test is skipped (no outbox role), the whole backend's passes
    by_file = {(r.nodeid.split("::")[0], r.nodeid.split("::")[-1]) for r in skipped}
    assert ("test_jsonl_store.py", "test_transactional_outbox") in by_file
