"""The installed ``eventsource`` command against a real SQLite file (tests/cli_e2e.py)."""

from __future__ import annotations

from pathlib import Path

from cli_e2e import Cli, one_line, run_scenario, run_usage_failures


def test_every_command_on_a_sqlite_file(tmp_path: Path) -> None:
    run_scenario(f"sqlite:///{tmp_path / 'ops.db'}", tmp_path)


def test_usage_errors_on_a_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    assert Cli(tmp_path)("init", "--url", url).code == 0
    run_usage_failures(url, tmp_path)


def test_unusable_urls_and_stores(tmp_path: Path) -> None:
    """Each failure is one line and its own exit code; --json makes it a JSON object."""
    cli = Cli(tmp_path)
    missing = tmp_path / "missing.db"
    no_store, no_store_json, malformed, bad_option, unknown, unknown_json, no_dir = cli.many(
        ("status", "--url", f"sqlite:///{missing}"),
        ("--json", "info", "--url", f"sqlite:///{missing}"),
        ("status", "--url", "::not a url"),
        ("status", "--url", f"sqlite:///{tmp_path / 'x.db'}?bogus=1", "--json"),
        ("status", "--url", "nosuch://somewhere"),
        ("status", "--url", "nosuch://x", "--json"),
        ("status", "--url", f"sqlite:///{tmp_path / 'no' / 'dir' / 'x.db'}"),
    )
    assert no_store.code == 5 and "no database at" in one_line(no_store)
    assert "init" in no_store.err and not missing.exists()  # nothing created
    error = no_store_json.error()
    assert (no_store_json.code, error["code"], error["exit_code"]) == (5, "store_not_found", 5)
    assert malformed.code == 3 and "is not a backend URL" in one_line(malformed)
    assert (bad_option.code, bad_option.error()["code"]) == (3, "bad_url")
    assert "bogus" in bad_option.err
    assert unknown.code == 4 and "unknown backend 'nosuch'" in one_line(unknown)
    assert unknown_json.error()["code"] == "unknown_backend"
    assert no_dir.code in (5, 6) and one_line(no_dir).startswith("eventsource: error:")
