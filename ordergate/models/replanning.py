"""Routing an order's open units again, decided: what is still to route, and, given the new plan,
which nodes keep their (not yet started) work amended in place, which lose it, and which get
new work. Pure: the use case (`usecases.rerouting`) loads the order, asks routing for a plan,
asks this how to get there, and applies it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from ordergate.models.allocation import Plan, PlanLine, Want
from ordergate.models.fulfillment import FulfillmentOrder, FulfillmentOrderLine, FulfillmentOrderStatus
from ordergate.models.order import OrderStatus
from ordergate.models.supply import Backorder, BackorderStatus

SHORTFALL = "system:shortfalls"  # the actor of work routed again because its units were counted gone

MOVABLE = frozenset(
    {FulfillmentOrderStatus.OPEN, FulfillmentOrderStatus.ACCEPTED, FulfillmentOrderStatus.ON_HOLD}
)
STARTED = frozenset(
    {
        FulfillmentOrderStatus.PICKING,
        FulfillmentOrderStatus.PACKED,
        FulfillmentOrderStatus.READY_FOR_PICKUP,
    }
)


class LineUnits(Protocol):
    """An order line as routing counts it (a stored line, or one an edit plans)."""

    @property
    def sku(self) -> str: ...

    @property
    def quantity(self) -> int: ...

    @property
    def quantity_fulfilled(self) -> int: ...

    @property
    def quantity_cancelled(self) -> int: ...


Work = tuple[FulfillmentOrder, list[PlanLine]]  # a node's not-started work and the units it holds


def still_to_route(
    lines: Sequence[LineUnits], started: Mapping[str, int], waiting: Mapping[str, int] | None = None
) -> list[Want]:
    """Per line, the units neither gone, cancelled, started on at a node (`started` per SKU) nor
    waiting for supply at the node that promised them (`waiting` per SKU: a backorder keeps its
    place in that supply, and the pass that allocates it when it arrives opens its work)."""
    waiting = waiting or {}
    return [
        Want(line.sku, left)
        for line in lines
        if (
            left := line.quantity
            - line.quantity_fulfilled
            - line.quantity_cancelled
            - started.get(line.sku, 0)
            - waiting.get(line.sku, 0)
        )
        > 0
    ]


def split_work(
    shares: Sequence[FulfillmentOrder], fo_lines: Mapping[str, Sequence[FulfillmentOrderLine]]
) -> tuple[Counter[str], list[Work]]:
    """An order's fulfilment orders (`shares`, with their lines by id) as the units nodes have
    started on, per SKU, and the work no node has started, which routing may move."""
    started: Counter[str] = Counter()
    movable: list[Work] = []
    for fo in shares:
        mine = [PlanLine(line.sku, fo.location_id, line.quantity) for line in fo_lines.get(fo.id, [])]
        if fo.status in STARTED:
            started.update({p.sku: p.quantity for p in mine})
        elif fo.status in MOVABLE:
            movable.append((fo, mine))
    return started, movable


def waiting_units(backorders: Sequence[Backorder]) -> Counter[str]:
    """An order's units waiting for supply, per SKU."""
    waiting: Counter[str] = Counter()
    for backorder in backorders:
        if backorder.status is BackorderStatus.WAITING:
            waiting[backorder.sku] += backorder.quantity
    return waiting


def unheld(
    lines: Sequence[LineUnits],
    started: Mapping[str, int],
    movable: Sequence[Work],
    waiting: Mapping[str, int],
) -> list[Want]:
    """Per line, the units no node holds at all: `still_to_route` less the not-started work's."""
    holding = Counter(started)
    for (sku, _), units in held(movable).items():
        holding[sku] += units
    return still_to_route(lines, holding, waiting)


def held(movable: Sequence[Work]) -> Counter[tuple[str, str]]:
    """The units the order's not-started work holds, per (SKU, location), summed: a node can hold
    two pieces of one order's work (one it accepted, and one routed to it after a rejection)."""
    units: Counter[tuple[str, str]] = Counter()
    for _, mine in movable:
        for p in mine:
            units[(p.sku, p.location_id)] += p.quantity
    return units


@dataclass(frozen=True)
class NodeChanges:
    kept: dict[str, Work]  # per location: its work, to amend to `planned[location]`
    dropped: list[Work]  # work at nodes the plan no longer uses: released and cancelled
    fresh: Plan  # units for nodes with no work yet
    planned: dict[str, Counter[str]] = field(default_factory=dict)  # per location, units per SKU


def node_changes(plan: Plan, movable: Sequence[Work]) -> NodeChanges:
    """A node the new plan still uses keeps its work (the first of it, if it has several) and
    where it got to; a node the plan drops has its work cancelled; new nodes get new work."""
    planned: dict[str, Counter[str]] = {}
    for line in plan.lines:
        planned.setdefault(line.location_id, Counter())[line.sku] += line.quantity
    kept: dict[str, Work] = {}
    dropped: list[Work] = []
    for work in movable:
        location = work[0].location_id
        if location in planned and location not in kept:
            kept[location] = work
        else:
            dropped.append(work)
    fresh = Plan(tuple(line for line in plan.lines if line.location_id not in kept))
    return NodeChanges(kept, dropped, fresh, planned)


def amendment(
    have: Sequence[PlanLine], wanted: Mapping[str, int], location_id: str
) -> tuple[list[PlanLine], list[PlanLine]]:
    """To make a node's work hold `wanted` units per SKU: (what to release, what to allocate)."""
    holding: Counter[str] = Counter()
    for p in have:
        holding[p.sku] += p.quantity
    less = [
        PlanLine(sku, location_id, holding[sku] - wanted.get(sku, 0))
        for sku in holding
        if holding[sku] > wanted.get(sku, 0)
    ]
    more = [
        PlanLine(sku, location_id, units - holding[sku])
        for sku, units in wanted.items()
        if units > holding[sku]
    ]
    return less, more


@dataclass(frozen=True)
class WorkHere:
    """A fulfilment order's units of a SKU at its node, where it stands and where its order does."""

    fulfillment_order_id: str
    order_id: str
    sku: str
    location_id: str
    quantity: int
    status: FulfillmentOrderStatus
    order_status: OrderStatus
    opened_at: datetime


class Stuck(StrEnum):
    """Why work still holds units at a position the ERP's count left short."""

    STARTED = "STARTED"  # the node is on it: its pick finds what is there
    ORDER_ON_HOLD = "ORDER_ON_HOLD"  # an agent has the order; once released, the next pass moves it
    NOT_STARTED = "NOT_STARTED"  # the pass moves it while another node can take it (newest first)


def why_here(work: WorkHere) -> Stuck:
    if work.status not in MOVABLE:
        return Stuck.STARTED
    if work.order_status is OrderStatus.ON_HOLD:
        return Stuck.ORDER_ON_HOLD
    return Stuck.NOT_STARTED


def movable_by_order(work: Iterable[WorkHere]) -> list[HeldWork]:
    """What each order's not-started work holds at each position (what a shortfall pass may
    move), opened when its newest piece there was."""
    units: Counter[tuple[str, str, str]] = Counter()
    opened: dict[tuple[str, str, str], datetime] = {}
    for here in work:
        if here.status in MOVABLE:
            key = (here.order_id, here.sku, here.location_id)
            units[key] += here.quantity
            opened[key] = max(opened.get(key, here.opened_at), here.opened_at)
    return [HeldWork(*key, units[key], opened[key]) for key in sorted(units)]


@dataclass(frozen=True)
class HeldWork:
    """Units of a SKU that an order's not-started work holds at a node, and when that work was
    opened there."""

    order_id: str
    sku: str
    location_id: str
    quantity: int
    opened_at: datetime


def to_route_again(short: Mapping[tuple[str, str], int], work: Iterable[HeldWork]) -> list[str]:
    """The orders to route again where a count left a node with fewer units than are allocated
    there (`short`: the units missing, per (sku, node)): at each, the newest work first, until what
    the chosen orders hold there covers the units missing, so the orders placed first keep theirs.
    An order routed again gives up its units at every short position, so what it holds at one
    counts there too. Each order once, in the order chosen."""
    missing = dict(short)
    by_key: dict[tuple[str, str], list[HeldWork]] = {}
    by_order: dict[str, list[HeldWork]] = {}
    for held_here in work:
        by_key.setdefault((held_here.sku, held_here.location_id), []).append(held_here)
        by_order.setdefault(held_here.order_id, []).append(held_here)
    chosen: list[str] = []
    for key in sorted(missing):
        newest_first = sorted(by_key.get(key, []), key=lambda w: (w.opened_at, w.order_id), reverse=True)
        for candidate in newest_first:
            if missing[key] <= 0:
                break
            if candidate.order_id in chosen:
                continue
            chosen.append(candidate.order_id)
            for units in by_order[candidate.order_id]:
                at = (units.sku, units.location_id)
                if at in missing:
                    missing[at] -= units.quantity
    return chosen


def next_to_route(
    short: Mapping[tuple[str, str], int],
    work: Iterable[HeldWork],
    *,
    tried: Collection[str],
    staying: Collection[str],
) -> str | None:
    """The next order a shortfall pass routes again, of those `to_route_again` chooses once the
    orders `staying` (routed again and still there: no other node could take them) no longer count
    as covering what is missing: a pickup the store must keep, say, no longer keeps an older
    order that could ship from elsewhere at a shelf that lacks units for both. None when what the
    orders moved (or still to try) covers every position, or every order was tried."""
    chosen = to_route_again(short, [held_here for held_here in work if held_here.order_id not in staying])
    return next((order_id for order_id in chosen if order_id not in tried), None)


def skus_by_order(work: Iterable[HeldWork]) -> dict[str, list[str]]:
    """The SKUs each order holds at short positions."""
    skus: dict[str, set[str]] = {}
    for here in work:
        skus.setdefault(here.order_id, set()).add(here.sku)
    return {order_id: sorted(found) for order_id, found in skus.items()}


def free_for(skus: Sequence[str], free: Mapping[str, int]) -> int:
    """Units free (on hand beyond allocations, over every node) for these SKUs together."""
    return sum(free.get(sku, 0) for sku in skus)


def still_stuck(
    noted: Sequence[str],
    marks: Mapping[str, int | None],
    skus: Mapping[str, Sequence[str]],
    free: Mapping[str, int],
) -> list[str]:
    """Of the orders a pass lately could not move (`noted`, each with the units free for its SKUs
    then, its mark), those still not worth routing again: no more units are free for them now. An
    order noted without a mark stays noted for the whole window."""
    return [
        order_id
        for order_id in noted
        if (mark := marks.get(order_id)) is None or free_for(skus.get(order_id, []), free) <= mark
    ]
