"""The exit codes of the ``eventsource`` command, and which error gets which.

======  ===================  ===========================================================
exit    ``code`` (--json)    when
======  ===================  ===========================================================
0                            done
1       ``error``            an operational error: an unknown entry, a refused operation,
                             a failed verification, an undecodable event, ...
2       ``usage``            a usage error: an unknown command or option, a bad value
3       ``bad_url``          a URL that cannot be parsed (or options it does not take)
4       ``unknown_backend``  no installed backend serves the URL's scheme
5       ``store_not_found``  no store at the URL (no file, no schema): create it with init
6       ``unavailable``      the database cannot be reached or used (connection refused,
                             missing directory, read-only, locked, connection lost)
130     ``interrupted``      interrupted (Ctrl-C)
======  ===================  ===========================================================
"""

from __future__ import annotations

from .._exceptions import (
    ConnectionLostError,
    DatabaseLockedError,
    InvalidBackendURLError,
    StorageUnavailableError,
    StoreNotFoundError,
    UnknownBackendError,
)

__all__ = [
    "EXIT_BAD_URL",
    "EXIT_BROKEN_PIPE",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_NO_BACKEND",
    "EXIT_NO_STORE",
    "EXIT_OK",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "classify",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_BAD_URL = 3
EXIT_NO_BACKEND = 4
EXIT_NO_STORE = 5
EXIT_UNAVAILABLE = 6
EXIT_INTERRUPTED = 130
#: stdout's reader went away (``| head``): 128 + SIGPIPE, as a shell reports a piped tool.
EXIT_BROKEN_PIPE = 141


def classify(exc: BaseException) -> tuple[int, str]:
    """``(exit code, code name)`` for an error a command ended with."""
    if isinstance(exc, InvalidBackendURLError):
        return EXIT_BAD_URL, "bad_url"
    if isinstance(exc, UnknownBackendError):
        return EXIT_NO_BACKEND, "unknown_backend"
    if isinstance(exc, StoreNotFoundError):
        return EXIT_NO_STORE, "store_not_found"
    if isinstance(
        exc, StorageUnavailableError | ConnectionLostError | DatabaseLockedError | OSError
    ):
        return EXIT_UNAVAILABLE, "unavailable"
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted"
    return EXIT_ERROR, "error"
