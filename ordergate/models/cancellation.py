"""Which units a cancellation takes, and from which fulfilment orders: pure rules.

A unit can be cancelled until it leaves with the customer (shipped or handed over). Customers
may only cancel units no node has started on; staff may cancel any unit not yet gone. Units
come first from what is allocated nowhere (a rejected share waiting for an agent), then from
the least advanced work: held, open, accepted, and only for staff picking, packed, ready. Among
work equally far along, the smaller share of the line goes first: a node left with none of it
may have a parcel fewer to send (a line of 5 split 4 and 1, one unit cancelled: the 1).

`plan_order_cancellation` turns that into what the use case (`usecases.cancellation`) writes:
units released at their nodes, what is left of each fulfilment order's lines, the fulfilment
orders emptied and cancelled, the lines' cancelled units, and whether the order is cancelled
whole (nothing left open and nothing ever left with the customer).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ordergate.models.allocation import PlanLine
from ordergate.models.commands import CancelOrder
from ordergate.models.errors import Forbidden, InvalidTransition, Problem, ValidationFailed
from ordergate.models.fulfillment import (
    FulfillmentAction,
    FulfillmentOrder,
    FulfillmentOrderLine,
    FulfillmentOrderStatus,
    next_fulfillment_status,
)
from ordergate.models.identity import Permission, Principal
from ordergate.models.lifecycle import LineQuantities, OrderAction, event_from_lines
from ordergate.models.order import Order, OrderLine, OrderStatus

F = FulfillmentOrderStatus
LEAST_ADVANCED_FIRST: tuple[FulfillmentOrderStatus, ...] = (
    F.ON_HOLD,
    F.OPEN,
    F.ACCEPTED,
    F.PICKING,
    F.PACKED,
    F.READY_FOR_PICKUP,
)
NOT_STARTED = frozenset({F.ON_HOLD, F.OPEN, F.ACCEPTED})
NOT_GONE = frozenset(LEAST_ADVANCED_FIRST)
FINISHED = frozenset({OrderStatus.CANCELLED, OrderStatus.COMPLETED})
ORDER_FIELD = ("order_id",)


@dataclass(frozen=True)
class Holding:
    """Units of one order line in one fulfilment order."""

    fulfillment_order_id: str
    status: FulfillmentOrderStatus
    line_id: str
    quantity: int


@dataclass(frozen=True)
class Cut:
    line_id: str
    quantity: int
    fulfillment_order_id: str | None  # None: units that were allocated nowhere


@dataclass(frozen=True)
class CancellationPlan:
    cuts: tuple[Cut, ...]
    problems: tuple[Problem, ...]

    def by_line(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for cut in self.cuts:
            total[cut.line_id] = total.get(cut.line_id, 0) + cut.quantity
        return total


def plan_cancellation(
    open_units: Mapping[str, int],
    holdings: Sequence[Holding],
    requested: Mapping[str, int] | None,
    *,
    touchable: frozenset[FulfillmentOrderStatus],
) -> CancellationPlan:
    """`open_units`: per order line, units neither fulfilled nor cancelled. `requested`: units
    per line to cancel (None: all that may be). Problems name the input line they concern."""
    live = [h for h in holdings if h.status in NOT_GONE]
    cancellable: dict[str, int] = {}
    for line_id, units in open_units.items():
        untouchable = sum(h.quantity for h in live if h.line_id == line_id and h.status not in touchable)
        cancellable[line_id] = max(0, units - untouchable)
    problems: list[Problem] = []
    if requested is None:
        wanted = {line_id: units for line_id, units in cancellable.items() if units > 0}
        if not wanted:
            problems.append(
                Problem("NOTHING_TO_CANCEL", "every unit has left or is being worked on", ("order_id",))
            )
    else:
        wanted = {}
        for index, (line_id, units) in enumerate(requested.items()):
            path = ("lines", str(index))
            if line_id not in open_units:
                problems.append(Problem("NOT_FOUND", "no such line on this order", (*path, "line_id")))
            elif units <= 0:
                problems.append(Problem("INVALID_QUANTITY", "cancel at least one unit", (*path, "quantity")))
            elif units > cancellable[line_id]:
                problems.append(
                    Problem(
                        "NOT_CANCELLABLE",
                        f"only {cancellable[line_id]} of this line can still be cancelled",
                        (*path, "quantity"),
                    )
                )
            else:
                wanted[line_id] = units
    if problems:
        return CancellationPlan((), tuple(problems))
    rank = {status: i for i, status in enumerate(LEAST_ADVANCED_FIRST)}
    cuts: list[Cut] = []
    for line_id, units in wanted.items():
        allocated = sum(h.quantity for h in live if h.line_id == line_id)
        left = units
        nowhere = min(left, max(0, open_units[line_id] - allocated))
        if nowhere:
            cuts.append(Cut(line_id, nowhere, None))
            left -= nowhere
        for holding in sorted(
            (h for h in live if h.line_id == line_id and h.status in touchable),
            key=lambda h: (rank[h.status], h.quantity, h.fulfillment_order_id),
        ):
            if left == 0:
                break
            take = min(left, holding.quantity)
            cuts.append(Cut(line_id, take, holding.fulfillment_order_id))
            left -= take
    return CancellationPlan(tuple(cuts), ())


def touchable_by(principal: Principal) -> frozenset[FulfillmentOrderStatus]:
    """The fulfilment states whose units this caller may cancel: staff, any not yet gone; a
    customer, on their own orders, only those no node has started on. Forbidden for a role
    that may cancel nothing."""
    if principal.can(Permission.CANCEL_ORDERS):
        return NOT_GONE
    if principal.can(Permission.CANCEL_OWN_ORDERS):
        return NOT_STARTED
    raise Forbidden("this role may not cancel orders")


def check_cancellable(order: Order) -> None:
    """INVALID_TRANSITION for an order that is cancelled or completed already."""
    if order.status in FINISHED:
        raise InvalidTransition(f"a {order.status.value} order has nothing left to cancel", field=ORDER_FIELD)


@dataclass(frozen=True)
class Release:
    """Units cut out of one fulfilment order line: released at its node, and what is left of
    the line (0: it goes)."""

    fulfillment_order_id: str
    fulfillment_line_id: str
    units: PlanLine
    left: int


@dataclass(frozen=True)
class OrderCancellation:
    cancelled: Mapping[str, int]  # units per order line, in the order they were cut
    releases: tuple[Release, ...]
    emptied: tuple[
        tuple[str, FulfillmentOrderStatus], ...
    ]  # fulfilment orders left with nothing, and their new status
    amended: tuple[str, ...]  # locations whose sales orders lose units
    whole: bool  # the order is cancelled: nothing of it open, nothing of it ever left
    unallocated: Mapping[str, int] = field(default_factory=dict)  # per line: units cut that no node held


def plan_order_cancellation(
    order: Order,
    lines: Sequence[OrderLine],
    shares: Sequence[FulfillmentOrder],
    fo_lines: Mapping[str, Sequence[FulfillmentOrderLine]],
    command: CancelOrder,
    *,
    touchable: frozenset[FulfillmentOrderStatus],
) -> OrderCancellation:
    """What cancelling `command.lines` (None: every unit this caller may cancel) of an order
    `check_cancellable` let through writes. ValidationFailed, naming the input line, when a
    line is not on the order, asks for no unit, or for more than may be cancelled."""
    share_by_id = {share.id: share for share in shares}
    plan = plan_cancellation(
        {line.id: line.quantity - line.quantity_fulfilled - line.quantity_cancelled for line in lines},
        [
            Holding(share.id, share.status, row.order_line_id, row.quantity)
            for share in shares
            for row in fo_lines.get(share.id, [])
        ],
        {item.line_id: item.quantity for item in command.lines} if command.lines is not None else None,
        touchable=touchable,
    )
    if plan.problems:
        raise ValidationFailed(plan.problems)
    sku_of = {line.id: line.sku for line in lines}
    left = {row.id: row.quantity for rows in fo_lines.values() for row in rows}
    releases: list[Release] = []
    emptied: list[tuple[str, FulfillmentOrderStatus]] = []
    for cut in plan.cuts:
        if cut.fulfillment_order_id is None:
            continue
        share = share_by_id[cut.fulfillment_order_id]
        rows = fo_lines[share.id]
        releases.extend(
            _released(cut, share, [row for row in rows if row.order_line_id == cut.line_id], left, sku_of)
        )
        if not any(left[row.id] for row in rows):
            emptied.append(
                (
                    share.id,
                    next_fulfillment_status(share.status, FulfillmentAction.CANCEL, share.delivery_method),
                )
            )
    cancelled = plan.by_line()
    after = [
        LineQuantities(
            line.quantity, line.quantity_fulfilled, line.quantity_cancelled + cancelled.get(line.id, 0)
        )
        for line in lines
    ]
    return OrderCancellation(
        cancelled=cancelled,
        releases=tuple(releases),
        emptied=tuple(emptied),
        amended=tuple(dict.fromkeys(share_by_id[r.fulfillment_order_id].location_id for r in releases)),
        whole=event_from_lines(order.status, after) is OrderAction.CANCEL,
        unallocated={
            line_id: units
            for line_id in cancelled
            if (
                units := sum(
                    c.quantity for c in plan.cuts if c.line_id == line_id and c.fulfillment_order_id is None
                )
            )
        },
    )


def _released(
    cut: Cut,
    share: FulfillmentOrder,
    rows: Sequence[FulfillmentOrderLine],
    left: dict[str, int],
    sku_of: Mapping[str, str],
) -> list[Release]:
    """The cut taken from the fulfilment order's lines for its order line, first line first;
    `left` is what each still holds, updated."""
    releases: list[Release] = []
    wanted = cut.quantity
    for row in rows:
        take = min(wanted, left[row.id])
        if take == 0:
            continue
        left[row.id] -= take
        wanted -= take
        releases.append(
            Release(share.id, row.id, PlanLine(sku_of[cut.line_id], share.location_id, take), left[row.id])
        )
    return releases
