"""Available to sell (ATS) and available to promise (ATP), as DOMAIN.md section 1 defines them.

    ATS(location, now) = max(0, on_hand - allocated - reserved - unavailable)
    ATP(location, d)   = ATS(location, now) + incoming with eta <= d - unallocated demand due by d
    promise date for q = first d with ATP >= q, plus the location's lead time to the destination

A node's `incoming` is the supply not yet promised to backordered units (`models.supply.free`
takes the unallocated demand off it), so ATP here is the formula above. The promise date a
shopper sees for a quantity is routing's (`usecases.backorders.Promiser`): splits within the
limit, and incoming supply only where the product's selling policy allows. A feed older than
its freshness limit (drop-ship vendors) counts as zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ordergate.models.calendar import add_business_days


@dataclass(frozen=True)
class Supply:
    quantity: int
    expected_on: date


@dataclass(frozen=True)
class NodeStock:
    """One SKU at one location, with everything ATS and ATP need."""

    location_id: str
    on_hand: int
    allocated: int = 0
    reserved: int = 0
    unavailable: int = 0
    as_of: datetime | None = None
    max_age: timedelta | None = None
    incoming: tuple[Supply, ...] = ()
    lead_days: int = 0


def is_fresh(node: NodeStock, now: datetime) -> bool:
    if node.max_age is None:
        return True
    return node.as_of is not None and now - node.as_of <= node.max_age


def ats(node: NodeStock, now: datetime) -> int:
    if not is_fresh(node, now):
        return 0
    return max(0, node.on_hand - node.allocated - node.reserved - node.unavailable)


def still_held(node: NodeStock, own: int) -> int:
    """Of the `own` units an order's not-started work holds at this node, those still on the
    shelf for it: at most what the node has on hand beyond the other orders' allocations. Routing
    the order again counts these as free where they are (`usecases.rerouting.with_freed`), so an
    order keeps units it has; safety stock and holds do not take them back (they keep units from
    new sales). When a count has found fewer units than are allocated there, the order routed
    again gives up the units that are gone instead of keeping work the node cannot do."""
    return max(0, min(own, node.on_hand - (node.allocated - own)))


def atp(node: NodeStock, on: date, now: datetime) -> int:
    arriving = sum(s.quantity for s in node.incoming if s.expected_on <= on)
    return ats(node, now) + arriving


def earliest_date(node: NodeStock, quantity: int, now: datetime) -> date | None:
    """The first day ATP covers `quantity` at this node, or None if supply never does."""
    today = now.date()
    if ats(node, now) >= quantity:
        return today
    for supply in sorted(node.incoming, key=lambda s: s.expected_on):
        day = max(supply.expected_on, today)
        if atp(node, day, now) >= quantity:
            return day
    return None


def start_date(node: NodeStock, quantity: int, now: datetime, wait_days: int = 0) -> date | None:
    """The day the node can start on `quantity`: `earliest_date`, or, when it has them today but
    has used up today's capacity, `wait_days` business days on (`models.routing.days_until_room`)."""
    ready = earliest_date(node, quantity, now)
    if ready is not None and ready <= now.date():
        return start_on(ready, wait_days)
    return ready


def start_on(today: date, wait_days: int, *, business_days: bool = True) -> date:
    """The day a node starts on work taken `today` that waits `wait_days` for room in its queue
    (`models.routing.days_until_room`): that many business days on, today's first when it has
    room (a weekend's work starts on Monday); a store's days count on its own calendar
    (`business_days=False`). A fulfilment order keeps this
    day (`starts_on`): the node's capacity is counted by it, so work taken past a full day is
    counted on the day it is to be started, not the day it came in."""
    wait = max(0, wait_days)
    return add_business_days(today, wait) if business_days else today + timedelta(days=wait)


def promise_date(node: NodeStock, quantity: int, now: datetime, wait_days: int = 0) -> date | None:
    """The day the customer has `quantity` from this node: the day it can start on them, then its
    handling and transit days as business days (`now` on the destination's clock)."""
    ready = start_date(node, quantity, now, wait_days)
    return None if ready is None else add_business_days(ready, node.lead_days)


def network_ats(nodes: Iterable[NodeStock], now: datetime) -> int:
    return sum(ats(node, now) for node in nodes)
