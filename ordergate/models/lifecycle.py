"""Order lifecycle as data: a transition table, and statuses derived from line quantities."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from ordergate.models.errors import InvalidTransition
from ordergate.models.order import FulfillmentStatus, OrderStatus


class OrderAction(StrEnum):
    CONFIRM = "CONFIRM"
    HOLD = "HOLD"
    RELEASE = "RELEASE"
    START_FULFILLMENT = "START_FULFILLMENT"
    COMPLETE = "COMPLETE"
    CANCEL = "CANCEL"


S, E = OrderStatus, OrderAction

TRANSITIONS: dict[tuple[OrderStatus, OrderAction], OrderStatus] = {
    (S.PENDING, E.CONFIRM): S.CONFIRMED,
    (S.PENDING, E.HOLD): S.ON_HOLD,
    (S.PENDING, E.CANCEL): S.CANCELLED,
    (S.CONFIRMED, E.HOLD): S.ON_HOLD,
    (S.CONFIRMED, E.START_FULFILLMENT): S.IN_PROGRESS,
    (S.CONFIRMED, E.COMPLETE): S.COMPLETED,
    (S.CONFIRMED, E.CANCEL): S.CANCELLED,
    (S.ON_HOLD, E.RELEASE): S.PENDING,
    (S.ON_HOLD, E.CANCEL): S.CANCELLED,
    (S.IN_PROGRESS, E.HOLD): S.ON_HOLD,
    (S.IN_PROGRESS, E.COMPLETE): S.COMPLETED,
    (S.IN_PROGRESS, E.CANCEL): S.CANCELLED,
}


def next_status(status: OrderStatus, event: OrderAction) -> OrderStatus:
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise InvalidTransition(
            f"an order that is {status.value} cannot {event.value.lower().replace('_', ' ')}"
        ) from None


HOLDABLE = frozenset(status for (status, action) in TRANSITIONS if action is OrderAction.HOLD)


def release_to(status_before_hold: OrderStatus | None) -> OrderStatus:
    """Releasing a hold returns the order to where it was; the table's RELEASE target when
    that is unknown."""
    next_status(OrderStatus.ON_HOLD, OrderAction.RELEASE)
    if status_before_hold in HOLDABLE:
        return status_before_hold
    return TRANSITIONS[(OrderStatus.ON_HOLD, OrderAction.RELEASE)]


@dataclass(frozen=True)
class LineQuantities:
    quantity: int
    fulfilled: int = 0
    cancelled: int = 0
    returned: int = 0

    @property
    def open(self) -> int:
        return self.quantity - self.fulfilled - self.cancelled


def fulfillment_status(lines: Iterable[LineQuantities]) -> FulfillmentStatus:
    lines = list(lines)
    fulfilled = sum(line.fulfilled for line in lines)
    returned = sum(line.returned for line in lines)
    open_units = sum(line.open for line in lines)
    if fulfilled == 0:
        return FulfillmentStatus.UNFULFILLED
    if returned:
        return FulfillmentStatus.RETURNED if returned == fulfilled else FulfillmentStatus.PARTIALLY_RETURNED
    return FulfillmentStatus.PARTIALLY_FULFILLED if open_units else FulfillmentStatus.FULFILLED


def event_from_lines(
    status: OrderStatus, lines: Iterable[LineQuantities], *, in_transit: bool = False
) -> OrderAction | None:
    """The lifecycle event that the line quantities imply, if any: never set by hand. An order
    whose units all left is complete only once nothing is `in_transit` (every shipment
    delivered; a pickup is delivered when it is handed over)."""
    lines = list(lines)
    if status in (OrderStatus.CANCELLED, OrderStatus.COMPLETED) or not lines:
        return None
    fulfilled = sum(line.fulfilled for line in lines)
    open_units = sum(line.open for line in lines)
    if open_units == 0 and not fulfilled:
        return OrderAction.CANCEL
    if open_units == 0 and not in_transit:
        return OrderAction.COMPLETE
    if fulfilled and status is OrderStatus.CONFIRMED:
        return OrderAction.START_FULFILLMENT
    return None


def derive_status(
    status: OrderStatus, lines: Iterable[LineQuantities], *, in_transit: bool = False
) -> OrderStatus:
    event = event_from_lines(status, lines, in_transit=in_transit)
    if event is None or (status, event) not in TRANSITIONS:
        return status
    return TRANSITIONS[(status, event)]
