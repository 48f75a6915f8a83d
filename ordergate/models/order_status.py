"""What a customer reads about their order: one stage in words, and how long a pickup waits.

The stage is derived from the order, its fulfilment orders and its parcels, as a customer would
put it ("Out for delivery", not IN_PROGRESS); the order status page and the emails say the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from ordergate.models.fulfillment import FulfillmentOrder, FulfillmentOrderStatus
from ordergate.models.order import Order, OrderStatus
from ordergate.models.shipment import Shipment, TrackingStatus

F = FulfillmentOrderStatus
PICKUP_HOLD = timedelta(days=7)  # how long a store keeps a ready order at its counter
GONE = frozenset({F.CANCELLED, F.REJECTED})  # work that no longer stands for any unit


class Stage(StrEnum):
    RECEIVED = "RECEIVED"
    ON_HOLD = "ON_HOLD"
    PREPARING = "PREPARING"
    PARTLY_SHIPPED = "PARTLY_SHIPPED"
    SHIPPED = "SHIPPED"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    DELIVERY_PROBLEM = "DELIVERY_PROBLEM"
    DELIVERED = "DELIVERED"
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    PICKED_UP = "PICKED_UP"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class StageText:
    title: str
    detail: str


STAGE_TEXT: dict[Stage, StageText] = {
    Stage.RECEIVED: StageText("Order received", "We have your order and will start on it shortly."),
    Stage.ON_HOLD: StageText(
        "On hold", "We are checking a detail of your order; we will be in touch if we need you."
    ),
    Stage.PREPARING: StageText("Being prepared", "Your items are being picked and packed."),
    Stage.PARTLY_SHIPPED: StageText(
        "Partly shipped", "Some of your items are on their way; the rest follow."
    ),
    Stage.SHIPPED: StageText("Shipped", "Your items are on their way."),
    Stage.OUT_FOR_DELIVERY: StageText(
        "Out for delivery", "Your parcel is with the driver and arrives today."
    ),
    Stage.DELIVERY_PROBLEM: StageText(
        "Delivery problem", "The carrier reported a problem with a parcel; see its latest scan below."
    ),
    Stage.DELIVERED: StageText("Delivered", "Everything has arrived. Enjoy!"),
    Stage.READY_FOR_PICKUP: StageText("Ready for pickup", "Your order is waiting for you at the store."),
    Stage.PICKED_UP: StageText("Picked up", "You collected your order. Enjoy!"),
    Stage.CANCELLED: StageText("Cancelled", "This order was cancelled."),
}

PROBLEMS = frozenset(
    {TrackingStatus.EXCEPTION, TrackingStatus.DELIVERY_ATTEMPT, TrackingStatus.RETURNED_TO_SENDER}
)


def stage_of(order: Order, work: Sequence[FulfillmentOrder], parcels: Sequence[Shipment]) -> Stage:
    """The order's stage as its customer would name it, from what stands of its work."""
    if order.status is OrderStatus.CANCELLED:
        return Stage.CANCELLED
    if order.status is OrderStatus.ON_HOLD:
        return Stage.ON_HOLD
    standing = [fo for fo in work if fo.status not in GONE]
    if any(fo.status is F.READY_FOR_PICKUP for fo in standing):
        return Stage.READY_FOR_PICKUP
    if standing and all(fo.status is F.PICKED_UP for fo in standing):
        return Stage.PICKED_UP
    if parcels:
        return _parcel_stage(standing, parcels)
    if any(fo.status in (F.ACCEPTED, F.PICKING, F.PACKED) for fo in standing):
        return Stage.PREPARING
    return Stage.RECEIVED


def _parcel_stage(standing: Sequence[FulfillmentOrder], parcels: Sequence[Shipment]) -> Stage:
    waiting = any(fo.status not in (F.SHIPPED, F.PICKED_UP) for fo in standing)
    statuses = {parcel.status for parcel in parcels}
    if statuses & PROBLEMS:
        return Stage.DELIVERY_PROBLEM
    if TrackingStatus.OUT_FOR_DELIVERY in statuses:
        return Stage.OUT_FOR_DELIVERY
    if statuses == {TrackingStatus.DELIVERED}:
        return Stage.PARTLY_SHIPPED if waiting else Stage.DELIVERED
    return Stage.PARTLY_SHIPPED if waiting else Stage.SHIPPED


def pickup_until(ready_at: datetime, hold: timedelta = PICKUP_HOLD) -> date:
    """The last day a ready pickup waits at the counter (the store's day, as UTC dates go)."""
    return (ready_at + hold).date()
