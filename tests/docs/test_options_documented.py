"""Every backend option is in its backend's guide with the type and range its spec enforces."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventsource.spi import OptionSpec

DOCS = Path(__file__).parents[2] / "docs"


def _specs(module: str) -> tuple[OptionSpec, ...]:
    specs: tuple[OptionSpec, ...] = pytest.importorskip(module).OPTION_SPECS
    return specs


@pytest.mark.parametrize(
    ("module", "page"),
    [("eventsource_sqlite", "sqlite.md"), ("eventsource_postgres", "postgresql.md")],
)
def test_every_option_is_documented_with_its_type_and_range(module: str, page: str) -> None:
    text = (DOCS / page).read_text()
    missing = [
        spec.name for spec in _specs(module) if f"| `{spec.name}` | {spec.describe()} |" not in text
    ]
    assert not missing, f"docs/{page} lacks (or has a stale type/range for) {missing}"
