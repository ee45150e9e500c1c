"""``certify`` on a PostgreSQL URL: a fresh schema per kit test in the URL's database, every
one dropped after; the schema the URL names is never created or touched."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from eventsource import StorageUnavailableError
from eventsource.testing import certify

from .conftest import with_options

CONSOLE_SCRIPT = Path(sys.executable).with_name("eventsource")
_KIT_SCHEMAS = "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'eventsource\\_kit\\_%'"


async def _count(server: str, sql: str, *args: object) -> int:
    conn = await asyncpg.connect(server)
    try:
        return int(await conn.fetchval(sql, *args))
    finally:
        await conn.close()


async def test_certifies_on_schemas_of_its_own(pg_server: str, pg_schema: str) -> None:
    """A subset of the kit (opening; undecodable rows, written by raw SQL in the scratch
    schema) passes; no kit schema is left, and the URL's own schema was never created."""
    before = await _count(pg_server, _KIT_SCHEMAS)
    url = with_options(pg_server, schema=pg_schema)
    report = certify(url, keyword="OpeningConformance or UndecodableEventConformance")
    assert report.certified, [(f.name, f.message) for f in report.failures]
    assert report.backend == "postgresql"
    assert report.skips == ()
    assert report.count("passed") == 8
    assert await _count(pg_server, _KIT_SCHEMAS) == before
    exists = "SELECT count(*) FROM pg_namespace WHERE nspname = $1"
    assert await _count(pg_server, exists, pg_schema) == 0


@pytest.mark.slow
async def test_the_whole_kit_certifies_postgresql(pg_server: str) -> None:
    """Every kit test, as ``eventsource conformance postgresql://...`` runs it."""
    before = await _count(pg_server, _KIT_SCHEMAS)
    report = certify(pg_server)
    assert report.certified, [(f.name, f.message) for f in report.failures]
    assert report.skips == ()
    assert await _count(pg_server, _KIT_SCHEMAS) == before


def test_an_unreachable_server_is_one_typed_error() -> None:
    """Nothing listens on port 1: one StorageUnavailableError before any test runs."""
    with pytest.raises(StorageUnavailableError, match="scratch storage"):
        certify("postgresql://postgres@127.0.0.1:1/test?connect_timeout=2")


async def test_the_console_script_on_postgresql(pg_server: str, tmp_path: Path) -> None:
    """``eventsource --json conformance postgresql://...`` in a subprocess: exit 0, the
    report, and no kit schema left behind."""
    before = await _count(pg_server, _KIT_SCHEMAS)
    done = await asyncio.to_thread(
        subprocess.run,
        [str(CONSOLE_SCRIPT), "--json", "conformance", pg_server, "-k", "OpeningConformance"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["certified"] and report["backend"] == "postgresql"
    assert report["counts"]["passed"] == 2
    assert await _count(pg_server, _KIT_SCHEMAS) == before
