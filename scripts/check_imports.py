#!/usr/bin/env python3
"""Fail on any import of a private eventsource module from code that must use the public SPI.

    python3 scripts/check_imports.py [PATH ...]

Our backends are written against the same surface as a third-party one (``eventsource.spi``
and the other public modules), so each import of core they make is checked: no
``eventsource._x``, no ``eventsource.pkg._x``, no ``from eventsource.pkg import _x``. Relative
imports are resolved first, so the in-memory backend (inside core) is held to the same rule,
except for its own modules. With no PATH, checks the SQLite and PostgreSQL packages,
``eventsource/memory`` and ``eventsource/brokers``. Run by ``scripts/dev.py check``; exits 1
listing each offending import.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATHS = (
    ROOT / "eventsource-sqlite" / "src" / "eventsource_sqlite",
    ROOT / "eventsource-postgres" / "src" / "eventsource_postgres",
    ROOT / "eventsource-core" / "src" / "eventsource" / "memory",
    ROOT / "eventsource-core" / "src" / "eventsource" / "brokers",
)


def _package_of(path: Path) -> tuple[str, Path]:
    """The dotted package holding ``path``, and that package's folder, found by walking up
    while the folders hold an ``__init__.py``."""
    parts: list[str] = []
    folder = path.parent
    while (folder / "__init__.py").exists():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts), path.parent


def _private(module: str) -> bool:
    parts = module.split(".")
    return parts[0] == "eventsource" and any(p.startswith("_") for p in parts[1:])


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if not node.level:
        return node.module or ""
    base = package.split(".")
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join([*base, *([node.module] if node.module else [])])


def private_imports(path: Path, own_package: str | None = None) -> list[str]:
    """Each import of a private eventsource module in the file at ``path``, as
    ``"file:line: module"``.

    Imports of ``own_package`` itself (default: the package the file is in, if it is inside
    ``eventsource``) are allowed: a package may use its own private modules.
    """
    package, _ = _package_of(path)
    own = own_package if own_package is not None else package
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node, package)
            # ``from eventsource.pkg import _mod`` is as private as ``eventsource.pkg._mod``
            modules = [module] if _private(module) else [f"{module}.{a.name}" for a in node.names]
        for module in modules:
            if not _private(module):
                continue
            if own.startswith("eventsource") and (module == own or module.startswith(own + ".")):
                continue
            found.append(f"{path}:{node.lineno}: {module}")
    return found


def _python_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(path.rglob("*.py"))
        else:
            yield path


def main(argv: list[str]) -> int:
    """Check the given paths (default :data:`DEFAULT_PATHS`); 1 if any private import."""
    paths = [Path(arg) for arg in argv] or list(DEFAULT_PATHS)
    found = [line for file in _python_files(paths) for line in private_imports(file)]
    for line in found:
        print(f"{line} is private: import it from eventsource.spi", file=sys.stderr)
    if found:
        return 1
    print(f"check_imports: no private eventsource imports in {len(paths)} path(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
