"""eventsource-py 0.5.0's ``eventsource.stores.sqlite``: resolved from its backend."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from eventsource_sqlite import SQLiteEventStore as SQLiteEventStore

__all__ = ["SQLiteEventStore"]

if not TYPE_CHECKING:

    def __getattr__(name: str) -> type:
        from ..plugins._manager import resolve_lazy_class

        return resolve_lazy_class(__name__, name, ("SQLiteEventStore",))
