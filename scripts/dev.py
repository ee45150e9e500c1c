#!/usr/bin/env python3
"""One entry point for working on eventsource; needs only Python 3.11+.

    python3 scripts/dev.py demo     # set up .venv if needed, run the demo on SQLite
    python3 scripts/dev.py test     # set up .venv if needed, run the whole test suite
    python3 scripts/dev.py check    # ruff, ruff format --check, mypy --strict, the backends'
                                    # imports (public only) and the lazy names' types
    python3 scripts/dev.py bench    # the benchmark suite (ours beside the raw drivers)
    python3 scripts/dev.py build    # sdist + wheel of the three packages into dist/, twine check
    python3 scripts/dev.py smoke    # build, then install them into fresh venvs and use them
                                    # (scripts/smoke_wheels.py, with the README's install lines)

The virtual environment lives in ``.venv`` at the repository root. It is (re)installed when the
dependency lists in the pyproject files change; set ``EVENTSOURCE_VENV`` to use another path.
Extra arguments after the command go to the tool it runs (pytest, the demo, the benchmarks).
"""

from __future__ import annotations

import sys

if sys.version_info < (3, 11):  # noqa: UP036 - say so plainly on an old interpreter
    sys.exit("eventsource needs Python 3.11 or newer")

import hashlib
import os
import shutil
import subprocess
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["eventsource-core", "eventsource-sqlite", "eventsource-postgres"]
VENV = Path(os.environ.get("EVENTSOURCE_VENV", ROOT / ".venv"))


def _bin(name: str) -> str:
    folder = "Scripts" if os.name == "nt" else "bin"
    return str(VENV / folder / name)


def _dev_requirements() -> list[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return list(data["dependency-groups"]["dev"])


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for path in [ROOT / "pyproject.toml", *(ROOT / p / "pyproject.toml" for p in PACKAGES)]:
        digest.update(path.read_bytes())
    digest.update(sys.version.encode())
    return digest.hexdigest()


def ensure_venv() -> None:
    """Create ``.venv`` and install the three packages (editable) and dev tools, if needed."""
    stamp = VENV / ".eventsource-installed"
    wanted = _fingerprint()
    if stamp.exists() and stamp.read_text() == wanted and Path(_bin("python")).exists():
        return
    print(f"setting up {VENV} (first run, or dependencies changed) ...", flush=True)
    if not Path(_bin("python")).exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [_bin("python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    editable = [arg for pkg in PACKAGES for arg in ("-e", str(ROOT / pkg))]
    subprocess.run([*pip, "install", *editable, *_dev_requirements()], check=True)
    stamp.write_text(wanted)


def run(argv: list[str]) -> int:
    """Run ``argv`` from the repository root; return its exit code."""
    return subprocess.call(argv, cwd=ROOT)


def build() -> int:
    """Build the sdist and, from it, the wheel of each package into ``dist/``; twine check them."""
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    for pkg in PACKAGES:
        code = run([_bin("python"), "-m", "build", "--outdir", str(dist), str(ROOT / pkg)])
        if code:
            return code
    built = sorted(str(path) for path in dist.iterdir())
    return run([_bin("twine"), "check", "--strict", *built])


def main() -> int:
    """Dispatch the command named on the command line."""
    command, *rest = sys.argv[1:] or ["help"]
    if command in ("help", "-h", "--help"):
        print(__doc__)
        return 0
    ensure_venv()
    if command == "setup":
        return 0
    if command == "demo":
        return run([_bin("eventsource"), "demo", *rest])
    if command == "test":
        return run([_bin("python"), "-m", "pytest", *rest])
    if command == "check":
        steps = [
            [_bin("ruff"), "check", "."],
            [_bin("ruff"), "format", "--check", "."],
            [_bin("mypy")],
            [_bin("python"), str(ROOT / "scripts" / "check_imports.py")],
            [_bin("python"), str(ROOT / "scripts" / "check_lazy_types.py")],
        ]
        codes = [run(step) for step in steps]
        return max(codes)
    if command == "build":
        return build()
    if command == "smoke":
        return build() or run([_bin("python"), str(ROOT / "scripts" / "smoke_wheels.py"), *rest])
    if command == "bench":
        return run([_bin("python"), "benchmarks/run.py", *rest])
    print(f"unknown command {command!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
