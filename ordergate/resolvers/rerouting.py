"""An agent asks where an order would route now, and may move its not-yet-started work there.

Work a node has started (picking, packed, waiting at the counter) stays where it is; open,
accepted and held fulfilment orders are released and routed again with everything else
still open, never to a node that already rejected the order. A dry run goes through the very
same steps in a transaction that is rolled back, so what it shows is what a commit would do.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from ordergate.models.allocation import PlanLine, Want
from ordergate.models.errors import Forbidden, InvalidTransition, NotFound, Problem, ValidationFailed
from ordergate.models.events import EventType
from ordergate.models.fulfillment import (
    FulfillmentAction,
    FulfillmentOrder,
    FulfillmentOrderStatus,
    next_fulfillment_status,
)
from ordergate.models.identity import Permission, Principal
from ordergate.models.inventory import LedgerKind
from ordergate.models.order import DeliveryMethod, OrderStatus
from ordergate.models.routing import RoutingDecisionRecord
from ordergate.models.scope import OrderScope
from ordergate.resolvers.allocation import announce_opened, commit_plan
from ordergate.resolvers.inventory import Destination, locate, source_locations, stock_view
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
                uow.orders.add_decision(_copy(outcome.decision))
        return outcome
    await services.broker.notify()
    services.outbox_ready.set()
    return outcome


def _copy(record: RoutingDecisionRecord) -> RoutingDecisionRecord:
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
    if not wants:
        raise ValidationFailed(
            [Problem("NOTHING_TO_ROUTE", "every open unit is already being worked on", ("orderId",))]
        )
    current = Counter({(p.sku, p.location_id): p.quantity for _, mine in movable for p in mine})

    for fo, mine in movable:
        await uow.inventory.settle(
            mine, LedgerKind.RELEASE, order_id=order.id, actor=principal.subject, now=now
        )
        fo.status = next_fulfillment_status(fo.status, FulfillmentAction.CANCEL, fo.delivery_method)
        fo.updated_at = now
        uow.session.add(fo)
    await uow.session.flush()

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
        services, uow, wants, sources, view, excluded=dict.fromkeys(excluded, "rejected this order")
    )
    record = RoutingDecisionRecord.of(order.id, decision, now)
    if decision.chosen is None:
        if dry_run:
            return RouteOutcome(order.id, record, changed=bool(current), dry_run=True)
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
    wanted = Counter({(p.sku, p.location_id): p.quantity for p in plan.lines})
    changed = wanted != current
    if dry_run or not changed:
        return RouteOutcome(order.id, record, changed=changed, dry_run=dry_run)

    lines_now = (await uow.orders.lines_by_order_ids([order.id])).get(order.id, [])
    opened = await commit_plan(uow, order, lines_now, plan, view, actor=principal.subject, now=now)
    uow.orders.add_decision(record)
    for fo, _ in movable:
        await uow.events.append(
            order,
            EventType.FULFILLMENT_CANCELLED,
            actor=principal.subject,
            occurred_at=now,
            data={"fulfillment_order_id": fo.id, "reason": "re-routed by an agent"},
            fulfillment_order=fo,
        )
    await uow.events.append(
        order,
        EventType.ORDER_REROUTED,
        actor=principal.subject,
        occurred_at=now,
        data={"from": sorted({loc for _, loc in current}), "to": plan.locations},
    )
    await announce_opened(uow, order, opened, actor=principal.subject, now=now)
    promised = estimate(view, plan, now)
    if promised is not None and order.delivery_method is DeliveryMethod.SHIP:
        order.promised_on = promised
    order.updated_at = now
    uow.session.add(order)
    return RouteOutcome(order.id, record, changed=True, dry_run=False)
