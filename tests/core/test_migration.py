"""migrate_events / migrate_backend between in-memory stores (other backends: tests/e2e)."""

from __future__ import annotations

import itertools
import json
import random
from uuid import UUID, uuid4

import pytest

from eventsource import (
    DomainEvent,
    EventSourceError,
    EventStore,
    EventStoreError,
    MemoryEventStore,
    StoredEvent,
    StoreNotFoundError,
    StreamDeletedError,
    open_backend,
)
from eventsource.events import EventRegistry, serialize_event
from eventsource.memory import plugin as memory_plugin
from eventsource.memory._names import named_exists
from eventsource.migration import (
    GenericEvent,
    LenientEventRegistry,
    Method,
    MigrationProgress,
    MigrationReport,
    migrate_backend,
    migrate_events,
)
from eventsource.plugins import parse_url

from ._model import CtItemAdded, CtOrderPlaced


class Interrupted(Exception):
    """Raised by a progress callback to simulate a crash mid-migration."""


async def fill(store: EventStore, streams: int, events: int, seed: int = 7) -> list[UUID]:
    """Append ``events`` events spread over ``streams`` streams, interleaved at random."""
    rng = random.Random(seed)
    ids = [uuid4() for _ in range(streams)]
    versions = dict.fromkeys(ids, 0)
    for _ in range(events):
        aggregate_id = rng.choice(ids)
        size = rng.randint(1, 3)
        batch: list[DomainEvent] = []
        for _ in range(size):
            v = versions[aggregate_id] + len(batch) + 1
            if v == 1:
                batch.append(
                    CtOrderPlaced(aggregate_id=aggregate_id, customer="c", aggregate_version=v)
                )
            else:
                batch.append(
                    CtItemAdded(aggregate_id=aggregate_id, sku=f"s{v}", aggregate_version=v)
                )
        await store.append_events(aggregate_id, "CtOrder", batch, versions[aggregate_id])
        versions[aggregate_id] += size
    return ids


async def log_of(store: EventStore) -> list[tuple[UUID, str, int, str]]:
    return [
        (s.event_id, s.stream_id, s.stream_position, serialize_event(s.event))
        async for s in store.read_all()
    ]


@pytest.mark.parametrize("method", ["bulk", "append"])
async def test_copy_preserves_ids_versions_order_and_payloads(method: Method) -> None:
    source, target = MemoryEventStore(), MemoryEventStore()
    await fill(source, streams=12, events=150)
    reports: list[MigrationProgress] = []
    report = await migrate_events(
        source, target, batch_size=25, progress=reports.append, method=method
    )
    seen = [p.done for p in reports if p.done]
    assert report.method == method
    assert await log_of(target) == await log_of(source)
    total = await source.get_global_position()
    assert report.events_copied == total and report.events_skipped == 0
    assert report.streams == 12 and report.last_position == total
    assert report.elapsed_seconds >= 0 and report.events_seen == total
    assert seen == sorted(seen) and seen[-1] == total
    assert all(b - a >= 25 for a, b in itertools.pairwise(seen[:-1]))


async def test_batches_of_one_stream_use_exact_versions() -> None:
    """Consecutive events of a stream go in one append at the exact expected version."""
    calls: list[tuple[int, int]] = []

    class Recording(MemoryEventStore):
        async def append_events(
            self, aggregate_id, aggregate_type, events, expected_version, *, outbox=False
        ):  # type: ignore[no-untyped-def]
            calls.append((expected_version, len(events)))
            return await super().append_events(
                aggregate_id, aggregate_type, events, expected_version, outbox=outbox
            )

    source, target = MemoryEventStore(), Recording()
    a, b = uuid4(), uuid4()
    await source.append_events(a, "CtOrder", [CtOrderPlaced(aggregate_id=a, customer="x")], 0)
    adds = [CtItemAdded(aggregate_id=a, sku=str(i), aggregate_version=i + 2) for i in range(5)]
    await source.append_events(a, "CtOrder", adds, 1)
    await source.append_events(b, "CtOrder", [CtOrderPlaced(aggregate_id=b, customer="y")], 0)
    await source.append_events(
        a, "CtOrder", [CtItemAdded(aggregate_id=a, sku="z", aggregate_version=7)], 6
    )
    await migrate_events(source, target, batch_size=4, method="append")
    assert calls == [(0, 4), (4, 2), (0, 1), (6, 1)]
    assert await log_of(target) == await log_of(source)


@pytest.mark.parametrize("method", ["bulk", "append"])
async def test_interrupted_migration_resumes_without_duplicates(method: Method) -> None:
    source, target = MemoryEventStore(), MemoryEventStore()
    await fill(source, streams=8, events=120, seed=3)
    total = await source.get_global_position()

    def crash(progress: MigrationProgress) -> None:
        if progress.done >= 60:
            raise Interrupted(progress.done)

    with pytest.raises(Interrupted):
        await migrate_events(source, target, batch_size=20, progress=crash, method=method)
    partial = await target.get_global_position()
    assert 0 < partial < total

    report = await migrate_events(source, target, batch_size=20, method=method)
    assert report.events_skipped == partial and report.events_copied == total - partial
    assert await log_of(target) == await log_of(source)

    again = await migrate_events(source, target, method=method)
    assert (again.events_copied, again.events_skipped) == (0, total)
    assert await target.get_global_position() == total


async def test_interruption_inside_a_stream_batch_leaves_a_clean_prefix() -> None:
    """A target that fails on its 3rd append: what landed is a prefix; a re-run completes."""

    class Flaky(MemoryEventStore):
        appends = 0

        async def append_events(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            Flaky.appends += 1
            if Flaky.appends == 3:
                raise EventSourceError("connection dropped")
            return await super().append_events(*args, **kwargs)

    source, target = MemoryEventStore(), Flaky()
    await fill(source, streams=3, events=40, seed=11)
    with pytest.raises(EventSourceError, match="connection dropped"):
        await migrate_events(source, target, batch_size=5, method="append")
    prefix = await log_of(target)
    assert prefix == (await log_of(source))[: len(prefix)]
    await migrate_events(source, target, batch_size=5, method="append")
    assert await log_of(target) == await log_of(source)


async def test_bulk_interruption_leaves_a_clean_prefix() -> None:
    """A target whose 3rd import fails: what landed is whole batches; a re-run completes."""

    class Flaky(MemoryEventStore):
        imports = 0

        async def import_rows(self, rows):  # type: ignore[no-untyped-def]
            Flaky.imports += 1
            if Flaky.imports == 3:
                raise EventSourceError("connection dropped")
            return await super().import_rows(rows)

    source, target = MemoryEventStore(), Flaky()
    await fill(source, streams=3, events=40, seed=11)
    with pytest.raises(EventSourceError, match="connection dropped"):
        await migrate_events(source, target, batch_size=5)
    prefix = await log_of(target)
    assert len(prefix) == 10 and prefix == (await log_of(source))[:10]
    report = await migrate_events(source, target, batch_size=5)
    assert report.events_skipped == 10
    assert await log_of(target) == await log_of(source)


@pytest.mark.parametrize("method", ["bulk", "append"])
async def test_target_with_other_events_in_a_stream_is_refused(method: Method) -> None:
    source, target = MemoryEventStore(), MemoryEventStore()
    aggregate_id = uuid4()
    await source.append_events(
        aggregate_id, "CtOrder", [CtOrderPlaced(aggregate_id=aggregate_id, customer="a")], 0
    )
    await target.append_events(
        aggregate_id, "CtOrder", [CtOrderPlaced(aggregate_id=aggregate_id, customer="b")], 0
    )
    with pytest.raises(EventStoreError, match="not a copy of the source"):
        await migrate_events(source, target, method=method)
    assert await target.get_global_position() == 1


async def test_empty_source_and_bad_batch_size() -> None:
    report = await migrate_events(MemoryEventStore(), MemoryEventStore())
    assert report == MigrationReport(0, 0, 0, report.elapsed_seconds, 0, 0, method="bulk")
    for bad in (0, -1, True, 2.5):
        with pytest.raises(EventStoreError, match="batch_size"):
            await migrate_events(MemoryEventStore(), MemoryEventStore(), batch_size=bad)  # type: ignore[arg-type]


async def test_lenient_registry_copies_events_of_unregistered_types() -> None:
    """A CLI process does not import the application's event classes."""
    payload = CtOrderPlaced(aggregate_id=uuid4(), customer="zoe", metadata={"k": 1})
    registry = LenientEventRegistry(EventRegistry())  # knows no types at all
    decoded = registry.deserialize(serialize_event(payload), payload.event_type, 1)
    assert type(decoded) is GenericEvent
    assert decoded.event_type == "coretest.OrderPlaced" and decoded.event_id == payload.event_id
    assert json.loads(serialize_event(decoded)) == json.loads(serialize_event(payload))
    assert "anything" in registry
    registry.check_registered(decoded)
    known = LenientEventRegistry()
    assert known.get("coretest.OrderPlaced") is CtOrderPlaced

    store = MemoryEventStore(event_registry=EventRegistry())
    store.event_registry = LenientEventRegistry(store.event_registry)
    result = await store.append_events(payload.aggregate_id, "CtOrder", [decoded], 0)
    assert result.new_version == 1


async def test_migrate_backend_copies_events_and_checkpoints() -> None:
    source_url, target_url = f"memory://src-{uuid4().hex}", f"memory://dst-{uuid4().hex}"
    # Keep both named databases alive across the backends opened inside migrate_backend.
    keep = [memory_plugin.store_from_url(parse_url(u)) for u in (source_url, target_url)]
    async with open_backend(source_url) as source:
        await fill(source.events, streams=4, events=30)
        events: list[StoredEvent] = [s async for s in source.events.read_all()]
        await source.checkpoints.update_checkpoint(
            "proj-a", events[9].event_id, events[9].event_type
        )
        await source.checkpoints.update_checkpoint(
            "proj-b", events[-1].event_id, events[-1].event_type
        )
    report = await migrate_backend(source_url, target_url, batch_size=7)
    assert report.events_copied == len(events) and report.checkpoints_copied == 2
    async with open_backend(target_url) as target:
        assert await log_of(target.events) == await log_of(keep[0])
        assert await target.checkpoints.get_position("proj-a") == events[9].global_position
        assert await target.checkpoints.get_checkpoint("proj-b") == events[-1].event_id
    again = await migrate_backend(source_url, target_url)
    assert again.events_copied == 0 and again.events_skipped == len(events)
    assert await keep[1].get_global_position() == len(events)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("postgresql://u:pw@h/db", "postgresql://u:other@h/db?pool_max=3"),
        ("sqlite:///same.db", "sqlite:///./same.db"),
        ("memory://shared", "memory://shared"),
    ],
)
async def test_migrate_backend_refuses_the_same_database(source: str, target: str) -> None:
    with pytest.raises(EventStoreError, match="same database"):
        await migrate_backend(source, target)


async def test_private_memory_databases_are_never_the_same() -> None:
    """Not refused as "the same database": a private source is new, so it does not exist."""
    with pytest.raises(StoreNotFoundError, match="private"):
        await migrate_backend("memory://", "memory://")


async def test_a_missing_source_is_refused_and_not_created() -> None:
    source, target = f"never-{uuid4().hex}", f"target-{uuid4().hex}"
    with pytest.raises(StoreNotFoundError) as caught:
        await migrate_backend(f"memory://{source}", f"memory://{target}")
    assert caught.value.location == f"memory://{source}"
    assert not named_exists(source) and not named_exists(target)


async def _lived_in(url: str) -> tuple[UUID, UUID, UUID]:
    """A truncated, a soft-deleted and a hard-deleted stream, and a checkpoint."""
    cut, soft, hard = uuid4(), uuid4(), uuid4()
    async with open_backend(url) as backend:
        for aid in (cut, soft, hard):
            batch: list[DomainEvent] = [CtOrderPlaced(aggregate_id=aid, customer="c")]
            batch += [CtItemAdded(aggregate_id=aid, sku=f"s{n}") for n in range(3)]
            await backend.events.append_events(aid, "CtOrder", batch, 0)
        await backend.events.truncate_stream(cut, "CtOrder", before=3)
        await backend.events.delete_stream(soft, "CtOrder")
        await backend.events.delete_stream(hard, "CtOrder", hard=True)
        last = [s async for s in backend.events.read_all()][-1]
        await backend.checkpoints.update_checkpoint("proj", last.event_id, last.event_type)
    return cut, soft, hard


async def test_bulk_copies_truncated_and_deleted_streams_and_checkpoints_exactly() -> None:
    """Memory to memory: a dry run writes nothing; the copy keeps the truncated stream's
    versions, the soft-deleted rows (restorable), the hard delete's mark, the checkpoint row
    as it is (processed count and update time) and verifies; reruns change nothing."""
    source_url, target_url = f"memory://src-{uuid4().hex}", f"memory://dst-{uuid4().hex}"
    keep = [memory_plugin.store_from_url(parse_url(u)) for u in (source_url, target_url)]
    cut, soft, hard = await _lived_in(source_url)
    dry = await migrate_backend(source_url, target_url, dry_run=True)
    assert dry.dry_run and (dry.events_copied, dry.marks_copied, dry.checkpoints_copied) == (
        9,
        2,
        1,
    )
    assert await keep[1].get_global_position() == 0
    report = await migrate_backend(source_url, target_url, batch_size=3)
    assert report.method == "bulk" and report.events_copied == 9 and report.marks_copied == 2
    assert report.verification is not None and report.verification.ok
    assert report.verification.source_count == 9
    async with open_backend(target_url) as target, open_backend(source_url) as source:
        original = await source.checkpoints.get_checkpoint_data("proj")
        for _ in range(3):
            again = await migrate_backend(source_url, target_url)
            assert (again.events_copied, again.events_skipped) == (0, 9)
        assert await target.checkpoints.get_checkpoint_data("proj") == original
        events = target.events
        assert [e.aggregate_version for e in (await events.get_events(cut, "CtOrder")).events] == [
            3,
            4,
        ]
        assert [s.global_position async for s in events.read_all()] == [
            s.global_position async for s in source.events.read_all()
        ]
        with pytest.raises(StreamDeletedError):
            await events.append_events(
                hard, "CtOrder", [CtOrderPlaced(aggregate_id=hard, customer="x")], 0
            )
        assert await events.restore_stream(soft, "CtOrder") == 4


async def test_append_path_rerun_does_not_add_up_checkpoints() -> None:
    """Through append_events a checkpoint is set by event id once; reruns leave its processed
    count and update time as they are (they used to add one each: 1 became 4)."""
    source_url, target_url = f"memory://src-{uuid4().hex}", f"memory://dst-{uuid4().hex}"
    keep = [memory_plugin.store_from_url(parse_url(u)) for u in (source_url, target_url)]
    async with open_backend(source_url) as source:
        await fill(source.events, streams=3, events=20)
        last = [s async for s in source.events.read_all()][-1]
        await source.checkpoints.update_checkpoint("proj", last.event_id, last.event_type)
    first = await migrate_backend(source_url, target_url, method="append")
    assert first.method == "append" and first.checkpoints_copied == 1
    assert first.verification is not None and first.verification.ok
    async with open_backend(target_url) as target:
        copied = await target.checkpoints.get_checkpoint_data("proj")
        for _ in range(3):
            await migrate_backend(source_url, target_url, method="append")
        assert await target.checkpoints.get_checkpoint_data("proj") == copied
    assert copied is not None and copied.events_processed == 1
    assert await keep[1].get_global_position() == await keep[0].get_global_position()


async def test_bad_migration_arguments_are_refused() -> None:
    with pytest.raises(EventStoreError, match="cannot copy projections"):
        await migrate_backend("memory://a", "memory://b", include=["outbox", "projections"])
    with pytest.raises(EventStoreError, match="method"):
        await migrate_events(MemoryEventStore(), MemoryEventStore(), method="fast")  # type: ignore[arg-type]
    store = MemoryEventStore()
    with pytest.raises(EventStoreError, match="same store"):
        await migrate_events(store, store)


async def test_outbox_and_dlq_entries_are_copied_once() -> None:
    """include=("outbox", "dlq"): every entry, with its status, is copied; a rerun adds none,
    and an entry the target has published since stays published."""
    source_url, target_url = f"memory://src-{uuid4().hex}", f"memory://dst-{uuid4().hex}"
    keep = [memory_plugin.store_from_url(parse_url(u)) for u in (source_url, target_url)]
    async with open_backend(source_url) as source:
        aid = uuid4()
        placed = CtOrderPlaced(aggregate_id=aid, customer="c")
        await source.events.append_events(aid, "CtOrder", [placed], 0, outbox=True)
        second = await source.outbox.add_event(CtItemAdded(aggregate_id=aid, sku="x"))
        await source.outbox.mark_failed(second, "no broker")
        await source.dlq.add_failed_event(placed.event_id, "proj", placed.event_type, {}, "boom")
    include = ("checkpoints", "outbox", "dlq")
    dry = await migrate_backend(source_url, target_url, include=include, dry_run=True)
    assert (dry.outbox_copied, dry.dlq_copied) == (2, 1)
    report = await migrate_backend(source_url, target_url, include=include)
    assert (report.outbox_copied, report.dlq_copied) == (2, 1)
    async with open_backend(target_url) as target:
        stats = await target.outbox.get_stats()
        assert (stats.pending_count, stats.failed_count) == (1, 1)
        (pending,) = await target.outbox.get_pending_events(limit=5)
        await target.outbox.mark_published(pending.id)
        again = await migrate_backend(source_url, target_url, include=include)
        assert (again.outbox_copied, again.dlq_copied) == (0, 0)
        assert (await target.outbox.get_stats()).published_count == 1
        assert [e.error_message for e in await target.dlq.get_failed_events()] == ["boom"]
    del keep


async def test_snapshots_are_copied_and_never_moved_backwards() -> None:
    """include=("snapshots",): each snapshot is saved into the target; a newer one the target
    took since stays on a rerun."""
    from eventsource.snapshots import Snapshot

    source_url, target_url = f"memory://src-{uuid4().hex}", f"memory://dst-{uuid4().hex}"
    keep = [memory_plugin.store_from_url(parse_url(u)) for u in (source_url, target_url)]
    aid = uuid4()
    async with open_backend(source_url) as source:
        await source.events.append_events(
            aid, "CtOrder", [CtOrderPlaced(aggregate_id=aid, customer="c")], 0
        )
        await source.snapshots.save_snapshot(Snapshot(aid, "CtOrder", 1, {"n": 1}))
    dry = await migrate_backend(source_url, target_url, include=["snapshots"], dry_run=True)
    assert dry.snapshots_copied == 1
    report = await migrate_backend(source_url, target_url, include=["snapshots"])
    assert report.snapshots_copied == 1 and report.checkpoints_copied == 0
    async with open_backend(target_url) as target:
        copied = await target.snapshots.get_snapshot(aid, "CtOrder")
        assert copied is not None and (copied.version, copied.state) == (1, {"n": 1})
        await target.snapshots.save_snapshot(Snapshot(aid, "CtOrder", 5, {"n": 5}))
        await migrate_backend(source_url, target_url, include=["snapshots"])
        newer = await target.snapshots.get_snapshot(aid, "CtOrder")
        assert newer is not None and newer.version == 5
    del keep
