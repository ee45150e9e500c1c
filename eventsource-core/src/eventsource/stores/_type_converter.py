"""eventsource-py 0.5.0's ``eventsource.stores._type_converter``."""

from ..compat._converter import (
    DEFAULT_STRING_ID_FIELDS,
    DEFAULT_UUID_FIELDS,
    DefaultTypeConverter,
    TypeConverter,
)

__all__ = [
    "DEFAULT_STRING_ID_FIELDS",
    "DEFAULT_UUID_FIELDS",
    "DefaultTypeConverter",
    "TypeConverter",
]
