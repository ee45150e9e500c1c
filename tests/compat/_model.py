"""Events and aggregates written as an eventsource-py 0.5.0 application would write them."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel

from eventsource import DeclarativeAggregate, DomainEvent, handles  # type: ignore[attr-defined]


class CpOrderPlaced(DomainEvent):
    aggregate_type: str = "CpOrder"
    customer: str


class CpOrderShipped(DomainEvent):
    aggregate_type: str = "CpOrder"


class CpOrderNoted(DomainEvent):
    aggregate_type: str = "CpOrder"
    note: str = ""


class CpOrderState(BaseModel):
    order_id: UUID
    customer: str
    shipped: bool = False


class CpOrder(DeclarativeAggregate[CpOrderState]):  # type: ignore[misc]
    aggregate_type = "CpOrder"

    @handles(CpOrderPlaced)
    def _placed(self, event: CpOrderPlaced) -> None:
        self._state = CpOrderState(order_id=self.aggregate_id, customer=event.customer)

    @handles(CpOrderShipped)
    def _shipped(self, event: CpOrderShipped) -> None:
        self._state = self.state.model_copy(update={"shipped": True})

    def place(self, customer: str) -> None:
        self.create_event(CpOrderPlaced, customer=customer)

    def ship(self) -> None:
        self.create_event(CpOrderShipped)
