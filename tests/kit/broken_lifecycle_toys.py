"""Deliberately broken stream lifecycles: memory subclasses, each breaking one guarantee, as
toy backends that declare ``stream_lifecycle`` (see ``broken_toys``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from uuid import UUID, uuid4

from broken_toys import toy_spec

from eventsource import AppendResult, DomainEvent, RetentionPolicy
from eventsource.memory import MemoryEventStore, MemorySnapshotStore
from eventsource.plugins import Backend, parse_url
from eventsource.snapshots import Snapshot
from eventsource.spi import BackendSpec, encode_snapshot, prepare_append


class UnrecordedDeletes(MemoryEventStore):
    """Deletes and restores without appending StreamDeleted / StreamRestored."""

    def _record(self, event: DomainEvent) -> None:
        return None


class ForgetfulRetention(MemoryEventStore):
    """Keeps saved retention policies in the store object, not in the database."""

    async def _read_retention(self) -> dict[str, RetentionPolicy]:
        return dict(getattr(self, "_kept", {}))

    async def _write_retention(self, aggregate_type: str, policy: RetentionPolicy | None) -> None:
        kept = dict(getattr(self, "_kept", {}))
        if policy is None:
            kept.pop(aggregate_type, None)
        else:
            kept[aggregate_type] = policy
        self._kept = kept


class DeafAppends(MemoryEventStore):
    """Appends ignore the deleted mark: a deleted stream silently takes new events."""

    async def append_events(
        self,
        aggregate_id: UUID,
        aggregate_type: str,
        events: Sequence[DomainEvent],
        expected_version: int,
        *,
        outbox: bool = False,
        recreate: bool = False,
    ) -> AppendResult:
        expected, prepared = prepare_append(
            self, aggregate_id, aggregate_type, events, expected_version
        )
        return self._append_locked(aggregate_id, aggregate_type, expected, prepared, outbox)


class SnapshotsOfDeletedStreams(MemorySnapshotStore):
    """Saves snapshots whether or not their stream is deleted."""

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        record = encode_snapshot(snapshot)
        self.state.snapshots[(record.aggregate_id, record.aggregate_type)] = record


def lifecycle_spec(**roles: type) -> BackendSpec:
    """A toy spec (memory roles, some replaced) that declares ``stream_lifecycle``."""
    spec = toy_spec(**roles)  # type: ignore[arg-type]
    events = spec.event_store
    capabilities = dataclasses.replace(events.capabilities, stream_lifecycle=True)
    return dataclasses.replace(
        spec, event_store=dataclasses.replace(events, capabilities=capabilities)
    )


TOYS: dict[str, BackendSpec] = {
    "sound": lifecycle_spec(),
    "unrecorded": lifecycle_spec(store_class=UnrecordedDeletes),
    "deaf_appends": lifecycle_spec(store_class=DeafAppends),
    "forgetful_retention": lifecycle_spec(store_class=ForgetfulRetention),
    "undead_snapshots": lifecycle_spec(snapshots=SnapshotsOfDeletedStreams),
}


def lifecycle_toy_opener(kind: str) -> object:
    """An opener for the lifecycle toy ``kind`` on a fresh shared database."""
    spec = TOYS[kind]
    url = parse_url(f"toy://kit-{uuid4().hex}")
    return lambda: Backend(spec, url)
