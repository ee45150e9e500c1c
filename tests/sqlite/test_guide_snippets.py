"""Every code snippet of the SQLite backend guide, run as written.

Each test's body is the guide's snippet; what surrounds it (the ``OrderAggregate`` the guide
imports from ``my_app``, an ``event`` to record, a message bus) is set up around it. The
migration-to-PostgreSQL snippet belongs to the PostgreSQL backend's tests.
"""
# ruff: noqa: F841 - snippets are kept exactly as the guide prints them

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from pydantic import BaseModel

from eventsource import (
    AggregateRepository,
    AggregateRoot,
    DatabaseLockedError,
    DomainEvent,
    SQLiteEventStore,
)


class OrderCreated(DomainEvent):
    """The guide's order was created."""

    customer_id: UUID
    email: str


class OrderShipped(DomainEvent):
    """The guide's order was shipped."""


class OrderState(BaseModel):
    """What the guide's order knows."""

    order_id: UUID
    status: str = "new"
    email: str | None = None


class OrderAggregate(AggregateRoot[OrderState]):
    """The ``my_app.aggregates.OrderAggregate`` the guide imports."""

    aggregate_type = "Order"

    def _get_initial_state(self) -> OrderState:
        return OrderState(order_id=self.aggregate_id)

    def _apply(self, event: DomainEvent) -> None:
        if isinstance(event, OrderCreated):
            self._state = self.state.model_copy(update={"status": "created", "email": event.email})
        elif isinstance(event, OrderShipped):
            self._state = self.state.model_copy(update={"status": "shipped"})

    def create(self, customer_id: UUID, email: str) -> None:
        self.raise_event(OrderCreated, customer_id=customer_id, email=email)

    def ship(self) -> None:
        self.raise_event(OrderShipped)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the snippet in an empty directory (the guide uses ``./events.db``)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _count(path: Path, sql: str) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute(sql).fetchone()[0])


# -- Quick Start ---------------------------------------------------------------------------------


def test_quick_start(in_tmp: Path) -> None:
    async def main():  # type: ignore[no-untyped-def]
        # Create store with file-based persistence
        async with SQLiteEventStore("./events.db") as store:
            # Initialize schema (creates tables if they don't exist)
            await store.initialize()
            # Create repository
            repo = AggregateRepository(
                event_store=store,
                aggregate_factory=OrderAggregate,
                aggregate_type="Order",
            )
            # Use like any other event store
            order = repo.create_new(uuid4())
            order.create(customer_id=uuid4(), email="customer@example.com")
            await repo.save(order)

    asyncio.run(main())

    assert _count(in_tmp / "events.db", "SELECT COUNT(*) FROM events") == 1
    assert (
        _count(
            in_tmp / "events.db",
            "SELECT COUNT(*) FROM events WHERE event_type = "
            "'OrderCreated' AND aggregate_type = 'Order'",
        )
        == 1
    )


# -- Configuration -------------------------------------------------------------------------------


async def test_database_path_options(in_tmp: Path) -> None:
    # In-memory database (data lost when process exits)
    store = SQLiteEventStore(":memory:")
    # File-based database (persistent)
    store = SQLiteEventStore("./events.db")
    # Absolute path
    store = SQLiteEventStore("/var/data/myapp/events.db")

    assert store.database == "/var/data/myapp/events.db"  # constructing connects nothing
    async with SQLiteEventStore(":memory:") as memory, SQLiteEventStore("./events.db") as file:
        await memory.initialize()
        await file.initialize()
    assert (in_tmp / "events.db").exists()


async def test_wal_mode(in_tmp: Path) -> None:
    # Enabled by default (recommended for most cases)
    store = SQLiteEventStore("./events.db", wal_mode=True)
    # Disable for single-process or read-only scenarios
    store = SQLiteEventStore("./events.db", wal_mode=False)

    async with SQLiteEventStore("./wal.db", wal_mode=True) as wal:
        mode = await (await wal.connection.execute("PRAGMA journal_mode")).fetchone()
        assert mode is not None and mode[0] == "wal"
    async with SQLiteEventStore("./rollback.db", wal_mode=False) as plain:
        mode = await (await plain.connection.execute("PRAGMA journal_mode")).fetchone()
        assert mode is not None and mode[0] == "delete"


async def test_busy_timeout(in_tmp: Path) -> None:
    # Wait up to 10 seconds for locked database
    store = SQLiteEventStore("./events.db", busy_timeout=10000)
    # Fail immediately if locked
    store = SQLiteEventStore("./events.db", busy_timeout=0)

    async with SQLiteEventStore("./events.db", busy_timeout=10000) as patient:
        row = await (await patient.connection.execute("PRAGMA busy_timeout")).fetchone()
        assert row is not None and row[0] == 10000


# -- Using the repositories ----------------------------------------------------------------------


async def _stored_order_events(path: str) -> list[DomainEvent]:
    """Two events of one order in the store at ``path`` (what the snippets refer to)."""
    async with SQLiteEventStore(path) as store:
        await store.initialize()
        order = OrderAggregate(uuid4())
        order.create(customer_id=uuid4(), email="a@example.com")
        order.ship()
        await store.append_events(order.aggregate_id, "Order", order.uncommitted_events, 0)
        return (await store.get_events(order.aggregate_id, "Order")).events


async def test_checkpoint_repository(in_tmp: Path) -> None:
    created, shipped = await _stored_order_events("events.db")
    event = created

    import aiosqlite

    from eventsource.repositories import SQLiteCheckpointRepository

    async with aiosqlite.connect("events.db") as db:
        repo = SQLiteCheckpointRepository(db)
        # Update checkpoint after processing an event
        await repo.update_checkpoint(
            projection_name="OrderProjection",
            event_id=event.event_id,
            event_type=event.event_type,
        )
        # Get last processed event ID
        last_event_id = await repo.get_checkpoint("OrderProjection")
        # Get lag metrics
        metrics = await repo.get_lag_metrics(
            "OrderProjection",
            event_types=["OrderCreated", "OrderShipped"],
        )

    assert last_event_id == created.event_id
    assert metrics is not None
    assert metrics.lag_events == 1 and metrics.latest_event_id == shipped.event_id
    assert metrics["projection_name"] == "OrderProjection"
    assert _count(in_tmp / "events.db", "SELECT global_position FROM projection_checkpoints") == 1


async def test_outbox_repository(in_tmp: Path) -> None:
    order_created_event, _ = await _stored_order_events("events.db")
    published: list[Any] = []

    async def publish_to_message_bus(entry: Any) -> None:
        published.append(entry)

    import aiosqlite

    from eventsource.repositories import SQLiteOutboxRepository

    async with aiosqlite.connect("events.db") as db:
        repo = SQLiteOutboxRepository(db)
        # Add event to outbox within your transaction
        outbox_id = await repo.add_event(order_created_event)
        # In your publisher worker:
        pending = await repo.get_pending_events(limit=100)
        for entry in pending:
            # Publish to external system
            await publish_to_message_bus(entry)
            # Mark as published
            await repo.mark_published(entry["id"])

    assert [entry["id"] for entry in published] == [outbox_id]
    assert published[0]["event_data"]["email"] == "a@example.com"
    assert (
        _count(in_tmp / "events.db", "SELECT COUNT(*) FROM event_outbox WHERE status = 'published'")
        == 1
    )


async def test_dlq_repository(in_tmp: Path) -> None:
    event, _ = await _stored_order_events("events.db")

    class Projection:
        async def handle(self, event: DomainEvent) -> None:
            raise KeyError(f"no customer for {event.event_id}")

    projection = Projection()
    # the database already holds 122 parked events, so the one recorded below gets id 123
    with sqlite3.connect(in_tmp / "events.db") as raw:
        raw.execute(
            "INSERT INTO dead_letter_queue (id, event_id, projection_name, event_type,"
            " event_data, error_type, error_message, error_stacktrace, retry_count,"
            " first_failed_at, last_failed_at, status) VALUES"
            " (122, ?, 'Other', 'X', '{}', 'E', 'm', '', 1, 0, 0, 'resolved')",
            (str(uuid4()),),
        )

    import aiosqlite

    from eventsource.repositories import SQLiteDLQRepository

    async with aiosqlite.connect("events.db") as db:
        repo = SQLiteDLQRepository(db)
        # Record a failed event
        try:
            await projection.handle(event)
        except Exception as e:
            await repo.add_failed_event(
                event_id=event.event_id,
                projection_name="OrderProjection",
                event_type=event.event_type,
                event_data=event.model_dump(),
                error=e,
                retry_count=1,
            )
        # Get failed events for retry
        failed = await repo.get_failed_events(
            projection_name="OrderProjection",
            status="failed",
            limit=50,
        )
        # Mark as resolved after manual intervention
        await repo.mark_resolved(dlq_id=123, resolution="Fixed data issue")

        entry = await repo.get_failed_event_by_id(123)

    assert [f["id"] for f in failed] == [123]
    assert failed[0].error_type == "KeyError" and "projection.handle" in failed[0].error_stacktrace
    assert entry is not None and entry.status == "resolved"
    assert entry.resolution == "Fixed data issue"


# -- In-memory mode for testing (the guide's fixtures and test, as written) ---------------------


@pytest.fixture
async def event_store():  # type: ignore[no-untyped-def]
    """In-memory event store for isolated testing."""
    async with SQLiteEventStore(":memory:") as store:
        await store.initialize()
        yield store


@pytest.fixture
async def order_repo(event_store):  # type: ignore[no-untyped-def]
    """Order repository using in-memory store."""
    return AggregateRepository(
        event_store=event_store,
        aggregate_factory=OrderAggregate,
        aggregate_type="Order",
    )


@pytest.mark.asyncio
async def test_order_creation(order_repo):  # type: ignore[no-untyped-def]
    order_id = uuid4()
    order = order_repo.create_new(order_id)
    order.create(customer_id=uuid4(), email="test@example.com")
    await order_repo.save(order)
    loaded = await order_repo.load(order_id)
    assert loaded.state.status == "created"


async def test_in_memory_stores_are_isolated(event_store: SQLiteEventStore) -> None:
    """'Each test gets a fresh database': a second :memory: store sees nothing of the first."""
    order = OrderAggregate(uuid4())
    order.create(customer_id=uuid4(), email="x@example.com")
    await event_store.append_events(order.aggregate_id, "Order", order.uncommitted_events, 0)
    async with SQLiteEventStore(":memory:") as other:
        await other.initialize()
        assert await other.get_global_position() == 0
    assert await event_store.get_global_position() == 1


# -- Limitations: the busy database --------------------------------------------------------------


async def test_busy_database_handling(in_tmp: Path) -> None:
    """Another connection really holds the write lock; the guide's handler catches the error,
    waits, and the retry succeeds once the lock is released."""
    async with SQLiteEventStore("./events.db", busy_timeout=100) as store:
        await store.initialize()
        order_id = uuid4()
        event = OrderCreated(aggregate_id=order_id, customer_id=uuid4(), email="b@example.com")
        current_version = 0

        blocker = sqlite3.connect(in_tmp / "events.db", isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # the other writer
        caught: list[BaseException] = []
        loop = asyncio.get_running_loop()
        started = loop.time()

        # Handle busy database gracefully
        import aiosqlite

        try:
            result = await store.append_events(
                aggregate_id=order_id,
                aggregate_type="Order",
                events=[event],
                expected_version=current_version,
            )
        except aiosqlite.OperationalError as e:
            if "database is locked" in str(e):
                caught.append(e)
                blocker.rollback()  # (the other writer finishes)
                # Retry after a delay
                await asyncio.sleep(0.1)
                # ... retry logic
                result = await store.append_events(
                    aggregate_id=order_id,
                    aggregate_type="Order",
                    events=[event],
                    expected_version=current_version,
                )

        blocker.close()
        assert len(caught) == 1
        assert isinstance(caught[0], DatabaseLockedError)
        assert "events.db" in str(caught[0])
        assert loop.time() - started >= 0.09  # it waited busy_timeout before giving up
        assert result.new_version == 1
        assert await store.get_stream_version(order_id, "Order") == 1


# -- Best practices ------------------------------------------------------------------------------


async def test_use_context_manager(in_tmp: Path) -> None:
    # Recommended
    async with SQLiteEventStore("./events.db") as store:
        await store.initialize()
        # ... use store
        assert await store.get_global_position() == 0

    # Also works but requires manual cleanup
    store = SQLiteEventStore("./events.db")
    await store._connect()
    await store.initialize()
    try:
        # ... use store
        assert await store.get_global_position() == 0
    finally:
        await store.close()

    from eventsource import StorageUnavailableError

    with pytest.raises(StorageUnavailableError, match="not connected"):
        await store.get_global_position()


async def test_initialize_once(in_tmp: Path) -> None:
    from . import _guide_app
    from ._guide_app import app_shutdown, app_startup

    await app_startup()
    assert isinstance(_guide_app.event_store, SQLiteEventStore)
    assert await _guide_app.event_store.get_global_position() == 0
    await app_shutdown()
    assert _guide_app.event_store._conn is None


async def test_handle_optimistic_lock_errors(in_tmp: Path) -> None:
    from eventsource import OptimisticLockError

    async def save_with_retry(repo, aggregate, max_retries=3):  # type: ignore[no-untyped-def]
        for attempt in range(max_retries):
            try:
                await repo.save(aggregate)
                return
            except OptimisticLockError:
                if attempt == max_retries - 1:
                    raise
                # Reload and replay command
                aggregate = await repo.load(aggregate.aggregate_id)
                # Re-apply your command here
                aggregate.ship()

    async with SQLiteEventStore("./events.db") as store, SQLiteEventStore("./events.db") as other:
        await store.initialize()
        repo = AggregateRepository(store, OrderAggregate, "Order")
        other_repo = AggregateRepository(other, OrderAggregate, "Order")
        order = repo.create_new(uuid4())
        order.create(customer_id=uuid4(), email="c@example.com")
        await repo.save(order)
        mine = await repo.load(order.aggregate_id)
        theirs = await other_repo.load(order.aggregate_id)
        theirs.ship()
        await other_repo.save(theirs)  # a concurrent writer gets there first
        mine.ship()
        await save_with_retry(repo, mine)
        assert await store.get_stream_version(order.aggregate_id, "Order") == 3


async def test_wal_mode_and_busy_timeout_best_practices(in_tmp: Path) -> None:
    # WAL mode allows concurrent reads during writes
    store = SQLiteEventStore(
        "./events.db",
        wal_mode=True,  # Default
    )
    # Longer timeout for applications with occasional contention
    store = SQLiteEventStore(
        "./events.db",
        busy_timeout=10000,  # 10 seconds
    )
    assert store.wal_mode and store.busy_timeout == 10000
