"""eventsource-py 0.5.0's ``eventsource.repositories.checkpoint``: the Checkpoint repositories."""

from typing import TYPE_CHECKING

from ..memory._repositories import MemoryCheckpointRepository
from ._contracts import CheckpointRepository
from ._entries import CheckpointData, LagMetrics

if TYPE_CHECKING:
    from eventsource_postgres import (
        PostgreSQLCheckpointRepository as PostgreSQLCheckpointRepository,
    )
    from eventsource_sqlite import SQLiteCheckpointRepository as SQLiteCheckpointRepository

#: 0.5.0's names of the contract and of the in-memory repository.
CheckpointRepositoryProtocol = CheckpointRepository
InMemoryCheckpointRepository = MemoryCheckpointRepository

__all__ = [
    "CheckpointData",
    "CheckpointRepository",
    "CheckpointRepositoryProtocol",
    "InMemoryCheckpointRepository",
    "LagMetrics",
    "PostgreSQLCheckpointRepository",
    "SQLiteCheckpointRepository",
]

if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        from ..plugins._manager import resolve_lazy_class

        return resolve_lazy_class(
            __name__, name, ("SQLiteCheckpointRepository", "PostgreSQLCheckpointRepository")
        )
