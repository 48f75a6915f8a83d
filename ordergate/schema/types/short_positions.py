"""Stock a count left short, as operations see it (`usecases.short_positions`)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from ordergate.models.replanning import Stuck
from ordergate.models.short_spells import ShortOrder
from ordergate.schema.context import Info
from ordergate.schema.types.catalog import Location
from ordergate.schema.types.order import FulfillmentOrder
from ordergate.usecases.short_positions import HOLDERS_SHOWN, Holder, ShortPosition

SHORT_PAGE = 10  # positions a page holds by default: with each holder's order, 620 of the 1,000 points

strawberry.enum(
    Stuck,
    name="ShortfallReason",
    description="Why work still holds units where the ERP's count left too few: STARTED, the node "
    "is picking or has packed it (its pick finds what is there); ORDER_ON_HOLD, an agent holds "
    "the order (once released, the next pass moves it); NOT_STARTED, the shortfall pass moves "
    "the newest such work while another node can take it, so work still here after a pass has "
    "no other node (routeOrder's dry run says why), or is older than what covers the gap.",
)


strawberry.enum(
    ShortOrder,
    name="ShortPositionOrder",
    description="SKU: by SKU and node. LONGEST_SHORT: the earliest shortSince first, positions no "
    "pass has noted yet last; ties by SKU and node.",
)


@strawberry.type(name="ShortPositionHolder", description="Work holding units at a short position.")
class ShortPositionHolderType:
    quantity: int = strawberry.field(description="Units of the SKU this work holds there.")
    reason: Stuck
    opened_at: datetime = strawberry.field(description="When the work was given to the node.")
    fulfillment_order_id: strawberry.Private[str]

    @strawberry.field(description="The work, and through it its order.")
    async def fulfillment_order(self, info: Info) -> FulfillmentOrder:
        found = await info.context.loaders.fulfillment_order_by_id.load_present(self.fulfillment_order_id)
        return FulfillmentOrder.from_model(found)

    @classmethod
    def from_model(cls, holder: Holder) -> ShortPositionHolderType:
        return cls(
            quantity=holder.work.quantity,
            reason=holder.why,
            opened_at=holder.work.opened_at,
            fulfillment_order_id=holder.work.fulfillment_order_id,
        )


@strawberry.type(
    name="ShortPosition",
    description="A SKU at a node where the ERP's last count left fewer units on hand than orders "
    "hold there (stolen, damaged, sold by another channel).",
)
class ShortPositionType:
    sku: str
    location: Location
    on_hand: int = strawberry.field(description="The ERP's last count.")
    allocated: int = strawberry.field(description="Units orders hold here.")
    missing: int = strawberry.field(description="allocated - onHand: the units some pick will not find.")
    as_of: datetime = strawberry.field(description="When the count was read from the ERP.")
    holders: list[ShortPositionHolderType] = strawberry.field(
        description=f"The work holding them, newest first (at most {HOLDERS_SHOWN})."
    )
    holder_count: int = strawberry.field(description="How many pieces of work hold units here.")
    short_since: datetime | None = strawberry.field(
        description="When the gateway first found this position short, after the shortfall pass had "
        "moved what it could (its spell of short stock; the node's queue was told then). Null until "
        "a pass has looked: at once after an ERP notice, within the backorder loop's period otherwise."
    )

    @classmethod
    def from_model(cls, position: ShortPosition) -> ShortPositionType:
        return cls(
            sku=position.figures.sku,
            location=Location.from_model(position.location),
            on_hand=position.figures.on_hand,
            allocated=position.figures.allocated,
            missing=position.missing,
            as_of=position.figures.as_of,
            holders=[ShortPositionHolderType.from_model(h) for h in position.holders],
            holder_count=position.holder_count,
            short_since=position.short_since,
        )
