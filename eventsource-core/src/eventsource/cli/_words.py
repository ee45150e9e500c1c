"""Counts in the CLI's sentences: ``1 stream``, ``2 streams``."""

from __future__ import annotations

__all__ = ["counted"]


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``"1 stream"``, ``"2 streams"``, ``"0 streams"`` (``plural`` when not ``noun + "s"``;
    the count as given)."""
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
