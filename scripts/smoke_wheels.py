#!/usr/bin/env python3
"""Install what we ship into fresh venvs and use it as a user would.

    .venv/bin/python scripts/smoke_wheels.py   # after `python3 scripts/dev.py build`
    python3 scripts/dev.py smoke               # both

Run it with an interpreter whose pip is 22.3 or newer (dev.py uses ``.venv``'s). Two kinds of
step, each in a new venv of its own (``python -m venv --without-pip``, filled by the running
pip through ``pip --python VENV``: seconds faster per venv than ``ensurepip``), run from the
repository root like a user in a clone:

- every ``pip install`` line of the README's "Install" section, run as written (only ``pip``
  becomes ``python -m pip --python VENV``); a line installs the backends it names
  (``sqlite``, ``postgres``), and exactly those must then be registered;
- ``pip install dist/*.whl``: the three built wheels together.

After each step ``scripts/smoke_check.py`` runs in that venv with ``python -I -W error`` from
a temporary folder (so nothing of the repository is importable): non-editable installs in the
venv, the backends registered from the wheels' entry points, ``py.typed`` shipped, one event
appended and read back on ``memory://``, a SQLite file and (with
``EVENTSOURCE_TEST_POSTGRES_URL``) PostgreSQL, and the ``eventsource`` console script
(``--help``, ``backends``, ``info``, ``demo``).

Dependencies (pydantic, pluggy, aiosqlite, asyncpg, and hatchling for the builds from source)
come from the indexes pip is configured with. Without network that needs a local index or
``--find-links`` folder in the pip configuration (this machine's has one, so the smoke test
also passes with PyPI unreachable, e.g. ``PIP_INDEX_URL=http://127.0.0.1:9/ PIP_RETRIES=0``);
pip's cache alone is not enough, since pip does not resolve from it.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"
README = ROOT / "README.md"
CHECK = Path(__file__).resolve().with_name("smoke_check.py")
PACKAGES = ["eventsource-core", "eventsource-sqlite", "eventsource-postgres"]


class SmokeError(Exception):
    """A step failed; the message says which and shows its output."""


def readme_install_commands(text: str | None = None) -> list[list[str]]:
    """The ``pip install`` lines of the README's "Install" section, split like a shell would."""
    text = README.read_text() if text is None else text
    section = re.search(r"^## Install\n(.*?)(?=^## )", text, re.S | re.M)
    if section is None:
        raise SmokeError("README.md has no '## Install' section")
    commands = []
    for block in re.findall(r"^```bash\n(.*?)^```", section.group(1), re.S | re.M):
        for line in block.splitlines():
            argv = shlex.split(line, comments=True)
            if argv[:2] == ["pip", "install"]:
                commands.append(argv)
    return commands


def backends_named(argv: list[str]) -> list[str]:
    """The backends a ``pip install`` command line installs, by the names it mentions."""
    named = " ".join(argv[2:])
    return [
        name for name, word in (("sqlite", "sqlite"), ("postgresql", "postgres")) if word in named
    ]


def _env() -> dict[str, str]:
    """The environment for the venv's commands: none of ours leaks in."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(argv: list[str], cwd: Path, what: str) -> str:
    done = subprocess.run(
        argv, cwd=cwd, env=_env(), capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    if done.returncode != 0:
        raise SmokeError(f"{what}: exit {done.returncode}\n{done.stdout}{done.stderr}")
    return done.stdout + done.stderr


def step(name: str, pip_args: list[str], backends: list[str], workdir: Path) -> None:
    """One fresh venv: ``pip pip_args`` from the repository root, then the checks."""
    started = time.monotonic()
    folder = Path(tempfile.mkdtemp(prefix="venv-", dir=workdir))
    venv.EnvBuilder(with_pip=False, clear=True).create(folder)
    python = folder / ("Scripts" if os.name == "nt" else "bin") / "python"
    output = _run([sys.executable, "-m", "pip", "--python", str(python), *pip_args], ROOT, name)
    local = any("/" in arg and Path(arg.split("[")[0]).name in PACKAGES for arg in pip_args)
    if not local and "Building wheel for eventsource" in output:
        raise SmokeError(f"{name}: pip built a distribution from source, not the wheel\n{output}")
    scratch = Path(tempfile.mkdtemp(prefix="work-", dir=workdir))
    result = _run(
        [str(python), "-I", "-W", "error", str(CHECK), str(ROOT), str(scratch), *backends],
        scratch,
        name,
    )
    print(f"smoke: {name} ... {result.strip()} ({time.monotonic() - started:.0f}s)", flush=True)


def main() -> int:
    """Run every step; 0 when all pass."""
    wheels = sorted(DIST.glob("*.whl"))
    names = {w.name.split("-")[0].replace("_", "-") for w in wheels}
    if len(wheels) != len(PACKAGES) or names != set(PACKAGES):
        print(
            f"smoke: expected one wheel of each of {PACKAGES} in {DIST}, found "
            f"{[w.name for w in wheels]}; run `python3 scripts/dev.py build` first",
            file=sys.stderr,
        )
        return 2
    try:
        commands = readme_install_commands()
        if not commands:
            raise SmokeError("README.md's Install section shows no `pip install` command")
        with tempfile.TemporaryDirectory(prefix="eventsource-smoke-") as tmp:
            workdir = Path(tmp)
            for argv in commands:
                step(shlex.join(argv), argv[1:], backends_named(argv), workdir)
            all_wheels = [str(w.relative_to(ROOT)) for w in wheels]
            step(
                "pip install dist/*.whl",
                ["install", *all_wheels],
                ["sqlite", "postgresql"],
                workdir,
            )
    except SmokeError as error:
        print(f"smoke: FAILED: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
