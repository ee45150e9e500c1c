"""eventsource-py 0.5.0's ``eventsource.repositories._json`` (deprecated there too): use
:mod:`eventsource.serialization`."""

from ..compat._json import EventSourceJSONEncoder, json_dumps, json_loads

__all__ = ["EventSourceJSONEncoder", "json_dumps", "json_loads"]
