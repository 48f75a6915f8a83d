"""Fulfilment orders: one per node per order (Shopify's model); routing fills them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from ordergate.models.errors import InvalidTransition
from ordergate.models.ids import new_id
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


@dataclass(kw_only=True, eq=False)
class FulfillmentOrder:
    id: str = field(default_factory=new_id)
    order_id: str
    location_id: str
    status: FulfillmentOrderStatus
    delivery_method: DeliveryMethod
    rejection_reason: str | None = None
    created_at: datetime
    updated_at: datetime


@dataclass(kw_only=True, eq=False)
class FulfillmentOrderLine:
    id: str = field(default_factory=new_id)
    fulfillment_order_id: str
    order_line_id: str
    sku: str
    quantity: int
