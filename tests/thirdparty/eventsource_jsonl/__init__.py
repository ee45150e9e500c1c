"""eventsource-jsonl: an event store in one JSON-lines file, written as a third-party backend.

It lives in the project's tests as the worked example of ``docs/writing-a-backend.md``: a
backend of one role (the event store), importing core only from ``eventsource.spi`` (and the
public ``eventsource.events``), registered through the registry's public path (its plugin
module, as an ``eventsource.backends`` entry point would load it) and certified by the
conformance kit role by role (``tests/thirdparty/test_jsonl_conformance.py``).
"""

from ._store import JsonlEventStore

__all__ = ["JsonlEventStore"]
