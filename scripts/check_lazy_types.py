#!/usr/bin/env python3
"""Check that a type checker sees the real classes behind the lazy backend names.

    python3 scripts/check_lazy_types.py     (run by scripts/dev.py check, in the .venv)

``from eventsource import SQLiteEventStore`` resolves at run time through a module
``__getattr__``; to mypy it must be ``eventsource_sqlite``'s class, not ``Any``. This writes a
small program that ``reveal_type``s every lazy name of ``eventsource``, ``eventsource.stores``
and ``eventsource.repositories``, runs ``mypy --strict`` on it and compares each revealed type
with the class the name resolves to at run time. It also checks that an unknown name
(``eventsource.nope``) is a type error, not ``Any``. Needs both backends installed.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import eventsource
import eventsource.repositories
import eventsource.snapshots
import eventsource.stores
from eventsource.plugins._manager import LAZY_CLASS_BACKENDS

LAZY_NAMES = {
    "eventsource": tuple(LAZY_CLASS_BACKENDS),
    "eventsource.stores": eventsource.stores._LAZY_CLASSES,
    "eventsource.repositories": eventsource.repositories._LAZY_CLASSES,
    "eventsource.snapshots": eventsource.snapshots._LAZY_CLASSES,
}
MODULES = {
    "eventsource": eventsource,
    "eventsource.stores": eventsource.stores,
    "eventsource.repositories": eventsource.repositories,
    "eventsource.snapshots": eventsource.snapshots,
}


def program() -> tuple[str, dict[int, str]]:
    """The program to check, and the revealed type expected on each of its lines."""
    lines = ["from typing import reveal_type", "import eventsource"]
    expected: dict[int, str] = {}
    for module, names in LAZY_NAMES.items():
        for name in names:
            cls = getattr(MODULES[module], name)
            alias = f"{module.replace('.', '_')}_{name}"
            lines.append(f"from {module} import {name} as {alias}")
            lines.append(f"def _{alias}(value: {alias}) -> None:")
            lines.append("    reveal_type(value)")
            expected[len(lines)] = f"{cls.__module__}.{cls.__qualname__}"
    lines.append("eventsource.nope  # an unknown name must be an error, not Any")
    return "\n".join(lines) + "\n", expected


def main() -> int:
    """Run mypy on :func:`program`; 1 when a revealed type is not the expected class."""
    text, expected = program()
    unknown_line = text.count("\n")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "reveal_lazy_names.py"
        path.write_text(text)
        result = subprocess.run(
            [sys.executable, "-m", "mypy", "--strict", "--config-file", "/dev/null", str(path)],
            capture_output=True,
            text=True,
            cwd=folder,
        )
    revealed: dict[int, str] = {}
    errors: dict[int, str] = {}
    for line in result.stdout.splitlines():
        location, _, message = line.partition(": ")
        file, _, number_text = location.rpartition(":")
        if Path(file).name != path.name or not number_text.isdigit():
            continue
        number = int(number_text)
        if message.startswith('note: Revealed type is "'):
            revealed[number] = message.removeprefix('note: Revealed type is "').rstrip('"')
        elif message.startswith("error:"):
            errors[number] = message
    problems = [
        f"line {n}: revealed {revealed.get(n, 'nothing')!r}, expected {want!r}"
        for n, want in expected.items()
        if revealed.get(n) != want
    ]
    if "has no attribute" not in errors.pop(unknown_line, ""):
        problems.append("eventsource.nope is not a type error: the module __getattr__ is visible")
    problems += [f"line {n}: unexpected {message}" for n, message in errors.items()]
    for problem in problems:
        print(f"check_lazy_types: {problem}", file=sys.stderr)
    if problems:
        print(text, result.stdout, result.stderr, sep="\n", file=sys.stderr)
        return 1
    print(f"check_lazy_types: {len(expected)} lazy names have their real types")
    return 0


if __name__ == "__main__":
    sys.exit(main())
