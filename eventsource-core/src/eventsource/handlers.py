"""eventsource-py 0.5.0's ``eventsource.handlers``: the ``@handles`` decorator."""

from .compat._declarative import handles

__all__ = ["handles"]
