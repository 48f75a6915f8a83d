"""Work at a node: the queue, and each fulfilment-order move (accept, pick, pack, ready for
pickup, hand over, reject). A rejection re-routes the units elsewhere."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ordergate.connectors.storefront.base import PushedStatus
from ordergate.models.allocation import PlanLine, Want
from ordergate.models.errors import Forbidden, InvalidTransition, NotFound, Problem, ValidationFailed
from ordergate.models.events import EventType
from ordergate.models.fulfillment import (
    SHORT_PICKABLE,
    FulfillmentAction,
    FulfillmentOrder,
    FulfillmentOrderLine,
    FulfillmentOrderStatus,
    next_fulfillment_status,
    short_pick_problems,
)
from ordergate.models.identity import Permission, Principal
from ordergate.models.ids import new_id
from ordergate.models.inventory import LedgerKind
from ordergate.models.lifecycle import OrderAction, next_status
from ordergate.models.location import Location
from ordergate.models.movements import MovementKind
from ordergate.models.order import (
    DeliveryMethod,
    HoldReason,
    Order,
    OrderHold,
    OrderStatus,
    promise_later,
)
from ordergate.models.pagination import Page, check_page, decode_day_time_cursor, encode_cursor
from ordergate.models.scope import OrderScope
from ordergate.models.shipment import Shipment
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases import catalog, erp_sync, order_status, payments
from ordergate.usecases.allocation import announce_delay, announce_opened, commit_plan, routed_again_if_closed
from ordergate.usecases.inventory import Destination, locate, refresh_stock, source_locations, stock_view
from ordergate.usecases.routing import decide, estimate, order_clock, place_clock
from ordergate.usecases.routing import record as record_decision
from ordergate.usecases.services import Services

EVERYTHING = OrderScope(everything=True)
MAX_REASON = 500

EVENT_OF_ACTION: dict[FulfillmentAction, EventType] = {
    FulfillmentAction.ACCEPT: EventType.FULFILLMENT_ACCEPTED,
    FulfillmentAction.START_PICKING: EventType.FULFILLMENT_PICKING,
    FulfillmentAction.PACK: EventType.FULFILLMENT_PACKED,
    FulfillmentAction.SHIP: EventType.FULFILLMENT_SHIPPED,
    FulfillmentAction.MARK_READY_FOR_PICKUP: EventType.FULFILLMENT_READY_FOR_PICKUP,
    FulfillmentAction.CONFIRM_PICKUP: EventType.FULFILLMENT_PICKED_UP,
    FulfillmentAction.REJECT: EventType.FULFILLMENT_REJECTED,
    FulfillmentAction.CANCEL: EventType.FULFILLMENT_CANCELLED,
    FulfillmentAction.HOLD: EventType.FULFILLMENT_HELD,
    FulfillmentAction.RELEASE: EventType.FULFILLMENT_RELEASED,
}
# Moves that progress the work, which an order on hold must not make.
PROGRESS = frozenset(
    {
        FulfillmentAction.ACCEPT,
        FulfillmentAction.START_PICKING,
        FulfillmentAction.PACK,
        FulfillmentAction.SHIP,
        FulfillmentAction.MARK_READY_FOR_PICKUP,
        FulfillmentAction.CONFIRM_PICKUP,
    }
)


async def fulfillment_order_of_yours(
    uow: UnitOfWork,
    principal: Principal | None,
    fulfillment_order_id: str,
    *,
    field: tuple[str, ...],
) -> tuple[FulfillmentOrder, Location]:
    """The fulfilment order and its node, when the caller works there (`principal` None: the
    system, which works everywhere); NOT_FOUND otherwise."""
    found = (await uow.orders.fulfillment_orders_by_ids([fulfillment_order_id])).get(fulfillment_order_id)
    location = (
        (await uow.catalog.locations_by_ids([found.location_id])).get(found.location_id) if found else None
    )
    mine = location is not None and (principal is None or principal.works_at(location.code))
    if found is None or location is None or not mine:
        raise NotFound("no such fulfilment order among yours", field=field)
    return found, location


async def lock_work(
    uow: UnitOfWork, principal: Principal | None, fulfillment_order_id: str, *, field: tuple[str, ...]
) -> tuple[Order, FulfillmentOrder, Location]:
    """A fulfilment order (NOT_FOUND unless the caller works at its node; `principal` None: the
    system) and its order, both row-locked, the order first: the order every writer takes its
    locks in (an order, then its work, then stock rows), so that two writers of one order wait
    for each other instead of deadlocking. The work is read again under its lock."""
    found, location = await fulfillment_order_of_yours(uow, principal, fulfillment_order_id, field=field)
    order = await uow.orders.lock(found.order_id, EVERYTHING)
    locked = await uow.orders.lock_fulfillment_order(found.id)
    if order is None or locked is None:
        raise NotFound("no such fulfilment order", field=field)
    return order, locked, location


def queue_cursor(record: FulfillmentOrder) -> str:
    """Where a page of a node's queue ends: (starts_on, created_at, id), the queue's order. Work
    opened before start days were kept has the day it came in (what migration 0028 gave it)."""
    starts_on = record.starts_on or record.created_at.date()
    return encode_cursor(starts_on.isoformat(), record.created_at, record.id)


async def queue(
    services: Services,
    principal: Principal,
    location_id: str,
    statuses: Sequence[FulfillmentOrderStatus],
    first: int,
    after: str | None,
) -> Page[FulfillmentOrder]:
    if not principal.can(Permission.FULFIL):
        raise Forbidden("this role does not work fulfilment queues")
    check_page(first, services.policy.page_size_cap)
    key = decode_day_time_cursor(after) if after else None
    async with services.store.read() as uow:
        location = await catalog.location_of_yours(services, uow, principal, location_id)
        rows, has_next = await uow.orders.fulfillment_queue(location.id, statuses, first, key)
        total = await uow.orders.count_fulfillment_queue(location.id, statuses)
    return Page(rows, has_next, total)


async def move(
    services: Services,
    principal: Principal,
    fulfillment_order_id: str,
    action: FulfillmentAction,
    reason: str | None = None,
    damaged: bool = False,
) -> FulfillmentOrder:
    """One move of the transition table, by someone who works at the node, in one transaction
    with its consequences and its event. A rejection because the units are `damaged` (or
    missing) writes them off the node's stock, here and at the ERP, so the next order for them
    is not sent there."""
    if not principal.can(Permission.FULFIL):
        raise Forbidden("this role does not move fulfilment orders")
    if action is FulfillmentAction.REJECT and (not reason or not reason.strip() or len(reason) > MAX_REASON):
        raise ValidationFailed(
            [Problem("INVALID_REASON", f"give a reason of 1 to {MAX_REASON} characters", ("reason",))]
        )
    if action is FulfillmentAction.REJECT:
        await _refresh_work_stock(services, fulfillment_order_id)
    now = services.clock()

    async def moved() -> FulfillmentOrder:
        async with services.store.write() as uow:
            order, fulfillment_order, location = await lock_work(
                uow, principal, fulfillment_order_id, field=("id",)
            )
            if action in PROGRESS and order.status is OrderStatus.ON_HOLD:
                raise InvalidTransition("the order is on hold; release it first", field=("id",))
            fulfillment_order.status = next_fulfillment_status(
                fulfillment_order.status, action, fulfillment_order.delivery_method
            )
            fulfillment_order.updated_at = now
            uow.save(fulfillment_order)
            fo_lines = (await uow.orders.fulfillment_lines_by_fo_ids([fulfillment_order.id])).get(
                fulfillment_order.id, []
            )
            await uow.events.append(
                order,
                EVENT_OF_ACTION[action],
                actor=principal.subject,
                occurred_at=now,
                data={
                    "fulfillment_order_id": fulfillment_order.id,
                    "location": location.code,
                    "reason": reason,
                },
                fulfillment_order=fulfillment_order,
            )
            if action is FulfillmentAction.MARK_READY_FOR_PICKUP:
                # ready: the customer can come today, as the store's calendar has it
                order.promised_on = place_clock(DeliveryMethod.PICKUP, None, location, now).date()
                uow.save(order)
                order_status.promise_status(uow, order, PushedStatus.AWAITING_PICKUP, now)
            elif action is FulfillmentAction.CONFIRM_PICKUP:
                await fulfil_units(uow, order, fulfillment_order, fo_lines, principal, now)
            elif action is FulfillmentAction.REJECT:
                fulfillment_order.rejection_reason = reason
                why = f"rejected at {location.code} ({reason})"
                written_off = f"DAMAGED-{fulfillment_order.id[:8]}" if damaged else None
                await _send_on(
                    services,
                    uow,
                    order,
                    fulfillment_order,
                    location,
                    fo_lines,
                    principal,
                    now,
                    why,
                    written_off,
                )
        return fulfillment_order

    return await routed_again_if_closed(moved)


async def _refresh_work_stock(services: Services, fulfillment_order_id: str) -> None:
    """Before a node's units are routed elsewhere (`_reroute`, inside the associate's
    transaction): the ERP's stock of their SKUs read where it is past its TTL, as placeOrder
    reads its lines' before it routes (`rerouting.refresh_order_stock`)."""
    async with services.store.read() as uow:
        lines = (await uow.orders.fulfillment_lines_by_fo_ids([fulfillment_order_id])).get(
            fulfillment_order_id, []
        )
    await refresh_stock(services, sorted({line.sku for line in lines}))


def _plan_lines(
    fulfillment_order: FulfillmentOrder, fo_lines: Sequence[FulfillmentOrderLine]
) -> list[PlanLine]:
    return [PlanLine(line.sku, fulfillment_order.location_id, line.quantity) for line in fo_lines]


async def fulfil_units(
    uow: UnitOfWork,
    order: Order,
    fulfillment_order: FulfillmentOrder,
    fo_lines: Sequence[FulfillmentOrderLine],
    principal: Principal,
    now: datetime,
    shipment: Shipment | None = None,
) -> None:
    """The units left the node with the customer (in `shipment`, or handed over when None):
    lines fulfilled, stock shipped and the ERP's sales order to be fulfilled with them, and
    the order's statuses derived again from its lines."""
    await uow.inventory.settle(
        _plan_lines(fulfillment_order, fo_lines),
        LedgerKind.SHIP,
        order_id=order.id,
        actor=principal.subject,
        now=now,
    )
    location = (await uow.catalog.locations_by_ids([fulfillment_order.location_id]))[
        fulfillment_order.location_id
    ]
    erp_sync.promise_fulfilment(
        uow,
        order,
        location,
        [(line.sku, line.quantity) for line in fo_lines if line.quantity > 0],
        reference=shipment.tracking_number if shipment is not None else f"HANDOVER-{fulfillment_order.id}",
        task_key=f"fulfil:{fulfillment_order.id}",
        now=now,
        carrier=shipment.carrier if shipment is not None else None,
        tracking_url=shipment.tracking_url if shipment is not None else None,
    )
    lines = (await uow.orders.lines_by_order_ids([order.id])).get(order.id, [])
    shipped = {line.order_line_id: line.quantity for line in fo_lines}
    for line in lines:
        line.quantity_fulfilled += shipped.get(line.id, 0)
        uow.save(line)
    await order_status.derive(uow, order, lines, actor=principal.subject, now=now)
    await payments.promise_settlement(uow, order, fulfillment_order.id, lines, now)


async def _send_on(
    services: Services,
    uow: UnitOfWork,
    order: Order,
    fulfillment_order: FulfillmentOrder,
    location: Location,
    fo_lines: Sequence[FulfillmentOrderLine],
    principal: Principal,
    now: datetime,
    why: str,
    written_off: str | None,
) -> None:
    """Units a node will not send (rejected, or short at the pick) routed elsewhere (`_reroute`),
    and, when they are damaged or missing, written off its stock as `written_off` says (the
    adjustment's reference after the order's number and the node's code)."""
    await _reroute(services, uow, order, fulfillment_order, fo_lines, principal, now, why)
    if written_off is not None:
        reference = f"{order.number}-{location.code}-{written_off}"
        await _write_off(uow, order, fulfillment_order, location, fo_lines, principal, now, reference, why)


async def _reroute(
    services: Services,
    uow: UnitOfWork,
    order: Order,
    rejected: FulfillmentOrder,
    fo_lines: Sequence[FulfillmentOrderLine],
    principal: Principal,
    now: datetime,
    why: str,
) -> None:
    """Release the rejecting node's units and allocate them elsewhere, never at a node that
    already rejected this order. A pickup order, or one nobody else can serve, goes on hold
    for an agent."""
    # every position of these SKUs locked before the release: routing them elsewhere locks the rest
    await uow.inventory.lock_positions_of(line.sku for line in fo_lines)
    await uow.inventory.settle(
        _plan_lines(rejected, fo_lines),
        LedgerKind.RELEASE,
        order_id=order.id,
        actor=principal.subject,
        now=now,
    )
    await erp_sync.promise_amendments(uow, order, [rejected.location_id], now)
    shares = (await uow.orders.fulfillment_orders_by_order_ids([order.id])).get(order.id, [])
    excluded = {fo.location_id for fo in shares if fo.status is FulfillmentOrderStatus.REJECTED} | {
        rejected.location_id
    }
    wants = [Want(line.sku, line.quantity) for line in fo_lines]
    if order.delivery_method is not DeliveryMethod.SHIP:
        # The customer chose the store: only an agent can move a pickup elsewhere.
        await _hold_for_agent(uow, order, why, principal, now)
        return
    sources = source_locations(await uow.catalog.locations(), order.channel, None, ship=True)
    point = locate(services, Destination.of(order.shipping_address))
    view = await stock_view(services, uow, [w.sku for w in wants], sources, point, set(), lock=True)
    decision, _ = await decide(
        services,
        uow,
        wants,
        sources,
        view,
        channel=order.channel,
        excluded=dict.fromkeys(excluded, "rejected this order"),
    )
    record_decision(uow, order.id, decision, now)
    if decision.chosen is None:
        await _hold_for_agent(uow, order, why, principal, now)
        return
    plan = decision.chosen.plan
    lines = (await uow.orders.lines_by_order_ids([order.id])).get(order.id, [])
    opened = await commit_plan(
        uow, order, lines, plan, view, actor=principal.subject, now=now, room=decision.room
    )
    promised = order.promised_on
    if promise_later(order, estimate(view, plan, order_clock(order, now), room=decision.room)):
        uow.save(order)
    await uow.events.append(
        order,
        EventType.ORDER_REROUTED,
        actor=principal.subject,
        occurred_at=now,
        data={"from": rejected.location_id, "to": plan.locations},
    )
    await announce_delay(uow, order, promised, actor=principal.subject, now=now)
    await announce_opened(uow, order, opened, actor=principal.subject, now=now)


async def _write_off(
    uow: UnitOfWork,
    order: Order,
    rejected: FulfillmentOrder,
    location: Location,
    fo_lines: Sequence[FulfillmentOrderLine],
    principal: Principal,
    now: datetime,
    reference: str,
    why: str,
) -> None:
    """These units are damaged or missing: gone from the node's stock and the ERP's (`reference`
    names the adjustment, once)."""
    await uow.inventory.write_off(
        _plan_lines(rejected, fo_lines), order_id=order.id, actor=principal.subject, now=now
    )
    erp_sync.promise_adjustment(
        uow,
        MovementKind.WRITE_OFF,
        location,
        [(line.sku, -line.quantity) for line in fo_lines if line.quantity > 0],
        order_id=order.id,
        reference=reference,
        reason=f"damaged or missing: {why}"[:255],
        now=now,
    )


async def _hold_for_agent(
    uow: UnitOfWork, order: Order, why: str, principal: Principal, now: datetime
) -> None:
    if order.status is not OrderStatus.ON_HOLD:
        order.status_before_hold, order.status = order.status, next_status(order.status, OrderAction.HOLD)
    uow.orders.add_hold(
        OrderHold(
            order_id=order.id,
            reason=HoldReason.OTHER,
            note=f"{why}; no other location can take it over"[:500],
            placed_by=principal.subject,
            placed_at=now,
        )
    )
    order.updated_at = now
    uow.save(order)
    await uow.events.append(
        order,
        EventType.ORDER_HELD,
        actor=principal.subject,
        occurred_at=now,
        data={"reason": HoldReason.OTHER},
    )


async def report_short_pick(
    services: Services,
    principal: Principal,
    fulfillment_order_id: str,
    missing: Sequence[tuple[str, int]],
    *,
    write_off: bool = True,
) -> FulfillmentOrder:
    """The node found fewer units than its work asks for: what it has goes on, the missing units
    are written off its stock (and the ERP's) and routed elsewhere (the sales order there is
    amended), or the order waits for an agent when no other node can take them. Without
    `write_off` the units stay this node's stock (they are there, but cannot go out from here
    now): a partial fulfilment, the rest re-routed."""
    if not principal.can(Permission.FULFIL):
        raise Forbidden("this role does not pick")
    await _refresh_work_stock(services, fulfillment_order_id)
    now = services.clock()

    async def reported() -> FulfillmentOrder:
        async with services.store.write() as uow:
            order, fulfillment_order, location = await lock_work(
                uow, principal, fulfillment_order_id, field=("fulfillment_order_id",)
            )
            if fulfillment_order.status not in SHORT_PICKABLE:
                raise InvalidTransition(
                    f"a short pick is reported while picking, not at {fulfillment_order.status}",
                    field=("fulfillment_order_id",),
                )
            fo_lines = (await uow.orders.fulfillment_lines_by_fo_ids([fulfillment_order.id])).get(
                fulfillment_order.id, []
            )
            problems = short_pick_problems(fo_lines, missing)
            if problems:
                raise ValidationFailed(problems)
            short = await _take_short(uow, fo_lines, missing)
            fulfillment_order.updated_at = now
            uow.save(fulfillment_order)
            what = ", ".join(f"{x.quantity} x {x.sku}" for x in short)
            why = (
                f"short at {location.code}: {what}" if write_off else f"not from {location.code} now: {what}"
            )
            written_off = f"SHORT-{new_id()[:8]}" if write_off else None
            await _send_on(
                services, uow, order, fulfillment_order, location, short, principal, now, why, written_off
            )
        return fulfillment_order

    return await routed_again_if_closed(reported)


async def _take_short(
    uow: UnitOfWork, fo_lines: Sequence[FulfillmentOrderLine], missing: Sequence[tuple[str, int]]
) -> list[FulfillmentOrderLine]:
    """Lower the work's lines by the missing units (a line with none left goes); the missing
    units as lines of their own."""
    left = dict[str, int]()
    for sku, count in missing:
        left[sku] = left.get(sku, 0) + count
    short: list[FulfillmentOrderLine] = []
    for line in fo_lines:
        take = min(line.quantity, left.get(line.sku, 0))
        if take > 0:
            line.quantity -= take
            left[line.sku] -= take
            if line.quantity == 0:
                await uow.remove(line)
            else:
                uow.save(line)
            short.append(
                FulfillmentOrderLine(
                    fulfillment_order_id=line.fulfillment_order_id,
                    order_line_id=line.order_line_id,
                    sku=line.sku,
                    quantity=take,
                )
            )
    return short
