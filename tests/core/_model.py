"""A small Order aggregate and its events, with event types private to these tests."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel

from eventsource import AggregateRoot, DomainEvent


class CtOrderPlaced(DomainEvent):
    """An order was placed."""

    event_type: str = "coretest.OrderPlaced"
    customer: str


class CtItemAdded(DomainEvent):
    """An item was added."""

    event_type: str = "coretest.ItemAdded"
    sku: str
    quantity: int = 1


class CtOrderState(BaseModel):
    """The folded state."""

    order_id: UUID
    status: str = "new"
    customer: str = ""
    items: dict[str, int] = {}


class CtOrder(AggregateRoot[CtOrderState]):
    """A tiny order aggregate."""

    aggregate_type = "CtOrder"

    def _get_initial_state(self) -> CtOrderState:
        return CtOrderState(order_id=self.aggregate_id)

    def _apply(self, event: DomainEvent) -> None:
        if isinstance(event, CtOrderPlaced):
            self._state = self.state.model_copy(
                update={"status": "placed", "customer": event.customer}
            )
        elif isinstance(event, CtItemAdded):
            items = dict(self.state.items)
            items[event.sku] = items.get(event.sku, 0) + event.quantity
            self._state = self.state.model_copy(update={"items": items})

    def place(self, customer: str) -> None:
        """Place the order."""
        self.raise_event(CtOrderPlaced, customer=customer)

    def add(self, sku: str, quantity: int = 1) -> None:
        """Add an item."""
        self.raise_event(CtItemAdded, sku=sku, quantity=quantity)
