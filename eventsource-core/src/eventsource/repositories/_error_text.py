"""Text of an error that never fails to be made: what the DLQ (and the runtime's logs and
metrics) record of an exception, whatever the exception does.

An exception's ``__str__`` may raise or return a non-string, its args may hold objects whose
``str()`` raises, its text may hold NUL or lone surrogates or be megabytes long. None of that
may stop a failure from being parked: the message falls back to ``repr()`` and then to the
class name, every text is made storable with :func:`eventsource.values.clean_text`, and each
is capped (:data:`MAX_ERROR_TYPE_LENGTH`, :data:`MAX_ERROR_MESSAGE_LENGTH`,
:data:`MAX_STACKTRACE_LENGTH` characters, a marker saying how long it was).
"""

from __future__ import annotations

import traceback
from collections.abc import Callable

from ..values import clean_text

__all__ = [
    "MAX_ERROR_MESSAGE_LENGTH",
    "MAX_ERROR_TYPE_LENGTH",
    "MAX_STACKTRACE_LENGTH",
    "error_message",
    "error_stacktrace",
    "error_summary",
    "error_type_name",
]

#: The longest error type name recorded, in characters.
MAX_ERROR_TYPE_LENGTH = 255
#: The longest error message recorded, in characters.
MAX_ERROR_MESSAGE_LENGTH = 10_000
#: The longest stack trace recorded, in characters (its head and its tail are kept).
MAX_STACKTRACE_LENGTH = 100_000


def error_type_name(error: object) -> str:
    """The qualified name of ``error``'s class, storable and capped."""
    try:
        name = type(error).__qualname__
    except Exception:
        name = None
    if not isinstance(name, str) or not name:
        name = "Error"
    return _cap(clean_text(_plain(name)), MAX_ERROR_TYPE_LENGTH)


def error_message(error: object) -> str:
    """``str(error)``; its ``repr()`` when that fails (raises, or is no string); else a text
    naming its class. Storable on every backend and at most
    :data:`MAX_ERROR_MESSAGE_LENGTH` characters."""
    text = _safe(str, error)
    if text is None:
        text = _safe(repr, error)
    if text is None:
        text = f"<{error_type_name(error)}: str() and repr() failed>"
    return _cap(clean_text(text), MAX_ERROR_MESSAGE_LENGTH)


def error_stacktrace(error: BaseException) -> str:
    """The traceback ``error`` carries (with its causes), storable and capped; the part that
    can be formatted when formatting it all fails."""
    try:
        text = "".join(traceback.format_exception(error))
    except Exception:
        try:
            frames = "".join(traceback.format_tb(error.__traceback__))
        except Exception:
            frames = ""
        text = f"{frames}{error_type_name(error)}: {error_message(error)}\n"
    return _cap(clean_text(_plain(text)), MAX_STACKTRACE_LENGTH, keep_tail=True)


def error_summary(error: object) -> str:
    """``"Type: message"``, for logs and metrics; never raises."""
    return f"{error_type_name(error)}: {error_message(error)}"


def _safe(convert: Callable[[object], object], value: object) -> str | None:
    try:
        text = convert(value)
    except Exception:
        return None
    return _plain(text) if isinstance(text, str) else None


def _plain(text: str) -> str:
    """``text`` as an exact ``str`` (a subclass may override the methods used on it)."""
    return text if type(text) is str else str.__getitem__(text, slice(None))


def _cap(text: str, limit: int, *, keep_tail: bool = False) -> str:
    """``text`` cut to ``limit`` characters, a marker saying so in place of what was cut
    (at the end, or in the middle with ``keep_tail``)."""
    if len(text) <= limit:
        return text
    marker = f" ... [{len(text)} characters, cut to {limit}]"
    if not keep_tail:
        return text[: limit - len(marker)] + marker
    marker += " ... "
    head = (limit - len(marker)) // 4
    return text[:head] + marker + text[len(text) - (limit - len(marker) - head) :]
