"""Every error eventsource raises, in one tree rooted in :class:`EventSourceError`.

The same classes as ``eventsource``'s top level, importable from here too (where
eventsource-py 0.5.0 kept its errors); the tree is drawn in :mod:`eventsource._exceptions`.
"""

from ._exceptions import *  # noqa: F403
from ._exceptions import BrokerError as EventBusError
from ._exceptions import UnknownEventTypeError as EventTypeNotFoundError
from ._exceptions import __all__ as _all

#: The tree's classes, and eventsource-py 0.5.0's aliases of :class:`UnknownEventTypeError`
#: and :class:`BrokerError`.
__all__ = [*_all, "EventBusError", "EventTypeNotFoundError"]
from ._exceptions import __doc__ as _tree

__doc__ = f"{__doc__}\n{_tree}"
