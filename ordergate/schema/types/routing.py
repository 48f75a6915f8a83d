"""Routing as dashboards and checkouts see it: why an order ships from where it does, and the
delivery options before checkout."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from ordergate.models.order import DeliveryMethod, ServiceLevel
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


@strawberry.type(
    description="A way to get the cart: what it costs and when it arrives, as placeOrder will charge "
    "and route it when given this option's id as deliveryOptionId."
)
class DeliveryOption:
    id: str = strawberry.field(
        description="Pass as placeOrder's deliveryOptionId: the order then goes from these locations "
        "by this date at this price, or is refused with DELIVERY_OPTION_UNAVAILABLE."
    )
    delivery_method: DeliveryMethod
    service_level: ServiceLevel = strawberry.field(
        description="STANDARD (routing's preferred plan), EXPRESS (the fastest, when faster); "
        "STANDARD for a pickup."
    )
    estimated_delivery: date | None = strawberry.field(
        description="The day it arrives (or is ready at the store), on the destination's calendar."
    )
    business_days: int | None = strawberry.field(
        description="Business days (Monday to Friday) from today at the destination until then."
    )
    split_count: int
    cost: Money = strawberry.field(description="What delivery costs the customer, before tax.")
    shipping_tax: Money = strawberry.field(description="Tax on that delivery charge, where it is taxed.")
    total: Money = strawberry.field(
        description="The order's total with this option: lines, delivery and tax."
    )
    fulfillment_orders: list[PlannedFulfillment]

    @classmethod
    def from_model(cls, option: DeliveryOptionModel, currency: str) -> DeliveryOption:
        return cls(
            id=option.choice.id,
            delivery_method=option.method,
            service_level=option.level,
            estimated_delivery=option.estimated_delivery,
            business_days=option.business_days,
            split_count=option.split_count,
            cost=Money.of(option.price.shipping.amount, currency),
            shipping_tax=Money.of(option.price.shipping_tax, currency),
            total=Money.of(option.price.total.amount, currency),
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
