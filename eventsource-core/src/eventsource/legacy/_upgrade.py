"""Driving a conversion: batches, progress, verification, then the swap."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from .._exceptions import ConfigurationError, StoreNotFoundError, UpgradeVerificationError
from ..plugins._manager import BackendRegistry, get_registry
from ..plugins._url import BackendURL, parse_url
from ._converter import (
    LEGACY_TABLES,
    LEGACY_VERSION,
    EventDigest,
    LegacyConverter,
    LegacyState,
    upgrade_command,
)

__all__ = ["UpgradeProgress", "UpgradeReport", "upgrade"]


@dataclass(frozen=True, slots=True)
class UpgradeProgress:
    """Where a conversion is: ``copied`` of ``total`` rows of ``table`` are in our schema."""

    table: str
    copied: int
    total: int
    batches: int


@dataclass(frozen=True, slots=True)
class UpgradeReport:
    """What :func:`upgrade` did.

    ``state`` is what it found (``legacy``, ``converting`` for a resumed conversion, or
    ``current`` when there was nothing to do); ``copied`` the rows it copied per table in this
    run; ``counts`` the rows per table on both sides after verification; ``checksum`` the
    SHA-256 over the ordered events, equal on both sides.
    """

    location: str
    state: str
    copied: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    checksum: str = ""
    elapsed_seconds: float = 0.0
    kept_legacy: bool = False

    @property
    def resumed(self) -> bool:
        """True when this run finished a conversion that an earlier run started."""
        return self.state == LegacyState.CONVERTING.value

    @property
    def events_per_second(self) -> float:
        """Events copied per second in this run (0 when none were)."""
        events = self.copied.get("events", 0)
        return events / self.elapsed_seconds if events and self.elapsed_seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values."""
        return {**asdict(self), "resumed": self.resumed}


async def upgrade(
    url: str | BackendURL,
    *,
    batch_size: int = 1000,
    progress: Callable[[UpgradeProgress], None] | None = None,
    keep_legacy: bool = False,
    restart: bool = False,
    registry: BackendRegistry | None = None,
) -> UpgradeReport:
    """Convert the eventsource-py 0.5.0 database at ``url`` in place to this release's schema.

    Event ids, stream versions, global positions, checkpoints, outbox and DLQ entries are
    kept. Each batch is one transaction and the copy resumes from what is already copied, so
    after an interruption (a crash, a kill, an exception from ``progress``) a rerun finishes
    it without copying anything twice; ``restart`` deletes what was copied and starts over.
    Before the swap the row counts of every table and a SHA-256 over the events in global
    order are compared on both sides; a difference raises :class:`UpgradeVerificationError`
    and leaves the database unconverted. ``progress`` is called after every batch. A database
    already in this release's schema is left alone (``state == "current"``).
    """
    parsed = url if isinstance(url, BackendURL) else parse_url(url)
    spec = (registry or get_registry()).get_backend(parsed.scheme).event_store
    if spec.legacy_converter is None:
        raise ConfigurationError(f"backend {spec.name!r} cannot convert {LEGACY_VERSION} databases")
    started = time.perf_counter()
    converter = spec.legacy_converter(spec.from_url(parsed))
    await converter.connect()
    try:
        state = await converter.state()
        if state is LegacyState.EMPTY:
            raise StoreNotFoundError(
                f"no {LEGACY_VERSION} database at {converter.location} (nothing was changed)",
                location=converter.location,
            )
        if state is LegacyState.CURRENT:
            return UpgradeReport(converter.location, state.value)
        if state is LegacyState.LEGACY:
            await converter.prepare()
        elif restart:
            await converter.restart()
        copied = {
            table: await _copy(converter, table, batch_size, progress) for table in LEGACY_TABLES
        }
        counts, checksum = await _verify(converter, batch_size, str(parsed))
        await converter.finish(keep_legacy=keep_legacy)
        return UpgradeReport(
            converter.location,
            state.value,
            copied,
            counts,
            checksum,
            time.perf_counter() - started,
            keep_legacy,
        )
    finally:
        await converter.close()


async def _copy(
    converter: LegacyConverter,
    table: str,
    batch_size: int,
    progress: Callable[[UpgradeProgress], None] | None,
) -> int:
    total, done = await converter.counts(table)
    copied = batches = 0
    while True:
        n = await converter.copy_batch(table, batch_size)
        if n == 0:
            return copied
        copied += n
        batches += 1
        if progress is not None:
            progress(UpgradeProgress(table, done + copied, total, batches))


async def _verify(
    converter: LegacyConverter, batch_size: int, url: str
) -> tuple[dict[str, int], str]:
    mismatches: list[str] = []
    counts: dict[str, int] = {}
    for table in LEGACY_TABLES:
        legacy, converted = await converter.counts(table)
        counts[table] = converted
        if legacy != converted:
            mismatches.append(
                f"{table}: {legacy} rows in {LEGACY_VERSION}'s table, {converted} converted"
            )
    before, after = EventDigest(restamp=True), EventDigest(restamp=False)
    async for event in converter.legacy_events(batch_size):
        before.add(event)
    async for event in converter.converted_events(batch_size):
        after.add(event)
    if before.hexdigest() != after.hexdigest():
        mismatches.append(
            f"events: checksum {before.hexdigest()} over {before.count} events in "
            f"{LEGACY_VERSION}'s table, {after.hexdigest()} over {after.count} converted"
        )
    if mismatches:
        command = upgrade_command(url)
        raise UpgradeVerificationError(
            f"conversion of {converter.location} does not match the original, so it was not "
            f"finished ({'; '.join(mismatches)}); the original tables are kept: rerun "
            f"'{command} --restart' to copy again",
            location=converter.location,
            command=command,
            mismatches=mismatches,
        )
    return counts, after.hexdigest()
