"""Routing as dashboards and checkouts see it: why an order ships from where it does, and the
delivery options before checkout."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from ordergate.models.order import DeliveryMethod
from ordergate.models.routing import RoutingDecisionRecord
from ordergate.schema.context import Info
from ordergate.schema.types.catalog import Location
from ordergate.schema.types.common import Money
from ordergate.usecases.routing import DeliveryOption as DeliveryOptionModel


@strawberry.type
class RoutingCandidate:
    score: float | None = strawberry.field(
        description="Lower is better; null when excluded by a hard filter."
    )
    excluded: bool
    reasons: list[str]
    location_id: strawberry.Private[str]

    @strawberry.field
    async def location(self, info: Info) -> Location:
        return Location.from_model(await info.context.loaders.location_by_id.load_present(self.location_id))


@strawberry.type
class RoutingDecision:
    decided_at: datetime
    chosen: list[str] = strawberry.field(description="Codes of the locations the order was routed to.")
    candidates: list[RoutingCandidate]

    @classmethod
    def from_model(cls, record: RoutingDecisionRecord) -> RoutingDecision:
        return cls(
            decided_at=record.decided_at,
            chosen=list(record.chosen),
            candidates=[
                RoutingCandidate(
                    score=c.get("score"),
                    excluded=bool(c.get("excluded")),
                    reasons=[str(r) for r in c.get("reasons", [])],
                    location_id=str(c["location_id"]),
                )
                for c in record.candidates
            ],
        )


@strawberry.type
class PlannedLine:
    sku: str
    quantity: int


@strawberry.type
class PlannedFulfillment:
    lines: list[PlannedLine]
    location_id: strawberry.Private[str]

    @strawberry.field
    async def location(self, info: Info) -> Location:
        return Location.from_model(await info.context.loaders.location_by_id.load_present(self.location_id))


@strawberry.type
class DeliveryOption:
    delivery_method: DeliveryMethod
    estimated_delivery: date | None
    split_count: int
    cost: Money
    fulfillment_orders: list[PlannedFulfillment]

    @classmethod
    def from_model(cls, option: DeliveryOptionModel, currency: str) -> DeliveryOption:
        return cls(
            delivery_method=option.method,
            estimated_delivery=option.estimated_delivery,
            split_count=option.split_count,
            cost=Money.of(option.cost, currency),
            fulfillment_orders=[
                PlannedFulfillment(
                    lines=[
                        PlannedLine(sku=p.sku, quantity=p.quantity)
                        for p in option.plan.lines
                        if p.location_id == loc
                    ],
                    location_id=loc,
                )
                for loc in option.plan.locations
            ],
        )
