"""eventsource-py 0.5.0's multitenancy helpers (``eventsource.multitenancy``).

The current tenant lives in a :class:`~contextvars.ContextVar`, so each asyncio task sees the
tenant of the context it was started in. :meth:`AggregateRoot.create_event
<eventsource.AggregateRoot.create_event>` stamps it on new events.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from contextvars import ContextVar, Token
from typing import Any, Self
from uuid import UUID

from .._exceptions import TenantContextNotSetError
from ..events import DomainEvent

__all__ = [
    "TenantDomainEvent",
    "clear_tenant_context",
    "get_current_tenant",
    "get_required_tenant",
    "set_current_tenant",
    "tenant_context",
    "tenant_scope",
    "tenant_scope_sync",
]

#: The tenant of the current context (None: no tenant).
tenant_context: ContextVar[UUID | None] = ContextVar("eventsource_tenant", default=None)


def get_current_tenant() -> UUID | None:
    """The current tenant, or None."""
    return tenant_context.get()


def get_required_tenant() -> UUID:
    """The current tenant; :class:`TenantContextNotSetError` when none is set."""
    tenant = tenant_context.get()
    if tenant is None:
        raise TenantContextNotSetError()
    return tenant


def set_current_tenant(tenant_id: UUID | None) -> Token[UUID | None]:
    """Set the current tenant; the token resets it (``tenant_context.reset(token)``)."""
    return tenant_context.set(tenant_id)


def clear_tenant_context() -> None:
    """Set no tenant."""
    tenant_context.set(None)


@contextlib.asynccontextmanager
async def tenant_scope(tenant_id: UUID) -> AsyncIterator[UUID]:
    """``async with tenant_scope(t):`` runs its body with tenant ``t``, then restores."""
    token = tenant_context.set(tenant_id)
    try:
        yield tenant_id
    finally:
        tenant_context.reset(token)


@contextlib.contextmanager
def tenant_scope_sync(tenant_id: UUID) -> Iterator[UUID]:
    """The synchronous :func:`tenant_scope`."""
    token = tenant_context.set(tenant_id)
    try:
        yield tenant_id
    finally:
        tenant_context.reset(token)


class TenantDomainEvent(DomainEvent):
    """A :class:`DomainEvent` whose ``tenant_id`` is required."""

    __register__ = False

    tenant_id: UUID

    @classmethod
    def with_tenant_context(cls, **kwargs: Any) -> Self:
        """Build the event, taking ``tenant_id`` from the context when not given
        (:class:`TenantContextNotSetError` when none is set)."""
        kwargs.setdefault("tenant_id", get_required_tenant())
        return cls(**kwargs)
