"""The bulk path of a migration: rows copied as stored through :class:`EventTransfer`.

The target holds a prefix of the source (each import is one transaction), so a run resumes
after the target's highest position, having checked that the row there is the source's row
at that position. Reading the next page from the source overlaps writing the current one.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from ._exceptions import EventStoreError, ImportConflictError, InvalidEventError
from ._migration_progress import Tracker
from .stores._transfer import EventTransfer, RawEvent

__all__ = ["BulkResult", "bulk_copy", "bulk_plan"]


@dataclass
class BulkResult:
    """What the bulk copy did: rows copied, refused (with why), marks copied, last
    position."""

    copied: int = 0
    present: int = 0
    #: ``import_rows`` calls made (a refused batch is split, see :func:`_import`).
    imports: int = 0
    refused: list[tuple[RawEvent, str]] = field(default_factory=list)
    marks: int = 0
    last_position: int = 0
    streams: set[tuple[int, str]] = field(default_factory=set)


async def bulk_plan(source: EventTransfer, target: EventTransfer) -> tuple[int, int, int]:
    """Where a copy starts: the target's highest position, rows the source has in all, and
    rows already copied (those the target holds). Raises :class:`EventStoreError` when the
    target holds other rows."""
    start = await target.transfer_position()
    total = await source.count_rows(0)
    if start == 0:
        return 0, total, 0
    theirs = await target.export_rows(start - 1, 1)
    ours = await source.export_rows(start - 1, 1)
    if not (
        theirs
        and ours
        and ours[0].global_position == start
        and (ours[0].event_id, ours[0].deleted) == (theirs[0].event_id, theirs[0].deleted)
    ):
        raise EventStoreError(
            f"the target holds events up to position {start} that are not the source's: it is "
            "not a copy of the source (or something else wrote to it); migrate into an empty "
            "store"
        )
    # what the target holds, not every source row up to ``start``: rows an earlier run
    # refused (``on_refused="skip"``) are below ``start`` but not in the target
    return start, total, await target.count_rows(0)


async def bulk_copy(
    source: EventTransfer,
    target: EventTransfer,
    *,
    batch_size: int,
    tracker: Tracker,
    skip_refused: bool,
) -> BulkResult:
    """Copy every row after the target's highest position, then the deleted-stream marks."""
    start, tracker.total, tracker.present = await bulk_plan(source, target)
    result = BulkResult(present=tracker.present, last_position=start)
    blocked: dict[str, int] = {}
    tracker.report()
    pending = asyncio.ensure_future(source.export_rows(start, batch_size))
    try:
        while rows := await pending:
            pending = asyncio.ensure_future(
                source.export_rows(rows[-1].global_position, batch_size)
            )
            await _import(target, rows, result, blocked, skip_refused)
            result.last_position = rows[-1].global_position
            tracker.copied = result.copied
            tracker.skipped = len(result.refused)
            tracker.report()
    finally:
        if not pending.done():
            pending.cancel()
    result.marks = await target.import_marks(await source.export_marks())
    return result


async def _import(
    target: EventTransfer,
    rows: list[RawEvent],
    result: BulkResult,
    blocked: dict[str, int],
    skip_refused: bool,
) -> None:
    """Import ``rows`` as one batch; a refused batch (``skip_refused``) is split in halves,
    each imported the same way, so a refused row is isolated in a few calls and the rows
    around it still go in batches. A refused row, and the later rows of its stream, are
    listed and not copied."""
    todo = rows
    if blocked:
        todo = []
        for row in rows:
            at = blocked.get(row.stream_id)
            if at is None:
                todo.append(row)
            else:
                reason = f"follows refused event at position {at} of its stream"
                result.refused.append((row, reason))
    if not todo:
        return
    result.imports += 1
    try:
        await target.import_rows(todo)
    except ImportConflictError as exc:
        raise ImportConflictError(
            f"target changed during import (something else wrote to it): nothing from "
            f"position {todo[0].global_position} on was written; {exc}"
        ) from exc
    except InvalidEventError as exc:
        if not skip_refused:
            raise
        if len(todo) == 1:
            blocked[todo[0].stream_id] = todo[0].global_position
            result.refused.append((todo[0], f"{type(exc).__name__}: {exc}"))
            return
        half = len(todo) // 2
        await _import(target, todo[:half], result, blocked, skip_refused)
        await _import(target, todo[half:], result, blocked, skip_refused)
        return
    result.copied += len(todo)
    result.streams.update((r.aggregate_id.int, r.aggregate_type) for r in todo)
