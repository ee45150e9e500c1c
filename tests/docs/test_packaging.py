"""The three distributions' metadata, and the README's install commands, checked without building.

``python3 scripts/dev.py smoke`` (in CI) runs the install commands for real; these tests catch
a README command that could only work once the packages are on an index, before any venv.
"""

from __future__ import annotations

import importlib.util
import tomllib
from itertools import pairwise
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).parents[2]
PACKAGES = {
    "eventsource-core": "eventsource",
    "eventsource-sqlite": "eventsource_sqlite",
    "eventsource-postgres": "eventsource_postgres",
}


def _project(folder: str) -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads((ROOT / folder / "pyproject.toml").read_text())
    return data


def _smoke() -> ModuleType:
    spec = importlib.util.spec_from_file_location("smoke_wheels", ROOT / "scripts/smoke_wheels.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ours(requirements: list[str]) -> set[str]:
    return {r.name for r in map(Requirement, requirements) if r.name in PACKAGES}


def unavailable_from_clone(argv: list[str]) -> list[str]:
    """Our distributions ``pip install ...`` needs that neither a folder it names nor
    ``--find-links dist/`` provides: those only an index could (none has them yet)."""
    if any(a == "--find-links" and b.rstrip("/") == "dist" for a, b in pairwise(argv)):
        return []
    args = [a for a in argv[2:] if not a.startswith("-")]
    local = {Path(a.split("[")[0]).name for a in args if "/" in a}
    extras = _project("eventsource-core")["project"]["optional-dependencies"]
    wanted: set[str] = set()
    for arg in args:
        name, _, tail = arg.partition("[")
        wanted.add(Path(name).name)
        for extra in tail.rstrip("]").split(",") if tail else []:
            wanted |= _ours(extras[extra])
    for folder in wanted & local:  # a backend folder still needs the core from somewhere
        wanted |= _ours(_project(folder)["project"]["dependencies"])
    return sorted((wanted & set(PACKAGES)) - local)


def test_every_readme_install_command_works_from_a_clone() -> None:
    commands = _smoke().readme_install_commands()
    assert commands, "README.md's Install section shows no pip install command"
    needing_an_index = {" ".join(c): unavailable_from_clone(c) for c in commands}
    assert not any(needing_an_index.values()), needing_an_index


def test_readme_install_commands_cover_both_backends_from_folders_and_from_wheels() -> None:
    smoke = _smoke()
    commands = smoke.readme_install_commands()
    named = [(smoke.backends_named(c), "--find-links" in c) for c in commands]
    for backend in ("sqlite", "postgresql"):
        assert ([backend], False) in named and ([backend], True) in named, named


def test_the_install_commands_that_failed_from_a_clone_are_caught() -> None:
    old = (
        "## Install\n\n```bash\n"
        'pip install "eventsource-core[sqlite]"        # the embedded default\n'
        'pip install "./eventsource-core[postgresql]"\n'
        "pip install ./eventsource-sqlite\n"
        "```\n\n## Use\n"
    )
    commands = _smoke().readme_install_commands(old)
    assert [unavailable_from_clone(c) for c in commands] == [
        ["eventsource-core", "eventsource-sqlite"],
        ["eventsource-postgres"],
        ["eventsource-core"],
    ]


@pytest.mark.parametrize("folder", list(PACKAGES))
def test_distribution_metadata(folder: str) -> None:
    data = _project(folder)
    project = data["project"]
    assert project["name"] == folder
    assert project["requires-python"] == ">=3.11"
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    assert (ROOT / folder / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()
    assert (ROOT / folder / project["readme"]).is_file()
    assert project["description"] and project["authors"] and project["urls"]
    for classifier in ("Typing :: Typed", "Programming Language :: Python :: 3.11"):
        assert classifier in project["classifiers"]
    package = data["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert package == [f"src/{PACKAGES[folder]}"]
    assert (ROOT / folder / package[0] / "py.typed").is_file()
    assert data["build-system"]["requires"] == ["hatchling>=1.27"]  # PEP 639 license fields


def test_siblings_requirements_accept_the_versions_built_together() -> None:
    versions = {folder: _project(folder)["project"]["version"] for folder in PACKAGES}
    core = _project("eventsource-core")["project"]
    requirements = [r for extra in core["optional-dependencies"].values() for r in extra]
    for folder in ("eventsource-sqlite", "eventsource-postgres"):
        requirements += _project(folder)["project"]["dependencies"]
    ours = [r for r in map(Requirement, requirements) if r.name in PACKAGES]
    assert {r.name for r in ours} == set(PACKAGES)
    refused = [str(r) for r in ours if not r.specifier.contains(versions[r.name])]
    assert not refused, f"{refused} refuse the versions in the repository: {versions}"
