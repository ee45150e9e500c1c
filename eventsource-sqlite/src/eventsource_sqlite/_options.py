"""The SQLite backend's options: type, range and default of each (URL query or keyword)."""

from __future__ import annotations

import dataclasses

from eventsource.spi import (
    MAX_EVENT_BYTES,
    OptionSpec,
)

__all__ = ["OPTION_SPECS", "SPEC", "SYNCHRONOUS_MODES"]

#: Values accepted for ``synchronous`` (SQLite's ``PRAGMA synchronous``).
SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")

#: Every option of a ``sqlite://`` URL, with its type, range and default.
OPTION_SPECS: tuple[OptionSpec, ...] = (
    OptionSpec("wal_mode", bool, True, help="journal in WAL mode: readers never wait"),
    OptionSpec(
        "busy_timeout",
        int,
        5000,
        minimum=0,
        maximum=2**31 - 1,
        unit="milliseconds",
        help="how long a writer waits for the write lock before DatabaseLockedError",
    ),
    OptionSpec(
        "synchronous",
        str,
        None,
        choices=SYNCHRONOUS_MODES,
        nullable=True,
        help="PRAGMA synchronous; default NORMAL in WAL mode, FULL otherwise",
    ),
    OptionSpec("read_only", bool, False, help="open the file with mode=ro"),
    # SQLite's default SQLITE_MAX_LENGTH: no longer text can be stored
    dataclasses.replace(MAX_EVENT_BYTES, maximum=1_000_000_000),
)

#: The specs by name.
SPEC = {spec.name: spec for spec in OPTION_SPECS}
