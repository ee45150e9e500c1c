"""eventsource-py 0.5.0's JSON helpers (``eventsource.serialization``)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

__all__ = ["EventSourceJSONEncoder", "json_dumps", "json_loads"]


class EventSourceJSONEncoder(json.JSONEncoder):
    """A JSON encoder that writes UUIDs as ``str(uuid)`` and datetimes as ``isoformat()``."""

    def default(self, o: Any) -> Any:
        """Encode UUIDs and datetimes; anything else as :class:`json.JSONEncoder` does."""
        if isinstance(o, UUID):
            return str(o)
        if isinstance(o, datetime):
            return o.isoformat()
        return super().default(o)


def json_dumps(obj: Any) -> str:
    """``json.dumps`` with :class:`EventSourceJSONEncoder`."""
    return json.dumps(obj, cls=EventSourceJSONEncoder)


def json_loads(text: str | bytes) -> Any:
    """Plain ``json.loads`` (no type is converted back)."""
    return json.loads(text)
