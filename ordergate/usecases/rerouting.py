"""An agent asks where an order would route now, and may move its not-yet-started work there.

Work a node has started (picking, packed, waiting at the counter) stays where it is; open,
accepted and held units are routed again with everything else still open, never to a node
that already rejected the order. A node the new plan still uses keeps its fulfilment order,
amended to the new units (an edit that adds a mug does not make the store accept its work
again); a node the plan drops has its work cancelled; a new node gets new work. A dry run goes
runs the same decision (`decide_again`) and writes nothing. Edits re-plan through the same
`replan`; the choices are `models.replanning`'s.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from ordergate.models.allocation import Plan, PlanLine
from ordergate.models.availability import still_held
from ordergate.models.errors import (
    DomainError,
    Forbidden,
    InvalidTransition,
    NotFound,
    Problem,
    ValidationFailed,
)
from ordergate.models.events import EventType
from ordergate.models.fulfillment import (
    FulfillmentAction,
    FulfillmentOrder,
    FulfillmentOrderLine,
    FulfillmentOrderStatus,
    next_fulfillment_status,
)
from ordergate.models.identity import Permission, Principal
from ordergate.models.inventory import LedgerKind
from ordergate.models.order import DeliveryMethod, Order, OrderLine, OrderStatus, held_before_routing
from ordergate.models.replanning import (
    SHORTFALL,
    HeldWork,
    LineUnits,
    Work,
    amendment,
    free_for,
    held,
    movable_by_order,
    next_to_route,
    node_changes,
    skus_by_order,
    split_work,
    still_stuck,
    still_to_route,
    waiting_units,
)
from ordergate.models.routing import RoutingDecisionRecord
from ordergate.models.scope import OrderScope
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases import erp_sync
from ordergate.usecases.allocation import (
    Opened,
    allocate,
    announce_delay,
    announce_opened,
    commit_plan,
    routed_again_if_closed,
)
from ordergate.usecases.inventory import (
    Destination,
    LocationStock,
    SkuStock,
    locate,
    refresh_order_stock,
    source_locations,
    stock_view,
)
from ordergate.usecases.routing import decide, estimate, order_clock
from ordergate.usecases.services import Services

log = logging.getLogger("ordergate.rerouting")
EVERYTHING = OrderScope(everything=True)
FINISHED = frozenset({OrderStatus.COMPLETED, OrderStatus.CANCELLED})


@dataclass(frozen=True)
class RouteOutcome:
    order_id: str
    decision: RoutingDecisionRecord
    changed: bool
    dry_run: bool


@dataclass(frozen=True)
class Replanned:
    """What routing the order's open units again decided, before anything is written."""

    record: RoutingDecisionRecord
    plan: Plan | None  # None: no location can take the open units now
    changed: bool  # the plan differs from the work the order has
    movable: list[Work]
    view: dict[str, SkuStock]
    moved: bool = False  # units go from a location that did not send them before
    room: Mapping[str, int] = field(default_factory=dict)  # full nodes' days to wait (`Decision.room`)


def moves(plan: Plan, current: Counter[tuple[str, str]]) -> bool:
    """Whether a plan sends units from somewhere else than the work it replaces: a location the
    order had no work at, or a SKU from a location that did not send it. Fewer or more units at
    the same locations (an edit's new quantities) are not a move."""
    before = {location_id for _, location_id in current}
    sent = {key for key, units in current.items() if units > 0}
    skus_before = {sku for sku, _ in sent}
    return any(
        p.location_id not in before or (p.sku in skus_before and (p.sku, p.location_id) not in sent)
        for p in plan.lines
    )


async def route_order(
    services: Services, principal: Principal, order_id: str, *, dry_run: bool
) -> RouteOutcome:
    """Where the order would route now (a dry run reads only); a commit moves its not-started
    work there, and the agent's check is part of the order's record even when nothing moved."""
    if not principal.can(Permission.ROUTE_ORDERS):
        raise Forbidden("this role may not route orders")
    await refresh_order_stock(services, order_id)
    now = services.clock()
    if dry_run:
        async with services.store.read() as uow:
            order = await _routable(uow, order_id)
            found = await decide_again(services, uow, order, await _lines(uow, order), lock=False, now=now)
            if found is None:
                raise _nothing_to_route()
            return RouteOutcome(order.id, detached(found.record), changed=found.changed, dry_run=True)

    async def commit() -> RouteOutcome:
        async with services.store.write() as uow:
            order = await _routable(uow, order_id, lock=True)
            if held_before_routing(order):
                raise InvalidTransition(
                    "the order is held before it was routed: releasing the hold routes it",
                    field=("order_id",),
                )
            outcome = await replan(
                services, uow, order, actor=principal.subject, now=now, reason="re-routed by an agent"
            )
            if outcome is None:
                raise _nothing_to_route()
            record, changed, _ = outcome
            if not changed:
                uow.orders.add_decision(record)
        return RouteOutcome(order.id, record, changed=changed, dry_run=False)

    return await routed_again_if_closed(commit)


async def route_shortfalls(
    services: Services,
    skus: Sequence[str] | None = None,
    *,
    at_most: int | None = None,
    sweep: bool = False,
) -> int:
    """Work at a node where the ERP's count now leaves fewer units than are allocated there (a
    count found them gone, the ERP sold them elsewhere) is routed again before an associate finds
    the shelf short: at each such position the newest orders' not-started work first, until what
    they hold covers the units missing (`models.replanning.next_to_route`), each order moved as
    an agent's routeOrder would move it, by the system. An order no other node can take keeps its
    work, and the next newest is tried instead (a pickup the store must keep, an order that could
    ship from elsewhere behind it); where none can move, the pick will be short. An order on hold
    keeps its work and counts as covering (once released, the next pass moves it). Of these SKUs,
    or every position; at most `at_most` orders tried (an ERP notice's answer waits for them; the
    backorder loop's round takes the rest). Each order's other SKUs are read from the ERP first
    where past their TTL, as routeOrder reads them. A `sweep` (the backorder loop's round, every
    few seconds) routes from the stored figures instead, and leaves the orders that could not move
    within `STUCK_FOR` (counted as staying) unless more units of their SKUs are free since (however
    the gateway learnt of them: a read past the TTL, a cancellation), so work no node can take
    spends neither the ERP's 60 requests a minute nor a transaction on every round; an ERP notice
    (stock changed) tries them all. Returns the orders whose work moved."""
    async with services.store.read() as uow:
        short = await uow.inventory.over_committed(skus)
        if not short:
            return 0
        work = movable_by_order(await uow.orders.work_at(sorted(short)))
        stuck = await _still_stuck(services, uow, work) if sweep else []
    tried: set[str] = set(stuck)
    staying: set[str] = set(stuck)
    moved = 0
    while at_most is None or len(tried) - len(stuck) < at_most:
        order_id = next_to_route(short, work, tried=tried, staying=staying)
        if order_id is None:
            break
        tried.add(order_id)
        outcome = await _route_short(services, order_id, read_first=not sweep)
        moved += outcome is Shortfall.MOVED
        if outcome is Shortfall.STAYS:
            staying.add(order_id)
        else:
            services.stuck_lately.forget([order_id])
    await _note_stuck(services, work, staying - set(stuck))
    return moved


async def _still_stuck(services: Services, uow: UnitOfWork, work: Sequence[HeldWork]) -> list[str]:
    """The orders a pass could not move within `STUCK_FOR` and for whose SKUs no more units are
    free since (a count, a receipt or a cancellation elsewhere, however the gateway learnt of it)."""
    noted = services.stuck_lately.of(held_here.order_id for held_here in work)
    if not noted:
        return []
    skus = skus_by_order(work)
    free = await uow.inventory.free_units(sorted({sku for order_id in noted for sku in skus[order_id]}))
    return still_stuck(noted, {o: services.stuck_lately.mark(o) for o in noted}, skus, free)


async def _note_stuck(services: Services, work: Sequence[HeldWork], orders: set[str]) -> None:
    """Remember the orders that could not move, each with the units free for its SKUs now."""
    if not orders:
        return
    skus = skus_by_order(work)
    async with services.store.read() as uow:
        free = await uow.inventory.free_units(sorted({sku for order_id in orders for sku in skus[order_id]}))
    marks = {order_id: free_for(skus[order_id], free) for order_id in orders}
    services.stuck_lately.note(sorted(orders), marks)


class Shortfall(Enum):
    """What routing an order at a short position again did."""

    MOVED = "moved"
    LEFT = "left"  # held (once released, the next pass moves it) or finished meanwhile: it counts as going
    STAYS = "stays"  # no other node can take it: its units no longer count, the next order is tried


async def _route_short(services: Services, order_id: str, *, read_first: bool) -> Shortfall:
    if read_first:
        await refresh_order_stock(services, order_id)
    now = services.clock()

    async def commit() -> Shortfall:
        async with services.store.write() as uow:
            order = await _routable(uow, order_id, lock=True)
            if order.status is OrderStatus.ON_HOLD:
                return Shortfall.LEFT  # an agent is looking at it; once released, the next pass moves it
            outcome = await replan(
                services, uow, order, actor=SHORTFALL, now=now, reason="its units were counted gone"
            )
            if outcome is None:
                return Shortfall.LEFT  # nothing open to route: its work was released
            return Shortfall.MOVED if outcome[1] else Shortfall.STAYS

    try:
        return await routed_again_if_closed(commit)
    except ValidationFailed as refused:  # NO_ROUTE: the work stays where it is
        log.debug("order %s keeps its work at a short position: %s", order_id, refused)
        return Shortfall.STAYS
    except DomainError:  # finished or gone meanwhile
        return Shortfall.LEFT


async def _routable(uow: UnitOfWork, order_id: str, *, lock: bool = False) -> Order:
    order = await (uow.orders.lock(order_id, EVERYTHING) if lock else _read(uow, order_id))
    if order is None:
        raise NotFound("no such order", field=("order_id",))
    if order.status in FINISHED:
        raise InvalidTransition(
            f"a {order.status.value} order has nothing left to route", field=("order_id",)
        )
    return order


async def _read(uow: UnitOfWork, order_id: str) -> Order | None:
    return (await uow.orders.by_ids([order_id], EVERYTHING)).get(order_id)


async def _lines(uow: UnitOfWork, order: Order) -> list[OrderLine]:
    return (await uow.orders.lines_by_order_ids([order.id])).get(order.id, [])


def _nothing_to_route() -> ValidationFailed:
    return ValidationFailed(
        [
            Problem(
                "NOTHING_TO_ROUTE",
                "every open unit is already being worked on or waits for supply",
                ("order_id",),
            )
        ]
    )


def detached(record: RoutingDecisionRecord) -> RoutingDecisionRecord:
    """A copy that outlives its transaction (a preview's is never written)."""
    return RoutingDecisionRecord(
        order_id=record.order_id,
        decided_at=record.decided_at,
        chosen=list(record.chosen),
        candidates=list(record.candidates),
        inputs=dict(record.inputs),
    )


async def decide_again(
    services: Services,
    uow: UnitOfWork,
    order: Order,
    lines: Sequence[LineUnits],
    *,
    lock: bool,
    now: datetime,
) -> Replanned | None:
    """Route every unit of `lines` that no node has started on, counting the units the order's
    own not-started work holds as free; reads only (`lock` takes the stock rows' locks, for a
    plan that will be applied). None when nothing is open to route."""
    shares, started, movable = await _work(uow, order)
    wants = still_to_route(lines, started, await _waiting(uow, order))
    current = held(movable)
    if not wants:
        return None
    excluded = {fo.location_id for fo in shares if fo.status is FulfillmentOrderStatus.REJECTED}
    shipping = order.delivery_method is DeliveryMethod.SHIP
    sources = source_locations(
        await uow.catalog.locations(), order.channel, order.pickup_location_id, ship=shipping
    )
    point = locate(services, Destination.of(order.shipping_address)) if shipping else None
    if lock:  # the work moved may hold SKUs no longer wanted (a line an edit removed): theirs too
        await uow.inventory.lock_positions_of({w.sku for w in wants} | {sku for sku, _ in current})
    view = await stock_view(services, uow, [w.sku for w in wants], sources, point, set(), lock=lock)
    decision, _ = await decide(
        services,
        uow,
        wants,
        sources,
        with_freed(view, current),
        channel=order.channel,
        excluded=dict.fromkeys(excluded, "rejected this order"),
    )
    record = RoutingDecisionRecord.of(order.id, decision, now)
    if decision.chosen is None:
        return Replanned(record, None, bool(current), movable, view)
    plan = decision.chosen.plan
    changed = Counter({(p.sku, p.location_id): p.quantity for p in plan.lines}) != current
    return Replanned(record, plan, changed, movable, view, moves(plan, current), decision.room)


async def replan(
    services: Services,
    uow: UnitOfWork,
    order: Order,
    *,
    actor: str,
    now: datetime,
    reason: str,
) -> tuple[RoutingDecisionRecord, bool, bool] | None:
    """Route the order's open units again and move its not-started work to the new plan when
    it differs (when it is the same, nothing is touched): the decision, whether the work
    changed, and whether units now go from elsewhere (`moves`). None when there is nothing open to
    route (any not-started work is then released). Raises NO_ROUTE, with nothing changed, when
    no location can take the units."""
    lines = await _lines(uow, order)
    found = await decide_again(services, uow, order, lines, lock=True, now=now)
    if found is None:
        _, _, movable = await _work(uow, order)
        await _release(uow, order, movable, actor=actor, now=now, reason=reason)
        return None
    if found.plan is None:
        raise no_route()
    if found.changed:
        await _move(uow, order, found, found.plan, actor=actor, now=now, reason=reason)
    return found.record, found.changed, found.moved


def no_route() -> ValidationFailed:
    return ValidationFailed(
        [
            Problem(
                "NO_ROUTE",
                "no location can take the open units now; the order keeps its current allocation",
                ("order_id",),
            )
        ]
    )


async def _work(uow: UnitOfWork, order: Order) -> tuple[list[FulfillmentOrder], Counter[str], list[Work]]:
    """The order's fulfilment orders; the units nodes have started on, per SKU; and the work no
    node has started, which routing may move."""
    shares = (await uow.orders.fulfillment_orders_by_order_ids([order.id])).get(order.id, [])
    fo_lines = await uow.orders.fulfillment_lines_by_fo_ids([fo.id for fo in shares])
    return (shares, *split_work(shares, fo_lines))


async def _waiting(uow: UnitOfWork, order: Order) -> Counter[str]:
    """The order's units waiting for supply, per SKU."""
    return waiting_units((await uow.inventory.backorders_by_order_ids([order.id])).get(order.id, []))


async def _move(
    uow: UnitOfWork, order: Order, found: Replanned, plan: Plan, *, actor: str, now: datetime, reason: str
) -> None:
    """Work at a node the new plan still uses is amended in place (the node keeps its fulfilment
    order and where it got to); work at a node the plan drops is cancelled; new nodes get new work."""
    changes = node_changes(plan, found.movable)
    await _release(uow, order, changes.dropped, actor=actor, now=now, reason=reason)
    lines_now = await _lines(uow, order)
    for location_id, (fo, mine) in changes.kept.items():
        await _amend(
            uow, order, fo, mine, changes.planned[location_id], lines_now, found.view, actor=actor, now=now
        )
    opened = (
        await commit_plan(
            uow, order, lines_now, changes.fresh, found.view, actor=actor, now=now, room=found.room
        )
        if changes.fresh.lines
        else Opened([], {}, {})
    )
    uow.orders.add_decision(found.record)
    if found.moved:  # the customer hears "from another location" only when it is so
        await uow.events.append(
            order,
            EventType.ORDER_REROUTED,
            actor=actor,
            occurred_at=now,
            data={"from": sorted({loc for _, loc in held(found.movable)}), "to": plan.locations},
        )
    await announce_opened(uow, order, opened, actor=actor, now=now)
    promised, before = estimate(found.view, plan, order_clock(order, now), room=found.room), order.promised_on
    if promised is not None and order.delivery_method is DeliveryMethod.SHIP:
        order.promised_on = promised  # a plan made afresh: its day, earlier or later
    order.updated_at = now
    uow.save(order)
    await announce_delay(uow, order, before, actor=actor, now=now)


async def _amend(
    uow: UnitOfWork,
    order: Order,
    fo: FulfillmentOrder,
    mine: list[PlanLine],
    wanted: Counter[str],
    lines: list[OrderLine],
    view: dict[str, SkuStock],
    *,
    actor: str,
    now: datetime,
) -> None:
    """Make a node's not-started work hold `wanted` units per SKU: release what it no longer
    needs, allocate what it needs more, and change its lines; its id and status stay."""
    less, more = amendment(mine, wanted, fo.location_id)
    if not less and not more:
        return
    if less:
        await uow.inventory.settle(less, LedgerKind.RELEASE, order_id=order.id, actor=actor, now=now)
    if more:
        await allocate(uow, order, more, view, actor=actor, now=now)
    rows = (await uow.orders.fulfillment_lines_by_fo_ids([fo.id])).get(fo.id, [])
    line_by_sku = {line.sku: line for line in lines}
    for row in rows:
        if wanted[row.sku]:
            row.quantity = wanted[row.sku]
            uow.save(row)
        else:
            await uow.remove(row)
    present = {row.sku for row in rows}
    uow.save(
        *(
            FulfillmentOrderLine(
                fulfillment_order_id=fo.id, order_line_id=line_by_sku[sku].id, sku=sku, quantity=units
            )
            for sku, units in wanted.items()
            if units and sku not in present
        )
    )
    fo.updated_at = now
    uow.save(fo)
    await uow.flush()
    await erp_sync.promise_amendments(uow, order, [fo.location_id], now)
    await uow.events.append(
        order,
        EventType.FULFILLMENT_CHANGED,
        actor=actor,
        occurred_at=now,
        data={"fulfillment_order_id": fo.id, "lines": dict(sorted(wanted.items()))},
        fulfillment_order=fo,
    )


def with_freed(view: dict[str, SkuStock], freed: Counter[tuple[str, str]]) -> dict[str, SkuStock]:
    """The view as it would be with the order's own not-started units back on the shelf: those
    still there (`still_held`; none where the ERP has since counted the node's units gone)."""
    if not freed:
        return view
    return {
        sku: dataclasses.replace(
            stock,
            locations=[
                dataclasses.replace(row, available=row.available + _still_held(stock, row, freed))
                for row in stock.locations
            ],
        )
        for sku, stock in view.items()
    }


def _still_held(stock: SkuStock, row: LocationStock, freed: Counter[tuple[str, str]]) -> int:
    own = freed[(stock.sku, row.location.id)]
    if not own:
        return 0
    node = next((n for n in stock.nodes if n.location_id == row.location.id), None)
    return own if node is None else still_held(node, own)


async def _release(
    uow: UnitOfWork,
    order: Order,
    movable: list[tuple[FulfillmentOrder, list[PlanLine]]],
    *,
    actor: str,
    now: datetime,
    reason: str,
) -> None:
    # released in one call: its positions are taken in (sku, location) order, as every writer does
    releasing = [p for _, mine in movable for p in mine]
    await uow.inventory.settle(releasing, LedgerKind.RELEASE, order_id=order.id, actor=actor, now=now)
    for fo, _ in movable:
        fo.status = next_fulfillment_status(fo.status, FulfillmentAction.CANCEL, fo.delivery_method)
        fo.updated_at = now
        uow.save(fo)
        await uow.events.append(
            order,
            EventType.FULFILLMENT_CANCELLED,
            actor=actor,
            occurred_at=now,
            data={"fulfillment_order_id": fo.id, "reason": reason},
            fulfillment_order=fo,
        )
    if movable:  # the ERP's sales orders there no longer carry these units
        await erp_sync.promise_amendments(uow, order, [fo.location_id for fo, _ in movable], now)
    await uow.flush()
