"""eventsource-py 0.5.0's ``eventsource.types`` (type aliases)."""

from .compat._types import *  # noqa: F403
from .compat._types import __all__ as __all__
