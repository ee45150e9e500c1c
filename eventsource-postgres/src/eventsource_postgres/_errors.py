"""Translate asyncpg and socket failures into eventsource's typed errors."""

from __future__ import annotations

import asyncpg

from eventsource.spi import (
    ConnectionLostError,
    DatabaseLockedError,
    EventSourceError,
    StorageError,
    StorageUnavailableError,
)

__all__ = ["is_connection_lost", "is_unstorable_text", "translate_error", "unavailable"]

#: SQLSTATE the append function raises for a version conflict; DETAIL holds the actual version.
VERSION_CONFLICT = "ES409"
#: SQLSTATE the append functions raise for a deleted stream; DETAIL is "true" when hard.
STREAM_DELETED = "ES410"

_LOST = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.InternalClientError,
    ConnectionError,
    EOFError,
)
_UNAVAILABLE = (
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InvalidCatalogNameError,
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
    asyncpg.exceptions.InvalidPasswordError,
    asyncpg.exceptions.ClientCannotConnectError,
    asyncpg.exceptions.ConnectionRejectionError,
)


def is_unstorable_text(exc: BaseException) -> bool:
    """True when ``exc`` is PostgreSQL refusing a value of the input (SQLSTATE class 22, data
    exception: text it cannot store, JSON it cannot parse, a number out of range). Core's
    portable-domain checks keep such values out; this is the backstop, so that the caller
    still gets a SerializationError and nothing is written."""
    return isinstance(exc, asyncpg.exceptions.DataError)


def is_connection_lost(exc: BaseException) -> bool:
    """True when ``exc`` means the connection dropped during the operation."""
    if isinstance(exc, asyncpg.exceptions.PostgresConnectionError):
        return not isinstance(exc, _UNAVAILABLE)
    return isinstance(exc, _LOST)


def unavailable(
    exc: BaseException, where: str, connect_timeout: float | None = None
) -> StorageUnavailableError:
    """The error for a server that cannot be reached, refuses the connection, or (with
    ``connect_timeout``) did not answer within it."""
    if isinstance(exc, TimeoutError) and connect_timeout is not None:
        err = StorageUnavailableError(
            f"PostgreSQL at {where} did not answer within connect_timeout={connect_timeout:g}s"
            " (the server accepted the connection but never completed the handshake, or the"
            " network dropped it)"
        )
        err.__cause__ = exc
        return err
    err = StorageUnavailableError(f"PostgreSQL at {where} is unavailable: {exc}")
    err.__cause__ = exc
    return err


def translate_error(exc: BaseException, where: str) -> EventSourceError | None:
    """The typed error for a storage failure, or None when ``exc`` is not one."""
    if isinstance(exc, EventSourceError):
        return exc
    if isinstance(exc, _UNAVAILABLE) or (
        isinstance(exc, OSError | TimeoutError) and not isinstance(exc, ConnectionError)
    ):
        return unavailable(exc, where)
    if is_connection_lost(exc):
        return ConnectionLostError(
            f"connection to PostgreSQL at {where} was lost during the operation; "
            f"its transaction was not committed ({exc})"
        )
    if isinstance(exc, asyncpg.exceptions.LockNotAvailableError):
        return DatabaseLockedError(
            f"timed out waiting for the append lock at {where}: another append holds it "
            "(see PostgreSQLEventStore.in_flight_appends())"
        )
    if isinstance(exc, asyncpg.PostgresError):
        return StorageError(f"PostgreSQL error at {where}: {exc}")
    return None
