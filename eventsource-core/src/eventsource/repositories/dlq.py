"""eventsource-py 0.5.0's ``eventsource.repositories.dlq``: the DLQ repositories."""

from typing import TYPE_CHECKING

from ..memory._repositories import MemoryDLQRepository
from ._contracts import DLQRepository
from ._entries import DLQEntry, DLQStats, ProjectionFailureCount

if TYPE_CHECKING:
    from eventsource_postgres import PostgreSQLDLQRepository as PostgreSQLDLQRepository
    from eventsource_sqlite import SQLiteDLQRepository as SQLiteDLQRepository

#: 0.5.0's names of the contract and of the in-memory repository.
DLQRepositoryProtocol = DLQRepository
InMemoryDLQRepository = MemoryDLQRepository

__all__ = [
    "DLQEntry",
    "DLQRepository",
    "DLQRepositoryProtocol",
    "DLQStats",
    "InMemoryDLQRepository",
    "PostgreSQLDLQRepository",
    "ProjectionFailureCount",
    "SQLiteDLQRepository",
]

if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        from ..plugins._manager import resolve_lazy_class

        return resolve_lazy_class(
            __name__, name, ("SQLiteDLQRepository", "PostgreSQLDLQRepository")
        )
