"""eventsource-py 0.5.0's ``eventsource.multitenancy``: the current tenant and its events."""

from ._exceptions import TenantContextNotSetError, TenantMismatchError
from .compat._tenancy import (
    TenantDomainEvent,
    clear_tenant_context,
    get_current_tenant,
    get_required_tenant,
    set_current_tenant,
    tenant_context,
    tenant_scope,
    tenant_scope_sync,
)

__all__ = [
    "TenantContextNotSetError",
    "TenantDomainEvent",
    "TenantMismatchError",
    "clear_tenant_context",
    "get_current_tenant",
    "get_required_tenant",
    "set_current_tenant",
    "tenant_context",
    "tenant_scope",
    "tenant_scope_sync",
]
