"""Stored text made safe for an operator's terminal.

Everything the command prints from a store (event and aggregate types, stream ids, projection
names, DLQ errors and payloads, ...) may hold characters that steer a terminal or cannot be
encoded: ``"\\x1b[2J"`` clears the screen, ``"\\r"`` overwrites a line, U+202E reverses what
follows, a lone surrogate makes the output encoder raise. :func:`safe_text` escapes them the
way Python's ``repr`` does (``\\x1b``, ``\\r``, ``\\u202e``, ``\\udc80``); printable text,
spaces included, is kept. Backslashes are kept as they are, so stored text that already holds
a backslash sequence is shown as stored.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["safe_text"]

#: ASCII control characters (C0 and DEL), with and without the layout ones a block may keep.
_ASCII_CONTROLS = re.compile("[\x00-\x1f\x7f]")
_ASCII_CONTROLS_BUT_LAYOUT = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def safe_text(value: object, *, multiline: bool = False) -> str:
    """``value`` as text with every character that is not printable escaped.

    Escaped: control characters (C0, DEL, C1), format characters (bidi overrides and
    isolates, zero-width characters), line and paragraph separators, surrogates, private-use
    and unassigned code points. One line by default, so a stored newline cannot forge an output
    line; ``multiline`` keeps newlines and tabs (for tracebacks and stored documents).
    """
    text = value if isinstance(value, str) else str(value)
    if text.isascii():  # the common case, and every JSON document the command prints
        pattern = _ASCII_CONTROLS_BUT_LAYOUT if multiline else _ASCII_CONTROLS
        return pattern.sub(lambda m: _escape(m.group()), text)
    keep = "\n\t" if multiline else ""
    return "".join(c if c in keep or _printable(c) else _escape(c) for c in text)


def _printable(char: str) -> bool:
    # str.isprintable() also refuses spaces other than " " (U+00A0, U+3000...): harmless, kept
    return char.isprintable() or unicodedata.category(char) == "Zs"


def _escape(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
