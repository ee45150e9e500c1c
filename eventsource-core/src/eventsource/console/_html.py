"""HTML building blocks: every value from a store goes through :func:`esc`.

Stored text is hostile input (event payloads, stream ids, error messages): :func:`esc`
escapes it for HTML text and attribute values, after :func:`safe_text` has made control and
bidi characters visible. The pages load no script or style but the console's own (and the
app sends a Content-Security-Policy saying so), so even a missed escape runs no script.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from ..cli._safe_text import safe_text

__all__ = ["Cell", "esc", "layout", "link", "query", "table"]

#: A table cell: a value to escape, or markup built here (``Markup``).
Cell = Any

_NAV = [
    ("/", "Overview"),
    ("/streams", "Streams"),
    ("/projections", "Projections"),
    ("/dlq", "DLQ"),
    ("/outbox", "Outbox"),
]


class Markup(str):
    """Markup built by this module (already escaped)."""

    __slots__ = ()


def esc(value: object, *, multiline: bool = False) -> str:
    """``value`` as text safe inside HTML (``-`` for None, datetimes to the second)."""
    if isinstance(value, Markup):
        return value
    if value is None:
        return "-"
    if isinstance(value, datetime):
        value = value.isoformat(timespec="seconds")
    return html.escape(safe_text(value, multiline=multiline), quote=True)


def link(href: str, text: object, **attrs: str) -> Markup:
    """An ``<a>`` to ``href`` (escaped) showing ``text``."""
    extra = "".join(f' {k.replace("_", "-")}="{esc(v)}"' for k, v in attrs.items())
    return Markup(f'<a href="{esc(href)}"{extra}>{esc(text)}</a>')


def query(path: str, **params: object) -> str:
    """``path`` with the non-empty ``params`` as its query string."""
    kept = {k: str(v) for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(kept)}" if kept else path


def table(headers: Sequence[str], rows: Iterable[Sequence[Cell]], *, id: str = "") -> Markup:
    """A table; each cell escaped unless it is :class:`Markup`."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    if not body:
        body = f'<tr><td colspan="{len(headers)}" class="empty">nothing here</td></tr>'
    ident = f' id="{esc(id)}"' if id else ""
    return Markup(f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def layout(
    title: str, body: str, *, active: str, live: bool, banner: str, flash: str | None = None
) -> str:
    """The whole page: navigation, ``banner`` (store and mode), an optional ``flash`` message
    and ``body``; ``live`` pages are refreshed by the script when the store changes."""
    nav = "".join(
        f'<a href="{href}"{" class=on" if href == active else ""}>{name}</a>' for href, name in _NAV
    )
    note = f'<p class="flash" id="flash">{esc(flash)}</p>' if flash else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} - eventsource console</title>"
        '<link rel="stylesheet" href="/static/console.css">'
        '<script src="/static/console.js" defer></script></head>'
        f'<body data-live="{"1" if live else "0"}"><header><strong>eventsource</strong>'
        f'<nav>{nav}</nav><span class="banner">{banner}</span></header>'
        f'<main id="main"><h1>{esc(title)}</h1>{note}{body}</main></body></html>'
    )
