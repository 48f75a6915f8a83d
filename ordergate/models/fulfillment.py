"""Fulfilment orders: one per node per order (Shopify's model); routing fills them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from ordergate.models.errors import InvalidTransition, Problem
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
    # a node that finds none of the units as it picks (a short pick of every unit is refused
    # as SHORT_PICK_COVERS_ALL, which points here): packed work has its units in the box
    (F.PICKING, A.REJECT): F.REJECTED,
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
    starts_on: date | None = None
    """The day the node is to start on it, on its own clock (`models.availability.start_on`):
    the day it was opened, or later when the node had no room left that day. Its capacity per
    day is counted by this day. None only on work opened before the day was kept."""


@dataclass(kw_only=True, eq=False)
class FulfillmentOrderLine:
    id: str = field(default_factory=new_id)
    fulfillment_order_id: str
    order_line_id: str
    sku: str
    quantity: int


SHORT_PICKABLE = frozenset({FulfillmentOrderStatus.ACCEPTED, FulfillmentOrderStatus.PICKING})
"""Where a node finds out that units are not on its shelf: while it picks."""


def short_pick_problems(
    lines: Sequence[FulfillmentOrderLine], missing: Sequence[tuple[str, int]]
) -> list[Problem]:
    """Why a reported short pick does not fit the work: a SKU it does not ask for, a count outside
    1 to what it still asks for, or every unit missing (that is a rejection, not a short pick)."""
    asked: dict[str, int] = {}
    for line in lines:
        asked[line.sku] = asked.get(line.sku, 0) + line.quantity
    taken: dict[str, int] = {}
    problems: list[Problem] = []
    for index, (sku, count) in enumerate(missing):
        left = asked.get(sku, 0) - taken.get(sku, 0)
        if sku not in asked:
            problems.append(
                Problem("NOT_FOUND", f"{sku} is not in this fulfilment order", ("lines", str(index), "sku"))
            )
        elif not 1 <= count <= left:
            problems.append(
                Problem(
                    "INVALID_QUANTITY",
                    f"between 1 and {left} units of {sku} can be missing",
                    ("lines", str(index), "missing"),
                )
            )
        else:
            taken[sku] = taken.get(sku, 0) + count
    if not problems and sum(taken.values()) == sum(asked.values()):
        problems.append(
            Problem(
                "SHORT_PICK_COVERS_ALL",
                "every unit is missing: reject the fulfilment order instead (damaged: true writes them off)",
                ("lines",),
            )
        )
    return problems
