"""The installed ``eventsource`` command against a real SQLite file (tests/cli_e2e.py)."""

from __future__ import annotations

import os
from pathlib import Path

from cli_e2e import CONSOLE_SCRIPT, PROJECTION, Cli, one_line, run_scenario, run_usage_failures


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


def _on_a_terminal(cli: Cli, argv: list[str], answer: str = "") -> tuple[int, str]:
    """Run the command with a pseudo-terminal as stdin, stdout and stderr, typing ``answer``
    once it asks; its exit code and everything it showed."""
    import pty
    import select
    import subprocess

    main_fd, child_fd = pty.openpty()
    child = subprocess.Popen(
        [str(CONSOLE_SCRIPT), *argv],
        stdin=child_fd,
        stdout=child_fd,
        stderr=child_fd,
        cwd=cli.cwd,
        env=cli.env,
        close_fds=True,
    )
    os.close(child_fd)
    shown, answered = b"", not answer
    try:
        while True:
            ready, _, _ = select.select([main_fd], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(main_fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
            if not answered and b"[y/N]" in shown:
                os.write(main_fd, answer.encode() + b"\n")
                answered = True
    finally:
        os.close(main_fd)
    return child.wait(timeout=30), shown.decode(errors="replace")


def test_confirmation_and_progress_on_a_terminal(tmp_path: Path) -> None:
    """On a terminal, reset and rebuild ask first (no answer is no) and rebuild draws a
    progress bar."""
    cli = Cli(tmp_path)
    url = f"sqlite:///{tmp_path / 'ops.db'}"
    assert cli("demo", "--url", url).code == 0
    (tmp_path / "cliproj.py").write_text(PROJECTION)
    reset = ["checkpoints", "reset", "OrderSummaryProjection", "--url", url]
    code, shown = _on_a_terminal(cli, reset, "n")
    assert code == 1 and "Reset 'OrderSummaryProjection' (at global position 3)" in shown
    assert "not reset" in shown
    code, shown = _on_a_terminal(cli, reset, "y")
    assert code == 0 and "Reset checkpoint 'OrderSummaryProjection'" in shown
    assert cli("checkpoints", "list", "--url", url).out.strip() == "No checkpoints."
    code, shown = _on_a_terminal(cli, ["projections", "rebuild", "cliproj:Proj", "--url", url], "y")
    assert code == 0 and "Rebuilt 'cli-proj': 3 events handled" in shown
    assert "rebuild cli-proj" in shown and "3/3" in shown  # the progress bar


def test_a_closed_stdout_stops_quietly(tmp_path: Path) -> None:
    """``eventsource status | head -1``: the reader goes away; no error line, exit 141."""
    import subprocess

    url = f"sqlite:///{tmp_path / 'ops.db'}"
    assert Cli(tmp_path)("init", "--url", url).code == 0
    for argv in (["status"], ["--json", "info"]):  # both always print
        with subprocess.Popen(
            [str(CONSOLE_SCRIPT), *argv, "--url", url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        ) as child:
            assert child.stdout is not None and child.stderr is not None
            child.stdout.close()  # before the command writes anything
            err = child.stderr.read().decode()
            code = child.wait(timeout=60)
        assert code == 141, err
        assert err == "", err  # not "eventsource: error: [Errno 32] Broken pipe" (exit 6)
