"""What every command gets: its arguments, output helpers and the backend to open."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO, TypeAlias

from ..migration import LenientEventRegistry
from ..plugins._backend import Backend, open_backend, resolve_url
from ..plugins._url import BackendURL, parse_url
from ._safe_text import safe_text

__all__ = ["Commands", "Context", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """``value`` with records, UUIDs and datetimes turned into JSON types."""
    if hasattr(value, "to_dict"):
        return to_jsonable(value.to_dict())
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


@dataclass
class Context:
    """The parsed arguments of one run, and where its output goes."""

    args: argparse.Namespace

    @property
    def json(self) -> bool:
        """True when ``--json`` asked for machine-readable output."""
        return bool(getattr(self.args, "json", False))

    def url(self) -> BackendURL:
        """The backend URL: ``--url``, else ``$EVENTSOURCE_URL``, else the embedded default."""
        return resolve_url(getattr(self.args, "url", None), os.environ)

    def url_from(self, text: str) -> BackendURL:
        """Parse a URL given on the command line."""
        return parse_url(text)

    def backend(self, url: BackendURL | None = None, *, create: bool = False) -> Backend:
        """The backend for ``url`` (default :meth:`url`), unopened. Commands inspect or operate
        an existing store: without ``create`` a missing one is a :class:`StoreNotFoundError`
        and nothing is created (``init`` and ``demo`` create)."""
        return open_backend(url or self.url(), create=create)

    @staticmethod
    def lenient(backend: Backend) -> Backend:
        """Let ``backend`` decode events whose classes this process never imported."""
        store = backend.events
        store.event_registry = LenientEventRegistry(store.event_registry)
        return backend

    # -- output --------------------------------------------------------------------------------
    # Every line goes out through safe_text (keeping newlines), and one value of stored data
    # put into a line goes through it on its own (table and field cells, tail's columns), so a
    # stored newline cannot forge a line either. Each line is flushed as it is printed.

    def out(self, text: str = "") -> None:
        """Print a line to stdout, control characters escaped, flushed."""
        _write(sys.stdout, safe_text(text, multiline=True))

    def err(self, text: str) -> None:
        """Print a line to stderr, control characters (newlines too) escaped, flushed."""
        _write(sys.stderr, f"eventsource: {safe_text(text)}")

    def fail(self, exc: BaseException, hint: str | None = None) -> int:
        """Report ``exc`` (and ``hint``) as one clean line on stderr; returns exit code 1."""
        message = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        self.err(f"error: {message or type(exc).__name__}" + (f"; {hint}" if hint else ""))
        return 1

    def emit_json(self, data: Any) -> None:
        """Print ``data`` as indented JSON."""
        self.out(json.dumps(to_jsonable(data), indent=2))

    def emit_json_line(self, data: Any) -> None:
        """Print ``data`` as one line of JSON (for streams of records)."""
        self.out(json.dumps(to_jsonable(data)))

    def table(self, rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
        """Print rows as aligned columns under ``headers``."""
        cells = [[_cell(v) for v in row] for row in rows]
        widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]
        for row in [list(headers), *cells]:
            self.out("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())

    def fields(self, pairs: Iterable[tuple[str, Any]]) -> None:
        """Print ``label: value`` lines with aligned values."""
        items = [(label, _cell(value)) for label, value in pairs]
        width = max((len(label) for label, _ in items), default=0)
        for label, value in items:
            self.out(f"{label + ':':<{width + 1}} {value}")


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if hasattr(value, "isoformat"):
        return str(value.isoformat(timespec="seconds"))
    return safe_text(value)


def _write(stream: TextIO, line: str) -> None:
    """Print ``line``; what the stream's encoding cannot encode is backslash-escaped."""
    try:
        print(line, file=stream, flush=True)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "utf-8"
        line = line.encode(encoding, "backslashreplace").decode(encoding)
        print(line, file=stream, flush=True)


#: The object ``add_subparsers`` returns, which each command module adds its parsers to.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
