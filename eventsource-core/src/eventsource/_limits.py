"""Limits the library and the CLI share, in a module that imports nothing (so the CLI's
``--help`` can name them without loading the library)."""

from __future__ import annotations

__all__ = ["COUNT_LIMIT"]

#: At most this many events are read to count events and streams (beyond: not counted), by
#: :func:`eventsource.inspection.store_overview` and so ``eventsource status`` and the console.
COUNT_LIMIT = 10_000
