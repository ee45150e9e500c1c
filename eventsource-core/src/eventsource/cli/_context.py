"""What every command gets: the common options, output helpers and the backend to open.

Imports of the library (pydantic, pluggy, backends) and of Rich happen inside the methods, so
``eventsource --help`` loads none of them.
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from ._exit_codes import classify
from ._safe_text import safe_text

if TYPE_CHECKING:
    from ..plugins._backend import Backend
    from ..plugins._url import BackendURL

__all__ = ["Context", "to_jsonable"]


def to_jsonable(value: Any) -> Any:
    """``value`` with records, UUIDs and datetimes turned into JSON types."""
    if hasattr(value, "to_dict"):
        return to_jsonable(value.to_dict())
    if hasattr(value, "__dataclass_fields__") and not isinstance(value, type):
        return {name: to_jsonable(getattr(value, name)) for name in value.__dataclass_fields__}
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
    """The common options of one run (``--url``, ``--json``, ``--verbose``) and its output."""

    url_text: str | None = None
    json: bool = False
    verbose: bool = False

    def url(self) -> BackendURL:
        """The backend URL: ``--url``, else ``$EVENTSOURCE_URL``, else the embedded default."""
        from ..plugins._backend import resolve_url

        return resolve_url(self.url_text, os.environ)

    @staticmethod
    def url_from(text: str) -> BackendURL:
        """Parse a URL given on the command line."""
        from ..plugins._url import parse_url

        return parse_url(text)

    def backend(self, url: BackendURL | None = None, *, create: bool = False) -> Backend:
        """The backend for ``url`` (default :meth:`url`), unopened. Commands inspect or operate
        an existing store: without ``create`` a missing one is a :class:`StoreNotFoundError`
        and nothing is created (``init`` and ``demo`` create)."""
        from ..plugins._backend import open_backend

        return open_backend(url or self.url(), create=create)

    @staticmethod
    def lenient(backend: Backend) -> Backend:
        """Let ``backend`` decode events whose classes this process never imported."""
        from ..migration import LenientEventRegistry

        store = backend.events
        store.event_registry = LenientEventRegistry(store.event_registry)
        return backend

    # -- output --------------------------------------------------------------------------------
    # Every line goes out through safe_text (keeping newlines), and one value of stored data
    # put into a line goes through it on its own (table and field cells), so a stored newline
    # cannot forge a line either. Each line is flushed as it is printed. Tables are rendered by
    # Rich into text first (stored text as Text, never markup), then printed the same way.

    def out(self, text: str = "") -> None:
        """Print a line to stdout, control characters escaped, flushed."""
        _write(sys.stdout, safe_text(text, multiline=True))

    def err(self, text: str) -> None:
        """Print a line to stderr, control characters (newlines too) escaped, flushed."""
        _write(sys.stderr, f"eventsource: {safe_text(text)}")

    def fail(self, exc: BaseException, hint: str | None = None) -> int:
        """Report ``exc`` (and ``hint``) as one line on stderr (a JSON object with ``--json``);
        returns its exit code (see :mod:`._exit_codes`)."""
        exit_code, code = classify(exc)
        message = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        return self.error(message or type(exc).__name__, code, exit_code, hint=hint)

    def error(self, message: str, code: str, exit_code: int, *, hint: str | None = None) -> int:
        """Report an error as one line on stderr; returns ``exit_code``."""
        if self.json:
            data: dict[str, Any] = {"error": message, "code": code, "exit_code": exit_code}
            if hint:
                data["hint"] = hint
            _write(sys.stderr, json.dumps(data))
        else:
            kind = "usage error" if code == "usage" else "error"  # as Click's usage errors
            self.err(f"{kind}: {message}" + (f"; {hint}" if hint else ""))
        return exit_code

    def emit_json(self, data: Any) -> None:
        """Print ``data`` as indented JSON."""
        self.out(json.dumps(to_jsonable(data), indent=2))

    def emit_json_line(self, data: Any) -> None:
        """Print ``data`` as one line of JSON (for streams of records)."""
        self.out(json.dumps(to_jsonable(data)))

    def table(
        self,
        rows: Sequence[Sequence[Any]],
        headers: Sequence[str],
        *,
        title: str | None = None,
        header: bool = True,
    ) -> None:
        """Print rows as aligned columns under ``headers`` (numbers right-aligned)."""
        from rich.table import Table
        from rich.text import Text

        table = Table(
            box=None,
            pad_edge=False,
            show_header=header,
            header_style="bold",
            title=title,
            title_justify="left",
            title_style="bold",
        )
        cells = [[_cell(v) for v in row] for row in rows]
        for i, name in enumerate(headers):
            column = [row[i] for row in rows]
            numeric = any(isinstance(v, int) for v in column) and all(
                isinstance(v, int) or v is None for v in column
            )
            table.add_column(name, justify="right" if numeric else "left", overflow="fold")
        for row in cells:
            table.add_row(*(Text(c) for c in row))
        self._render(table)

    def fields(self, pairs: Iterable[tuple[str, Any]]) -> None:
        """Print ``label: value`` lines with aligned values."""
        items = [(label, _cell(value)) for label, value in pairs]
        width = max((len(label) for label, _ in items), default=0)
        for label, value in items:
            self.out(f"{label + ':':<{width + 1}} {value}")

    def _render(self, renderable: Any) -> None:
        from rich.console import Console

        terminal = _is_terminal(sys.stdout)
        buffer = io.StringIO()
        console = Console(
            file=buffer,
            width=None if terminal else 100_000,
            force_terminal=terminal,
            color_system="auto" if terminal else None,
            highlight=False,
            emoji=False,
            markup=False,
            legacy_windows=False,
        )
        if terminal:
            console.size = Console().size  # the real terminal's, not the buffer's
        console.print(renderable)
        for line in buffer.getvalue().rstrip("\n").splitlines():
            _write(sys.stdout, line.rstrip())


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


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
