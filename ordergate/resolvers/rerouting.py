"""An agent asks where an order would route now, and may move its not-yet-started work there.

Work a node has started (picking, packed, waiting at the counter) stays where it is; open,
accepted and held units are routed again with everything else still open, never to a node
that already rejected the order. A node the new plan still uses keeps its fulfilment order,
amended to the new units (an edit that adds a mug does not make the store accept its work
again); a node the plan drops has its work cancelled; a new node gets new work. A dry run goes
through the very same steps in a transaction that is rolled back, so what it shows is what a
commit would do. Edits re-plan through the same `replan`.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from ordergate.models.allocation import Plan, PlanLine, Want
from ordergate.models.errors import Forbidden, InvalidTransition, NotFound, Problem, ValidationFailed
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
from ordergate.models.order import DeliveryMethod, Order, OrderLine, OrderStatus
from ordergate.models.routing import RoutingDecisionRecord
from ordergate.models.scope import OrderScope
from ordergate.resolvers import erp_sync
from ordergate.resolvers.allocation import Opened, allocate, announce_opened, commit_plan
from ordergate.resolvers.inventory import Destination, SkuStock, locate, source_locations, stock_view
from ordergate.resolvers.routing import decide, estimate
from ordergate.resolvers.services import Services
from ordergate.store.unit_of_work import UnitOfWork

EVERYTHING = OrderScope(everything=True)
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
FINISHED = frozenset({OrderStatus.COMPLETED, OrderStatus.CANCELLED})


@dataclass(frozen=True)
class RouteOutcome:
    order_id: str
    decision: RoutingDecisionRecord
    changed: bool
    dry_run: bool


class _Undo(Exception):
    """Rolls the routing transaction back and carries what it found out."""

    def __init__(self, outcome: RouteOutcome) -> None:
        self.outcome = outcome


async def route_order(
    services: Services, principal: Principal, order_id: str, *, dry_run: bool
) -> RouteOutcome:
    if not principal.can(Permission.ROUTE_ORDERS):
        raise Forbidden("this role may not route orders")
    now = services.clock()
    try:
        async with services.store.write() as uow:
            outcome = await _route(services, uow, principal, order_id, dry_run=dry_run, now=now)
            if dry_run or not outcome.changed:
                raise _Undo(outcome)
    except _Undo as undo:
        outcome = undo.outcome
        if not dry_run:  # the agent's check is part of the order's record even when nothing moved
            async with services.store.write() as uow:
                uow.orders.add_decision(detached(outcome.decision))
        return outcome
    return outcome


def detached(record: RoutingDecisionRecord) -> RoutingDecisionRecord:
    """A copy that outlives its transaction (a dry run's is rolled back)."""
    return RoutingDecisionRecord(
        order_id=record.order_id,
        decided_at=record.decided_at,
        chosen=list(record.chosen),
        candidates=list(record.candidates),
        inputs=dict(record.inputs),
    )


async def _route(
    services: Services, uow: UnitOfWork, principal: Principal, order_id: str, *, dry_run: bool, now: datetime
) -> RouteOutcome:
    order = await uow.orders.lock(order_id, EVERYTHING)
    if order is None:
        raise NotFound("no such order", field=("orderId",))
    if order.status in FINISHED:
        raise InvalidTransition(f"a {order.status.value} order has nothing left to route", field=("orderId",))
    outcome = await replan(
        services,
        uow,
        order,
        actor=principal.subject,
        now=now,
        reason="re-routed by an agent",
        commit=not dry_run,
    )
    if outcome is None:
        raise ValidationFailed(
            [Problem("NOTHING_TO_ROUTE", "every open unit is already being worked on", ("orderId",))]
        )
    record, changed = outcome
    return RouteOutcome(order.id, record, changed=changed, dry_run=dry_run)


async def replan(
    services: Services,
    uow: UnitOfWork,
    order: Order,
    *,
    actor: str,
    now: datetime,
    reason: str,
    commit: bool = True,
) -> tuple[RoutingDecisionRecord, bool] | None:
    """Route every open unit no node has started on, counting the units the order's own
    not-started work holds as free. When the plan differs from that work (and `commit`), the
    work is released and cancelled and the new plan opened; when it is the same, nothing is
    touched. None when there is nothing open to route (any not-started work is then released).
    Raises NO_ROUTE when no location can take the units (with nothing changed)."""
    lines = (await uow.orders.lines_by_order_ids([order.id])).get(order.id, [])
    shares = (await uow.orders.fulfillment_orders_by_order_ids([order.id])).get(order.id, [])
    fo_lines = await uow.orders.fulfillment_lines_by_fo_ids([fo.id for fo in shares])
    started: Counter[str] = Counter()
    movable: list[tuple[FulfillmentOrder, list[PlanLine]]] = []
    for fo in shares:
        mine = [PlanLine(line.sku, fo.location_id, line.quantity) for line in fo_lines.get(fo.id, [])]
        if fo.status in STARTED:
            started.update({p.sku: p.quantity for p in mine})
        elif fo.status in MOVABLE:
            movable.append((fo, mine))
    wants = [
        Want(line.sku, left)
        for line in lines
        if (left := line.quantity - line.quantity_fulfilled - line.quantity_cancelled - started[line.sku]) > 0
    ]
    current = Counter({(p.sku, p.location_id): p.quantity for _, mine in movable for p in mine})
    if not wants:
        if commit:
            await _release(uow, order, movable, actor=actor, now=now, reason=reason)
        return None

    excluded = {fo.location_id for fo in shares if fo.status is FulfillmentOrderStatus.REJECTED}
    everywhere = await uow.catalog.locations()
    shipping = order.delivery_method is DeliveryMethod.SHIP
    sources = source_locations(everywhere, order.channel, order.pickup_location_id, ship=shipping)
    point = (
        locate(services, Destination(order.ship_country_code or "", order.ship_postal_code))
        if shipping
        else None
    )
    view = await stock_view(services, uow, [w.sku for w in wants], sources, point, set(), lock=True)
    decision, _ = await decide(
        services,
        uow,
        wants,
        sources,
        with_freed(view, current),
        excluded=dict.fromkeys(excluded, "rejected this order"),
    )
    record = RoutingDecisionRecord.of(order.id, decision, now)
    if decision.chosen is None:
        if not commit:
            return record, bool(current)
        raise ValidationFailed(
            [
                Problem(
                    "NO_ROUTE",
                    "no location can take the open units now; the order keeps its current allocation",
                    ("orderId",),
                )
            ]
        )
    plan = decision.chosen.plan
    changed = Counter({(p.sku, p.location_id): p.quantity for p in plan.lines}) != current
    if not commit or not changed:
        return record, changed

    # Work at a node the new plan still uses is amended in place (the node keeps its fulfilment
    # order and where it got to); work at a node the plan drops is cancelled; new nodes get new work.
    planned: dict[str, Counter[str]] = {}
    for p in plan.lines:
        planned.setdefault(p.location_id, Counter())[p.sku] += p.quantity
    kept: dict[str, tuple[FulfillmentOrder, list[PlanLine]]] = {}
    dropped: list[tuple[FulfillmentOrder, list[PlanLine]]] = []
    for fo, mine in movable:
        if fo.location_id in planned and fo.location_id not in kept:
            kept[fo.location_id] = (fo, mine)
        else:
            dropped.append((fo, mine))
    await _release(uow, order, dropped, actor=actor, now=now, reason=reason)
    lines_now = (await uow.orders.lines_by_order_ids([order.id])).get(order.id, [])
    for location_id, (fo, mine) in kept.items():
        await _amend(uow, order, fo, mine, planned[location_id], lines_now, view, actor=actor, now=now)
    fresh = Plan(tuple(p for p in plan.lines if p.location_id not in kept))
    opened = (
        await commit_plan(uow, order, lines_now, fresh, view, actor=actor, now=now)
        if fresh.lines
        else Opened([], {}, {})
    )
    uow.orders.add_decision(record)
    await uow.events.append(
        order,
        EventType.ORDER_REROUTED,
        actor=actor,
        occurred_at=now,
        data={"from": sorted({loc for _, loc in current}), "to": plan.locations},
    )
    await announce_opened(uow, order, opened, actor=actor, now=now)
    promised = estimate(view, plan, now)
    if promised is not None and order.delivery_method is DeliveryMethod.SHIP:
        order.promised_on = promised
    order.updated_at = now
    uow.session.add(order)
    return record, True


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
    have = Counter({p.sku: p.quantity for p in mine})
    if have == wanted:
        return
    less = [PlanLine(sku, fo.location_id, have[sku] - wanted[sku]) for sku in have if have[sku] > wanted[sku]]
    more = [
        PlanLine(sku, fo.location_id, wanted[sku] - have[sku]) for sku in wanted if wanted[sku] > have[sku]
    ]
    if less:
        await uow.inventory.settle(less, LedgerKind.RELEASE, order_id=order.id, actor=actor, now=now)
    if more:
        await allocate(uow, order, more, view, actor=actor, now=now)
    rows = (await uow.orders.fulfillment_lines_by_fo_ids([fo.id])).get(fo.id, [])
    line_by_sku = {line.sku: line for line in lines}
    for row in rows:
        if wanted[row.sku]:
            row.quantity = wanted[row.sku]
            uow.session.add(row)
        else:
            await uow.session.delete(row)
    present = {row.sku for row in rows}
    uow.session.add_all(
        FulfillmentOrderLine(
            fulfillment_order_id=fo.id, order_line_id=line_by_sku[sku].id, sku=sku, quantity=units
        )
        for sku, units in wanted.items()
        if units and sku not in present
    )
    fo.updated_at = now
    uow.session.add(fo)
    await uow.session.flush()
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
    """The view as it would be with the order's own not-started units back on the shelf."""
    if not freed:
        return view
    return {
        sku: dataclasses.replace(
            stock,
            locations=[
                dataclasses.replace(row, available=row.available + freed[(sku, row.location.id)])
                for row in stock.locations
            ],
        )
        for sku, stock in view.items()
    }


async def _release(
    uow: UnitOfWork,
    order: Order,
    movable: list[tuple[FulfillmentOrder, list[PlanLine]]],
    *,
    actor: str,
    now: datetime,
    reason: str,
) -> None:
    for fo, mine in movable:
        await uow.inventory.settle(mine, LedgerKind.RELEASE, order_id=order.id, actor=actor, now=now)
        fo.status = next_fulfillment_status(fo.status, FulfillmentAction.CANCEL, fo.delivery_method)
        fo.updated_at = now
        uow.session.add(fo)
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
    await uow.session.flush()
