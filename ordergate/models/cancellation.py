"""Which units a cancellation takes, and from which fulfilment orders: pure rules.

A unit can be cancelled until it leaves with the customer (shipped or handed over). Customers
may only cancel units no node has started on; staff may cancel any unit not yet gone. Units
come first from what is allocated nowhere (a rejected share waiting for an agent), then from
the least advanced work: held, open, accepted, and only for staff picking, packed, ready.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ordergate.models.errors import Problem
from ordergate.models.fulfillment import FulfillmentOrderStatus

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
                Problem(
                    "NOTHING_TO_CANCEL", "every unit has left or is being worked on", ("input", "orderId")
                )
            )
    else:
        wanted = {}
        for index, (line_id, units) in enumerate(requested.items()):
            path = ("input", "lines", str(index))
            if line_id not in open_units:
                problems.append(Problem("NOT_FOUND", "no such line on this order", (*path, "lineId")))
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
            key=lambda h: (rank[h.status], h.fulfillment_order_id),
        ):
            if left == 0:
                break
            take = min(left, holding.quantity)
            cuts.append(Cut(line_id, take, holding.fulfillment_order_id))
            left -= take
    return CancellationPlan(tuple(cuts), ())
