"""The installed ``eventsource`` command against a real PostgreSQL database
(tests/cli_e2e.py): each test in a fresh schema."""

from __future__ import annotations

from pathlib import Path

from cli_e2e import Cli, one_line, run_scenario, run_usage_failures

from .conftest import with_options


def test_every_command_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    run_scenario(pg_url, tmp_path)


def test_usage_errors_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    assert Cli(tmp_path)("init", "--url", pg_url).code == 0
    run_usage_failures(pg_url, tmp_path)


def test_unreachable_server_and_missing_schema(
    pg_server: str, unused_schema: str, tmp_path: Path
) -> None:
    cli = Cli(tmp_path)
    unreachable, unreachable_json, missing = cli.many(
        ("status", "--url", "postgresql://admin:hunter2@127.0.0.1:1/test"),
        ("--json", "events", "list", "--url", "postgresql://postgres@127.0.0.1:1/test"),
        ("status", "--url", with_options(pg_server, schema=unused_schema)),
    )
    assert unreachable.code == 6 and "unavailable" in one_line(unreachable)
    assert "hunter2" not in unreachable.err  # the password is masked
    error = unreachable_json.error()
    assert (unreachable_json.code, error["code"], error["exit_code"]) == (6, "unavailable", 6)
    assert missing.code == 5 and unused_schema in one_line(missing) and "init" in missing.err
