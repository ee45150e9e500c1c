"""docs/writing-a-backend.md documents every kit test and every kit class."""

from __future__ import annotations

from pathlib import Path

import eventsource.testing as kit

DOC = Path(__file__).parents[2] / "docs" / "writing-a-backend.md"


def test_every_kit_test_and_class_is_in_the_guide() -> None:
    """A test added to the kit must be listed in the backend author's guide."""
    text = DOC.read_text()
    tests = [name for name in dir(kit.BackendConformance) if name.startswith("test_")]
    missing = [name for name in tests if f"`{name}`" not in text]
    assert not missing, f"docs/writing-a-backend.md does not list {missing}"
    for name in kit.__all__:
        assert name in text, f"docs/writing-a-backend.md does not mention {name}"
