"""eventsource-py 0.5.0's ``eventsource.serialization``: JSON helpers."""

from .compat._json import EventSourceJSONEncoder, json_dumps, json_loads

__all__ = ["EventSourceJSONEncoder", "json_dumps", "json_loads"]
