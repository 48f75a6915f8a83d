"""The order event log: every change appends one, in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from ordergate.models.identity import Permission, Principal
from ordergate.models.ids import new_id


class EventType(StrEnum):
    ORDER_PLACED = "ORDER_PLACED"
    ORDER_CONFIRMED = "ORDER_CONFIRMED"
    ORDER_HELD = "ORDER_HELD"
    ORDER_RELEASED = "ORDER_RELEASED"
    ORDER_CANCELLED = "ORDER_CANCELLED"
    ORDER_LINES_CANCELLED = "ORDER_LINES_CANCELLED"
    ORDER_COMPLETED = "ORDER_COMPLETED"
    ORDER_STATUS_CHANGED = "ORDER_STATUS_CHANGED"
    ORDER_REROUTED = "ORDER_REROUTED"
    ORDER_EDITED = "ORDER_EDITED"
    ORDER_BACKORDERED = "ORDER_BACKORDERED"
    ORDER_DELAYED = "ORDER_DELAYED"
    BACKORDER_ALLOCATED = "BACKORDER_ALLOCATED"
    FULFILLMENT_OPENED = "FULFILLMENT_OPENED"
    RETURN_REQUESTED = "RETURN_REQUESTED"
    PAYMENT_AUTHORIZED = "PAYMENT_AUTHORIZED"
    PAYMENT_CAPTURED = "PAYMENT_CAPTURED"
    PAYMENT_VOIDED = "PAYMENT_VOIDED"
    PAYMENT_REFUNDED = "PAYMENT_REFUNDED"
    APPEASEMENT_ISSUED = "APPEASEMENT_ISSUED"
    RETURN_APPROVED = "RETURN_APPROVED"
    RETURN_DECLINED = "RETURN_DECLINED"
    RETURN_RECEIVED = "RETURN_RECEIVED"
    RETURN_REFUNDED = "RETURN_REFUNDED"
    RETURN_CLOSED = "RETURN_CLOSED"
    RETURN_EXPIRED = "RETURN_EXPIRED"
    RETURN_IN_TRANSIT = "RETURN_IN_TRANSIT"
    RETURN_DELIVERED = "RETURN_DELIVERED"
    ERP_UNITS_KEPT = "ERP_UNITS_KEPT"
    RETURN_LABEL_CREATED = "RETURN_LABEL_CREATED"
    RETURN_LABEL_FAILED = "RETURN_LABEL_FAILED"
    RETURN_LABEL_RETRIED = "RETURN_LABEL_RETRIED"
    RETURN_LABEL_VOIDED = "RETURN_LABEL_VOIDED"
    FULFILLMENT_ACCEPTED = "FULFILLMENT_ACCEPTED"
    FULFILLMENT_PICKING = "FULFILLMENT_PICKING"
    FULFILLMENT_PACKED = "FULFILLMENT_PACKED"
    FULFILLMENT_SHIPPED = "FULFILLMENT_SHIPPED"
    FULFILLMENT_READY_FOR_PICKUP = "FULFILLMENT_READY_FOR_PICKUP"
    FULFILLMENT_PICKED_UP = "FULFILLMENT_PICKED_UP"
    FULFILLMENT_REJECTED = "FULFILLMENT_REJECTED"
    FULFILLMENT_CANCELLED = "FULFILLMENT_CANCELLED"
    FULFILLMENT_HELD = "FULFILLMENT_HELD"
    FULFILLMENT_CHANGED = "FULFILLMENT_CHANGED"
    FULFILLMENT_RELEASED = "FULFILLMENT_RELEASED"
    FULFILLMENT_STOCK_SHORT = "FULFILLMENT_STOCK_SHORT"
    FULFILLMENT_STOCK_COVERED = "FULFILLMENT_STOCK_COVERED"
    SHIPMENT_UNKNOWN = "SHIPMENT_UNKNOWN"
    SHIPMENT_LABEL_CREATED = "SHIPMENT_LABEL_CREATED"
    SHIPMENT_ACCEPTED = "SHIPMENT_ACCEPTED"
    SHIPMENT_IN_TRANSIT = "SHIPMENT_IN_TRANSIT"
    SHIPMENT_OUT_FOR_DELIVERY = "SHIPMENT_OUT_FOR_DELIVERY"
    SHIPMENT_DELIVERY_ATTEMPT = "SHIPMENT_DELIVERY_ATTEMPT"
    SHIPMENT_DELIVERED = "SHIPMENT_DELIVERED"
    SHIPMENT_EXCEPTION = "SHIPMENT_EXCEPTION"
    SHIPMENT_RETURNED_TO_SENDER = "SHIPMENT_RETURNED_TO_SENDER"


CUSTOMER_MESSAGES: dict[EventType, str] = {
    EventType.ORDER_PLACED: "We received your order.",
    EventType.ORDER_CONFIRMED: "Your order is confirmed.",
    EventType.ORDER_HELD: "Your order is on hold while we check a detail.",
    EventType.ORDER_RELEASED: "Your order is moving again.",
    EventType.ORDER_CANCELLED: "Your order was cancelled.",
    EventType.ORDER_LINES_CANCELLED: "Some items were cancelled from your order.",
    EventType.ORDER_COMPLETED: "Your order is complete.",
    EventType.ORDER_STATUS_CHANGED: "Your order's status changed.",
    EventType.ORDER_REROUTED: "We are sending your items from another location.",  # some or all of them
    EventType.ORDER_EDITED: "Your order was changed.",
    EventType.ORDER_DELAYED: "Your order will arrive later than we said.",
    EventType.ORDER_BACKORDERED: "Some items are on order: we will send them when they arrive.",
    EventType.BACKORDER_ALLOCATED: "Items you were waiting for have arrived and are on their way to you.",
    EventType.FULFILLMENT_ACCEPTED: "A location accepted your order.",
    EventType.FULFILLMENT_PICKING: "We are picking your items.",
    EventType.FULFILLMENT_PACKED: "Your items are packed.",
    EventType.FULFILLMENT_SHIPPED: "Your items have shipped.",
    EventType.FULFILLMENT_READY_FOR_PICKUP: "Your order is ready for pickup.",
    EventType.FULFILLMENT_PICKED_UP: "You picked up your order.",
    EventType.FULFILLMENT_REJECTED: "A location could not fulfil part of your order.",
    EventType.FULFILLMENT_HELD: "Part of your order is on hold.",
    EventType.FULFILLMENT_RELEASED: "Part of your order is moving again.",
    EventType.RETURN_REQUESTED: "We received your return request.",
    EventType.PAYMENT_AUTHORIZED: "Your payment was authorised.",
    EventType.PAYMENT_CAPTURED: "We charged your payment for what we sent.",
    EventType.PAYMENT_VOIDED: "Your payment authorisation was released.",
    EventType.PAYMENT_REFUNDED: "We refunded your payment.",
    EventType.APPEASEMENT_ISSUED: "We are refunding part of your payment as a goodwill gesture.",
    EventType.RETURN_APPROVED: "Your return is approved: send the items back.",
    EventType.RETURN_DECLINED: "Your return request was declined.",
    EventType.RETURN_RECEIVED: "We received your returned items.",
    EventType.RETURN_REFUNDED: "We refunded your returned items.",
    EventType.RETURN_CLOSED: "Your return is complete.",
    EventType.RETURN_EXPIRED: "Your return expired: the parcel was not sent in time, and its label no longer "
    "works. Ask for a new return if you still want to send the items back.",
    EventType.RETURN_IN_TRANSIT: "The carrier has your return: it is on its way back to us.",
    EventType.RETURN_DELIVERED: "Your return has reached us: we will check the items.",
    EventType.RETURN_LABEL_CREATED: "Your return label is ready to print.",
    EventType.RETURN_LABEL_FAILED: "We could not create your return label yet: we are on it, and will let "
    "you know when it is ready.",
    EventType.SHIPMENT_UNKNOWN: "We are waiting for news from the carrier.",
    EventType.SHIPMENT_LABEL_CREATED: "A shipping label was created.",
    EventType.SHIPMENT_ACCEPTED: "The carrier has your parcel.",
    EventType.SHIPMENT_IN_TRANSIT: "Your parcel is on its way.",
    EventType.SHIPMENT_OUT_FOR_DELIVERY: "Your parcel is out for delivery.",
    EventType.SHIPMENT_DELIVERY_ATTEMPT: "The carrier tried to deliver your parcel.",
    EventType.SHIPMENT_DELIVERED: "Your parcel was delivered.",
    EventType.SHIPMENT_EXCEPTION: "The carrier reported a problem with your parcel.",
    EventType.SHIPMENT_RETURNED_TO_SENDER: "Your parcel is being returned to us.",
}


# Events for the people doing the work, never on a customer's timeline.
STAFF_MESSAGES: dict[EventType, str] = {
    EventType.FULFILLMENT_OPENED: "A location was given work for this order.",
    EventType.FULFILLMENT_CHANGED: "The units a location is to send changed with the order.",
    # A location's work ends with the order's cancel, its lines' (ORDER_CANCELLED,
    # ORDER_LINES_CANCELLED) or a move (ORDER_REROUTED): the customer reads those. On its own it
    # read "Part of your order was cancelled." before every move, nothing of the order cancelled.
    EventType.FULFILLMENT_CANCELLED: "A location's work for this order was cancelled, and its units "
    "released there.",
    # A spell of short stock at the work's node (`models.short_spells`), told to the node's queue.
    EventType.FULFILLMENT_STOCK_SHORT: "The ERP's count leaves fewer units at this location than its work "
    "holds there: this pick may come up short.",
    EventType.FULFILLMENT_STOCK_COVERED: "The location has every unit its work holds there again.",
    EventType.RETURN_LABEL_RETRIED: "An agent asked the carrier for the return label again.",
    EventType.RETURN_LABEL_VOIDED: "The return label was not used: the carrier voided it, and refunds it.",
    EventType.ERP_UNITS_KEPT: "The ERP still shows units of this order as to deliver that will not ship: "
    "its sales order was delivered in part and no longer changes. Settle them at the ERP.",
}
INTERNAL_EVENTS = frozenset(STAFF_MESSAGES)


def customer_message(event_type: str) -> str:
    try:
        kind = EventType(event_type)
    except ValueError:
        return "Your order was updated."
    return CUSTOMER_MESSAGES.get(kind) or STAFF_MESSAGES.get(kind) or "Your order was updated."


def is_internal(event_type: str) -> bool:
    return event_type in INTERNAL_EVENTS


def shown_to(principal: Principal, event_type: str) -> bool:
    """Whether the caller reads this event: staff-only ones reach only those who do the work,
    on a timeline and in a subscription alike."""
    return principal.can(Permission.READ_STAFF_EVENTS) or not is_internal(event_type)


@dataclass(kw_only=True, eq=False)
class OrderEvent:
    """`cursor` is global and commit-ordered; `seq` counts within one order."""

    id: str = field(default_factory=new_id)
    cursor: int
    order_id: str
    seq: int
    type: str
    occurred_at: datetime
    actor: str
    data: dict[str, Any] = field(default_factory=dict)
    fulfillment_order_id: str | None = None
    location_id: str | None = None


@dataclass(kw_only=True, eq=False)
class Counter:
    """Named monotonic counters (order numbers, the event cursor), bumped under a row lock."""

    name: str
    value: int
