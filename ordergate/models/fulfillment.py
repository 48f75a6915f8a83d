"""Fulfilment orders: one per node per order (Shopify's model); routing fills them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ordergate.models.columns import EnumText, UTCDateTime, new_id
from ordergate.models.errors import InvalidTransition
from ordergate.models.order import DeliveryMethod


class FulfillmentOrderStatus(StrEnum):
    OPEN = "OPEN"
    ON_HOLD = "ON_HOLD"
    ACCEPTED = "ACCEPTED"
    PICKING = "PICKING"
    PACKED = "PACKED"
    SHIPPED = "SHIPPED"
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    PICKED_UP = "PICKED_UP"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


OPEN_FULFILLMENT_STATUSES = frozenset(
    {
        FulfillmentOrderStatus.OPEN,
        FulfillmentOrderStatus.ON_HOLD,
        FulfillmentOrderStatus.ACCEPTED,
        FulfillmentOrderStatus.PICKING,
        FulfillmentOrderStatus.PACKED,
        FulfillmentOrderStatus.READY_FOR_PICKUP,
    }
)


class FulfillmentAction(StrEnum):
    ACCEPT = "ACCEPT"
    START_PICKING = "START_PICKING"
    PACK = "PACK"
    SHIP = "SHIP"
    MARK_READY_FOR_PICKUP = "MARK_READY_FOR_PICKUP"
    CONFIRM_PICKUP = "CONFIRM_PICKUP"
    REJECT = "REJECT"
    CANCEL = "CANCEL"
    HOLD = "HOLD"
    RELEASE = "RELEASE"


F, A = FulfillmentOrderStatus, FulfillmentAction

FULFILLMENT_TRANSITIONS: dict[tuple[FulfillmentOrderStatus, FulfillmentAction], FulfillmentOrderStatus] = {
    (F.OPEN, A.ACCEPT): F.ACCEPTED,
    (F.ACCEPTED, A.START_PICKING): F.PICKING,
    (F.PICKING, A.PACK): F.PACKED,
    (F.PACKED, A.SHIP): F.SHIPPED,
    (F.PACKED, A.MARK_READY_FOR_PICKUP): F.READY_FOR_PICKUP,
    (F.READY_FOR_PICKUP, A.CONFIRM_PICKUP): F.PICKED_UP,
    (F.OPEN, A.REJECT): F.REJECTED,
    (F.ACCEPTED, A.REJECT): F.REJECTED,
    (F.OPEN, A.HOLD): F.ON_HOLD,
    (F.ON_HOLD, A.RELEASE): F.OPEN,
    **{
        (status, A.CANCEL): F.CANCELLED
        for status in (F.OPEN, F.ON_HOLD, F.ACCEPTED, F.PICKING, F.PACKED, F.READY_FOR_PICKUP)
    },
}

# Moves that only make sense for one delivery method.
METHOD_OF_ACTION: dict[FulfillmentAction, DeliveryMethod] = {
    A.SHIP: DeliveryMethod.SHIP,
    A.MARK_READY_FOR_PICKUP: DeliveryMethod.PICKUP,
    A.CONFIRM_PICKUP: DeliveryMethod.PICKUP,
}


def next_fulfillment_status(
    status: FulfillmentOrderStatus, action: FulfillmentAction, method: DeliveryMethod
) -> FulfillmentOrderStatus:
    wanted = METHOD_OF_ACTION.get(action)
    if wanted is not None and wanted is not method:
        raise InvalidTransition(
            f"a {method.value} fulfilment order cannot {action.value.lower().replace('_', ' ')}"
        )
    try:
        return FULFILLMENT_TRANSITIONS[(status, action)]
    except KeyError:
        raise InvalidTransition(
            f"a fulfilment order that is {status.value} cannot {action.value.lower().replace('_', ' ')}"
        ) from None


class FulfillmentOrder(SQLModel, table=True):
    __tablename__ = "fulfillment_orders"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    order_id: str = Field(foreign_key="orders.id", index=True, max_length=36)
    location_id: str = Field(foreign_key="locations.id", index=True, max_length=36)
    status: FulfillmentOrderStatus = Field(sa_type=EnumText(FulfillmentOrderStatus, 32), index=True)
    delivery_method: DeliveryMethod = Field(sa_type=EnumText(DeliveryMethod, 16))
    rejection_reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class FulfillmentOrderLine(SQLModel, table=True):
    __tablename__ = "fulfillment_order_lines"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="ck_fo_lines_quantity_positive"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    fulfillment_order_id: str = Field(foreign_key="fulfillment_orders.id", index=True, max_length=36)
    order_line_id: str = Field(foreign_key="order_lines.id", max_length=36)
    sku: str = Field(max_length=64)
    quantity: int
