"""``JsonlEventStore``: every event one line of one file, appended under the file's lock.

The first line is a header naming the format, so that a store exists exactly when its file
holds that header (``open(create=False)`` on anything else is a ``StoreNotFoundError``). Each
operation takes ``flock`` on the file (shared to read, exclusive to append), catches up with
the lines other stores appended since, and never awaits while it holds the lock: the version
check and the write are one atomic step across stores and processes, and positions become
visible in commit order.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from eventsource.spi import (
    DEFAULT_MAX_EVENT_BYTES,
    AppendResult,
    DomainEvent,
    EventRegistry,
    EventStore,
    EventStream,
    ReadDirection,
    ReadOptions,
    StorageUnavailableError,
    StoredEvent,
    StoredPlace,
    StoreNotFoundError,
    check_event_id,
    check_get_events,
    check_get_events_by_type,
    check_read_options,
    check_stream_key,
    check_stream_version,
    decode_stored_event,
    original_result,
    parse_stream_id,
    prepare_append,
    restamp,
    stream_id_for,
)

__all__ = ["HEADER", "JsonlEventStore", "Row"]

#: The first line of every store's file.
HEADER = b'{"format": "eventsource-jsonl", "version": 1}\n'


@dataclass(frozen=True, slots=True)
class Row:
    """One stored event: its columns, and its JSON document verbatim as ``payload``."""

    global_position: int
    event_id: UUID
    aggregate_id: UUID
    aggregate_type: str
    version: int
    event_type: str
    event_version: int
    tenant_id: UUID | None
    occurred_at: datetime
    stored_at: datetime
    payload: str

    @property
    def stream_id(self) -> str:
        """The stream the row belongs to."""
        return stream_id_for(self.aggregate_id, self.aggregate_type)

    def to_line(self) -> bytes:
        """The row as one line (ASCII: every other character escaped, so no line breaks)."""
        record = {
            "event_id": str(self.event_id),
            "aggregate_id": str(self.aggregate_id),
            "aggregate_type": self.aggregate_type,
            "version": self.version,
            "event_type": self.event_type,
            "event_version": self.event_version,
            "tenant_id": None if self.tenant_id is None else str(self.tenant_id),
            "occurred_at": self.occurred_at.astimezone(UTC).isoformat(),
            "stored_at": self.stored_at.isoformat(),
            "payload": self.payload,
        }
        return json.dumps(record, ensure_ascii=True).encode("ascii") + b"\n"

    @classmethod
    def from_line(cls, global_position: int, line: bytes) -> Row:
        """The row a line holds; its global position is its place in the file."""
        record = json.loads(line)
        tenant = record["tenant_id"]
        return cls(
            global_position=global_position,
            event_id=UUID(record["event_id"]),
            aggregate_id=UUID(record["aggregate_id"]),
            aggregate_type=record["aggregate_type"],
            version=record["version"],
            event_type=record["event_type"],
            event_version=record["event_version"],
            tenant_id=None if tenant is None else UUID(tenant),
            occurred_at=datetime.fromisoformat(record["occurred_at"]),
            stored_at=datetime.fromisoformat(record["stored_at"]),
            payload=record["payload"],
        )


def _matches(row: Row, options: ReadOptions) -> bool:
    """Whether ``row`` passes the filters of ``options`` (on its columns, before decoding)."""
    return (
        (options.event_types is None or row.event_type in options.event_types)
        and (options.tenant_id is None or row.tenant_id == options.tenant_id)
        and (options.from_timestamp is None or row.occurred_at >= options.from_timestamp)
        and (options.to_timestamp is None or row.occurred_at <= options.to_timestamp)
    )


class JsonlEventStore(EventStore):
    """An event store in the JSON-lines file at ``path``."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        event_registry: EventRegistry | None = None,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
    ) -> None:
        super().__init__(event_registry=event_registry, max_event_bytes=max_event_bytes)
        self.path = os.fspath(path)
        self._fd: int | None = None
        self._reset()

    def _reset(self) -> None:
        self._offset = 0  # bytes of the file read so far (whole lines only)
        self._header = False
        self._rows: list[Row] = []
        self._versions: dict[tuple[UUID, str], int] = {}
        self._ids: dict[UUID, Row] = {}

    # -- the file ------------------------------------------------------------------------------

    def _open(self, *, create: bool) -> int:
        flags = os.O_RDWR | os.O_APPEND | (os.O_CREAT if create else 0)
        try:
            return os.open(self.path, flags, 0o644)
        except FileNotFoundError:
            directory = os.path.dirname(os.path.abspath(self.path))
            if not create:
                raise StoreNotFoundError(
                    f"no JSON-lines store at {self.path!r} (no such file)", location=self.path
                ) from None
            raise StorageUnavailableError(
                f"cannot create the store {self.path!r}: the directory {directory!r} does not "
                "exist (create it first)"
            ) from None
        except OSError as exc:
            raise StorageUnavailableError(f"cannot open {self.path!r}: {exc.strerror}") from None

    @contextlib.contextmanager
    def _locked(self, mode: int) -> Iterator[int]:
        """The file, under ``flock`` ``mode``, caught up with every line written so far."""
        if self._fd is None:
            raise StorageUnavailableError(f"the store {self.path!r} is not open")
        fcntl.flock(self._fd, mode)
        try:
            self._catch_up(self._fd)
            yield self._fd
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def _catch_up(self, fd: int) -> None:
        size = os.fstat(fd).st_size
        if size <= self._offset:
            return
        data = os.pread(fd, size - self._offset, self._offset)
        complete = data.rfind(b"\n") + 1  # a torn last line (a crash mid-write) is not a row
        for line in data[:complete].splitlines():
            if not self._header:
                if line + b"\n" != HEADER:
                    raise StorageUnavailableError(f"{self.path!r} is not an eventsource-jsonl file")
                self._header = True
                continue
            self._add(Row.from_line(len(self._rows) + 1, line))
        self._offset += complete

    def _add(self, row: Row) -> None:
        self._rows.append(row)
        key = (row.aggregate_id, row.aggregate_type)
        self._versions[key] = max(self._versions.get(key, 0), row.version)
        self._ids[row.event_id] = row

    @staticmethod
    def _write(fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]

    # -- lifecycle -----------------------------------------------------------------------------

    async def connect(self) -> None:
        """Open (creating) the file; idempotent."""
        if self._fd is None:
            self._fd = self._open(create=True)

    async def connect_existing(self) -> None:
        """Open the file only if it holds a store (its header); create nothing."""
        if self._fd is not None:
            return
        self._fd = self._open(create=False)
        with self._locked(fcntl.LOCK_SH):
            found = self._header
        if not found:
            raise StoreNotFoundError(
                f"{self.path!r} holds no JSON-lines store (no header line)", location=self.path
            )

    async def initialize(self) -> None:
        """Write the header into a new (empty) file; idempotent."""
        with self._locked(fcntl.LOCK_EX) as fd:
            if not self._header:
                if self._offset:
                    raise StorageUnavailableError(f"{self.path!r} is not empty and not a store")
                self._write(fd, HEADER)
                self._catch_up(fd)

    async def close(self) -> None:
        """Close the file; idempotent."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._reset()

    # -- writing -------------------------------------------------------------------------------

    async def append_events(
        self,
        aggregate_id: UUID,
        aggregate_type: str,
        events: Sequence[DomainEvent],
        expected_version: int,
        *,
        outbox: bool = False,
    ) -> AppendResult:
        expected, prepared = prepare_append(
            self, aggregate_id, aggregate_type, events, expected_version
        )
        with self._locked(fcntl.LOCK_EX) as fd:
            current = self._versions.get((aggregate_id, aggregate_type), 0)
            event_ids = [item.event.event_id for item in prepared]
            stored = [self._ids[i] for i in event_ids if i in self._ids]
            places = [
                StoredPlace(
                    r.event_id, r.aggregate_id, r.aggregate_type, r.version, r.global_position
                )
                for r in stored
            ]
            # some of the batch stored: a retry of a stored append, or a DuplicateEventError
            original = original_result(aggregate_id, aggregate_type, expected, event_ids, places)
            if original is not None:
                return original
            check_stream_version(aggregate_id, aggregate_type, expected, current)
            now = datetime.now(UTC)
            start = len(self._rows) + 1
            rows = [
                Row(
                    global_position=start + n,
                    event_id=item.event.event_id,
                    aggregate_id=aggregate_id,
                    aggregate_type=aggregate_type,
                    version=current + n + 1,
                    event_type=item.event.event_type,
                    event_version=item.event.event_version,
                    tenant_id=item.event.tenant_id,
                    occurred_at=item.event.occurred_at,
                    stored_at=now,
                    payload=item.payload,
                )
                for n, item in enumerate(restamp(prepared, current))
            ]
            self._write(fd, b"".join(row.to_line() for row in rows))  # one write: all or none
            self._catch_up(fd)
        return AppendResult(
            success=True,
            new_version=current + len(rows),
            global_position=rows[-1].global_position,
            events_written=len(rows),
        )

    # -- reading -------------------------------------------------------------------------------

    def _snapshot(self) -> list[Row]:
        with self._locked(fcntl.LOCK_SH):
            return list(self._rows)

    def _decode(self, row: Row) -> StoredEvent:
        event = decode_stored_event(
            self.event_registry,
            row.payload,
            row.event_type,
            row.event_version,
            row.global_position,
            row.stream_id,
            row.version,
            row.event_id,
        )
        return StoredEvent(event, row.stream_id, row.version, row.global_position, row.stored_at)

    async def get_events(
        self,
        aggregate_id: UUID,
        aggregate_type: str | None = None,
        from_version: int = 0,
        from_timestamp: datetime | None = None,
        to_timestamp: datetime | None = None,
    ) -> EventStream:
        check_get_events(aggregate_id, aggregate_type, from_version, from_timestamp, to_timestamp)
        rows = [
            r
            for r in self._snapshot()
            if r.aggregate_id == aggregate_id
            and (aggregate_type is None or r.aggregate_type == aggregate_type)
        ]
        window = ReadOptions(from_timestamp=from_timestamp, to_timestamp=to_timestamp)
        events = [
            self._decode(r).event for r in rows if r.version > from_version and _matches(r, window)
        ]
        found = (
            aggregate_type if aggregate_type is not None else rows[0].aggregate_type if rows else ""
        )
        return EventStream(aggregate_id, found, events, max((r.version for r in rows), default=0))

    async def read_stream(
        self, stream_id: str, options: ReadOptions | None = None
    ) -> AsyncIterator[StoredEvent]:
        aggregate_id, aggregate_type = parse_stream_id(stream_id)
        options = check_read_options(options)
        rows = [
            r
            for r in self._snapshot()
            if r.aggregate_id == aggregate_id and r.aggregate_type == aggregate_type
        ]
        if options.direction is ReadDirection.BACKWARD:
            rows.reverse()
            if options.from_position is not None:
                rows = [r for r in rows if r.version < options.from_position]
        elif options.from_position is not None:
            rows = [r for r in rows if r.version > options.from_position]
        yielded = 0
        for row in rows:
            if not _matches(row, options):
                continue
            if options.limit is not None and yielded >= options.limit:
                return
            yielded += 1
            yield self._decode(row)  # one row at a time: all before a poison row arrive

    async def read_all(self, options: ReadOptions | None = None) -> AsyncIterator[StoredEvent]:
        options = check_read_options(options)
        forward = options.direction is ReadDirection.FORWARD
        cursor = options.from_position  # exclusive: the last position already seen
        yielded = 0
        while True:
            rows = self._snapshot()
            if forward:
                start = 0 if cursor is None else min(cursor, len(rows))
                page = rows[start : start + self.page_size]
            else:
                end = len(rows) if cursor is None else max(0, min(cursor - 1, len(rows)))
                page = rows[max(0, end - self.page_size) : end][::-1]
            if not page:
                return
            cursor = page[-1].global_position  # the next page starts AFTER this row
            for row in page:
                if not _matches(row, options):
                    continue
                if options.limit is not None and yielded >= options.limit:
                    return
                yielded += 1
                yield self._decode(row)

    async def get_events_by_type(
        self,
        aggregate_type: str,
        tenant_id: UUID | None = None,
        from_timestamp: datetime | None = None,
    ) -> list[DomainEvent]:
        check_get_events_by_type(aggregate_type, tenant_id, from_timestamp)
        wanted = ReadOptions(tenant_id=tenant_id, from_timestamp=from_timestamp)
        return [
            self._decode(r).event
            for r in self._snapshot()
            if r.aggregate_type == aggregate_type and _matches(r, wanted)
        ]

    async def event_exists(self, event_id: UUID) -> bool:
        check_event_id(event_id)
        with self._locked(fcntl.LOCK_SH):
            return event_id in self._ids

    async def get_stream_version(self, aggregate_id: UUID, aggregate_type: str) -> int:
        check_stream_key(aggregate_id, aggregate_type)
        with self._locked(fcntl.LOCK_SH):
            return self._versions.get((aggregate_id, aggregate_type), 0)

    async def get_global_position(self) -> int:
        with self._locked(fcntl.LOCK_SH):
            return len(self._rows)

    # -- for tests -----------------------------------------------------------------------------

    def write_row(self, row: Row) -> int:
        """Append ``row`` as given, unchecked (how the tests put an undecodable row in the
        log); its global position, the next one."""
        with self._locked(fcntl.LOCK_EX) as fd:
            position = len(self._rows) + 1
            self._write(fd, row.to_line())
            self._catch_up(fd)
        return position
