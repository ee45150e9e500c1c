"""The backend SPI: one public module for authors, user modules without author helpers, and the
import check that holds our backends to it."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import eventsource
import eventsource.plugins
import eventsource.repositories
import eventsource.snapshots
import eventsource.spi
import eventsource.stores
from eventsource import _exceptions

ROOT = Path(__file__).resolve().parents[2]
CHECK_IMPORTS = ROOT / "scripts" / "check_imports.py"

#: What each user-facing module exports; author helpers live in eventsource.spi.
USER_API = {
    eventsource.stores: {
        "LIFECYCLE_AGGREGATE_TYPE",
        "RetentionPolicy",
        "StreamDeleted",
        "StreamRestored",
        "StreamTruncated",
        "AppendResult",
        "EventStore",
        "EventStream",
        "ExpectedVersion",
        "InMemoryEventStore",
        "MemoryEventStore",
        "ReadDirection",
        "ReadOptions",
        "StoredEvent",
        "parse_stream_id",
        "stream_id_for",
    },
    eventsource.repositories: {
        "DEFAULT_LEASE",
        "CheckpointData",
        "CheckpointRepository",
        "DLQEntry",
        "DLQRepository",
        "DLQStats",
        "DLQStatus",
        "ErrorDetails",
        "LagMetrics",
        "MemoryCheckpointRepository",
        "MemoryDLQRepository",
        "MemoryOutboxRepository",
        "OutboxEntry",
        "OutboxRepository",
        "OutboxStats",
        "OutboxStatus",
        "ProjectionFailureCount",
        "ProjectionLease",
        "ProjectionLeases",
    },
    eventsource.snapshots: {
        "EveryNEvents",
        "InMemorySnapshotStore",
        "MemorySnapshotStore",
        "Snapshot",
        "SnapshotDeserializationError",
        "SnapshotError",
        "SnapshotNotFoundError",
        "SnapshotSchemaVersionError",
        "SnapshotStore",
        "SnapshotStrategy",
    },
    eventsource.plugins: {
        "DEFAULT_URL",
        "ENV_VAR",
        "Backend",
        "BackendURL",
        "open_backend",
        "parse_url",
        "resolve_url",
    },
}

AUTHOR_HELPERS = [
    "prepare_append",
    "restamp",
    "check_stream_version",
    "PreparedEvent",
    "decode_stored_event",
    "check_read_options",
    "check_limit",
    "check_dlq_status",
    "hand_out_claims",
    "load_stored_document",
    "prepare_failed_event",
    "get_registry",
    "reset_registry",
    "hookimpl",
    "EventStoreSpec",
    "Capabilities",
    "OptionSpec",
    "read_options",
    "encode_snapshot",
    "decode_snapshot",
    "SnapshotStoreSpec",
]


@pytest.mark.parametrize("module", list(USER_API), ids=lambda m: m.__name__)
def test_user_modules_export_user_api_only(module: object) -> None:
    assert set(module.__all__) == USER_API[module]  # type: ignore[attr-defined]
    for name in AUTHOR_HELPERS:
        assert not hasattr(module, name), f"{module.__name__}.{name}"  # type: ignore[attr-defined]
        assert name in eventsource.spi.__all__, name


def test_spi_exports_what_it_lists_with_docstrings() -> None:
    assert len(eventsource.spi.__all__) == len(set(eventsource.spi.__all__))
    for name in eventsource.spi.__all__:
        obj = getattr(eventsource.spi, name)
        if isinstance(obj, type) or (callable(obj) and hasattr(obj, "__code__")):
            assert obj.__doc__, name


def test_spi_holds_every_exception_and_the_same_objects_users_see() -> None:
    assert set(_exceptions.__all__) <= set(eventsource.spi.__all__)
    for module in USER_API:
        for name in set(module.__all__) & set(eventsource.spi.__all__):  # type: ignore[attr-defined]
            assert getattr(module, name) is getattr(eventsource.spi, name), name
    for name in set(eventsource.__all__) & set(eventsource.spi.__all__):
        assert getattr(eventsource, name) is getattr(eventsource.spi, name), name
    names = eventsource.spi.CAPABILITY_NAMES
    everything = eventsource.spi.Capabilities(**dict.fromkeys(names, True))
    assert everything.enabled() == list(names) and "transactional_outbox" in names


# -- the import check ---------------------------------------------------------------------------


def _check(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CHECK_IMPORTS), *map(str, paths)], capture_output=True, text=True
    )


def test_our_backends_import_only_public_modules() -> None:
    result = _check()
    assert result.returncode == 0, result.stderr
    assert "no private eventsource imports in 4 path(s)" in result.stdout


def _package(root: Path, dotted: str, source: str) -> Path:
    """Write ``source`` as module ``dotted`` (packages with ``__init__.py``) under ``root``."""
    *packages, module = dotted.split(".")
    folder = root
    for name in packages:
        folder = folder / name
        folder.mkdir(exist_ok=True)
        (folder / "__init__.py").touch()
    path = folder / f"{module}.py"
    path.write_text(textwrap.dedent(source))
    return path


@pytest.mark.parametrize(
    ("statement", "module"),
    [
        ("from eventsource._exceptions import StorageError", "eventsource._exceptions"),
        ("import eventsource._options", "eventsource._options"),
        ("from eventsource.stores._contract import EventStore", "eventsource.stores._contract"),
        ("from eventsource.stores import _contract", "eventsource.stores._contract"),
        ("from eventsource import _exceptions", "eventsource._exceptions"),
        (
            "def f():\n    from eventsource.plugins._url import BackendURL",
            "eventsource.plugins._url",
        ),
    ],
)
def test_the_import_check_fails_on_one_private_import(
    tmp_path: Path, statement: str, module: str
) -> None:
    clean = "from eventsource.spi import EventStore\nfrom eventsource.events import DomainEvent\n"
    _package(tmp_path, "eventsource_mydb._ok", clean + "from ._store import MyStore\n")
    bad = _package(tmp_path, "eventsource_mydb._store", clean + statement + "\n")
    result = _check(tmp_path / "eventsource_mydb")
    assert result.returncode == 1
    line = 3 + statement.count("\n")  # the private import is the statement's last line
    assert result.stderr.splitlines() == [
        f"{bad}:{line}: {module} is private: import it from eventsource.spi"
    ]


def test_the_import_check_resolves_relative_imports_inside_core(tmp_path: Path) -> None:
    """A backend inside core (like eventsource/memory) may use its own private modules only."""
    source = "from ._names import state_named\nfrom ..spi import EventStore\n"
    _package(tmp_path, "eventsource.memory.plugin", source)
    assert _check(tmp_path / "eventsource").returncode == 0
    bad = _package(tmp_path, "eventsource.memory._store", "from ..stores._types import ReadOptions")
    result = _check(tmp_path / "eventsource")
    assert result.returncode == 1
    assert f"{bad}:1: eventsource.stores._types is private" in result.stderr


def test_the_backend_guide_imports_only_public_names() -> None:
    """Every ``from eventsource... import`` in docs/writing-a-backend.md names a public module
    and names it really exports."""
    guide = (ROOT / "docs" / "writing-a-backend.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", guide, flags=re.S)
    imports = [
        node
        for block in blocks
        for node in ast.walk(ast.parse(textwrap.dedent(block)))
        if isinstance(node, ast.ImportFrom)
        and (node.module or "").split(".")[0] == "eventsource"  # core, not eventsource_jsonl
    ]
    assert any(node.module == "eventsource.spi" for node in imports)
    for node in imports:
        module = node.module or ""
        assert not any(part.startswith("_") for part in module.split(".")), module
        exported = getattr(importlib.import_module(module), "__all__", ())
        for alias in node.names:
            assert alias.name in exported, f"{module}.{alias.name}"
