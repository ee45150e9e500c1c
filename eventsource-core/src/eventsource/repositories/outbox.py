"""eventsource-py 0.5.0's ``eventsource.repositories.outbox``: the Outbox repositories."""

from typing import TYPE_CHECKING

from ..memory._repositories import MemoryOutboxRepository
from ._contracts import OutboxRepository
from ._entries import OutboxEntry, OutboxStats

if TYPE_CHECKING:
    from eventsource_postgres import PostgreSQLOutboxRepository as PostgreSQLOutboxRepository
    from eventsource_sqlite import SQLiteOutboxRepository as SQLiteOutboxRepository

#: 0.5.0's names of the contract and of the in-memory repository.
OutboxRepositoryProtocol = OutboxRepository
InMemoryOutboxRepository = MemoryOutboxRepository

__all__ = [
    "InMemoryOutboxRepository",
    "OutboxEntry",
    "OutboxRepository",
    "OutboxRepositoryProtocol",
    "OutboxStats",
    "PostgreSQLOutboxRepository",
    "SQLiteOutboxRepository",
]

if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        from ..plugins._manager import resolve_lazy_class

        return resolve_lazy_class(
            __name__, name, ("SQLiteOutboxRepository", "PostgreSQLOutboxRepository")
        )
