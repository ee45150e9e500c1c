"""The demo's domain: a small Order aggregate and its three events."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, Field

from ..aggregates import AggregateRoot
from ..events import DomainEvent

__all__ = ["ItemAdded", "OrderAggregate", "OrderCreated", "OrderShipped", "OrderState"]


class OrderCreated(DomainEvent):
    """A customer opened an order."""

    event_type: str = "demo.OrderCreated"
    customer_id: UUID
    email: str


class ItemAdded(DomainEvent):
    """An item went into the order."""

    event_type: str = "demo.ItemAdded"
    sku: str
    quantity: int = Field(default=1, ge=1)


class OrderShipped(DomainEvent):
    """The order left the warehouse."""

    event_type: str = "demo.OrderShipped"
    tracking_number: str


class OrderState(BaseModel):
    """What an order looks like after its events."""

    order_id: UUID
    status: str = "new"
    email: str = ""
    items: dict[str, int] = Field(default_factory=dict)
    tracking_number: str | None = None


class OrderAggregate(AggregateRoot[OrderState]):
    """An order: created, filled with items, shipped."""

    aggregate_type = "Order"

    def _get_initial_state(self) -> OrderState:
        return OrderState(order_id=self.aggregate_id)

    def _apply(self, event: DomainEvent) -> None:
        state = self.state
        if isinstance(event, OrderCreated):
            self._state = state.model_copy(update={"status": "created", "email": event.email})
        elif isinstance(event, ItemAdded):
            items = {**state.items, event.sku: state.items.get(event.sku, 0) + event.quantity}
            self._state = state.model_copy(update={"items": items})
        elif isinstance(event, OrderShipped):
            self._state = state.model_copy(
                update={"status": "shipped", "tracking_number": event.tracking_number}
            )

    def create(self, customer_id: UUID, email: str) -> None:
        """Open the order."""
        if self.version:
            raise ValueError("order already exists")
        self.raise_event(OrderCreated, customer_id=customer_id, email=email)

    def add_item(self, sku: str, quantity: int = 1) -> None:
        """Add ``quantity`` of ``sku``."""
        if self.state.status != "created":
            raise ValueError(f"cannot add items to a {self.state.status} order")
        self.raise_event(ItemAdded, sku=sku, quantity=quantity)

    def ship(self, tracking_number: str) -> None:
        """Ship the order."""
        if not self.state.items:
            raise ValueError("cannot ship an empty order")
        self.raise_event(OrderShipped, tracking_number=tracking_number)
