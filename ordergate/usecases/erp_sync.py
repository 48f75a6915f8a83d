"""Confirmed orders reach the ERP as sales orders, one per shipping location, through the
outbox: promised in the order's transaction, pushed by a relay until the ERP has them. Units that
then leave a node (shipped, handed over, written off) or come back to it (a return restocked)
reach it the same way, as a fulfilment of the sales order or a stock adjustment, each with the
stock movements it carries (`models.movements`: how a later snapshot is joined to them).

A sales order holds the units that the live (not cancelled, not rejected) fulfilment orders at
its location hold. When units are cancelled or moved elsewhere, an amendment is promised the same
way; its handler reads what the sales order should hold at the time it runs and makes the ERP's
match, so amendments may repeat, pile up or run late without harm. An amendment waits (is retried)
until the push it amends has been done.

Once units of a sales order were delivered the ERP closes it: its rows no longer change. Units
that come to the location after that (a backorder allocated there, work routed back) go to a
continuation, `<key>-2`, pushed and remembered like the first (`models.erp.plan_sales_orders`);
a fulfilment takes its units from the chain's open rows, first sales order first, and waits for
the amendments promised before it. Units cancelled or moved away after their sales order was
closed stay in it at the ERP, shown there as still to deliver: staff are told which
(ERP_UNITS_KEPT), so that nobody working from the ERP sends them.

A storefront's coupon is shared over the rows of every node's sales orders, to the cent. What a
closed sales order booked of it is its own for good, so the open ones share the rest
(`models.erp.open_discounts`), read from the ERP when a coupon order is pushed or amended, and
every fulfilment of such an order has the other nodes' sales orders amended after it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from ordergate.connectors.erp.base import (
    ErpConnector,
    SalesOrderFulfilment,
    SalesOrderHeld,
    SalesOrderLine,
    SalesOrderPush,
    StockAdjustmentPush,
    StockLine,
)
from ordergate.connectors.errors import UpstreamRejected, UpstreamUnavailable
from ordergate.models.commands import is_stand_in
from ordergate.models.erp import (
    ErpSalesOrderRef,
    HeldSalesOrder,
    SalesOrderPlan,
    booked,
    continuation_key,
    open_discounts,
    plan_sales_orders,
)
from ordergate.models.events import EventType
from ordergate.models.fulfillment import FulfillmentOrderLine, FulfillmentOrderStatus
from ordergate.models.ids import new_id
from ordergate.models.location import Location
from ordergate.models.movements import MovementKind, StockMovement
from ordergate.models.order import Order, OrderLine
from ordergate.models.outbox import (
    ERP_FULFILMENT,
    ERP_SALES_ORDER,
    ERP_SALES_ORDER_AMEND,
    ERP_STOCK_ADJUSTMENT,
    OutboxTask,
    Permanent,
)
from ordergate.models.scope import OrderScope
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases.services import Services
from ordergate.usecases.settled import DoneWith

EVERYTHING = OrderScope(everything=True)
Chain = Sequence[tuple[str, HeldSalesOrder | None]]  # a location's sales orders, in order
GONE = frozenset({FulfillmentOrderStatus.CANCELLED, FulfillmentOrderStatus.REJECTED})
NOTHING_TO_PUSH = "nothing left to push"


class NotPushedYet(Exception):
    """An amendment came due before the push it amends: retried later, after it."""


def sales_order_key(order: Order, location: Location) -> str:
    """The outbox key of a location's sales order, also the ERP's idempotency key (the
    connector stores it in the sales order's own reference field and finds it by it)."""
    return f"{order.number}-{location.code}"


async def promise_sales_orders(
    uow: UnitOfWork, order: Order, locations: Sequence[Location], now: datetime
) -> None:
    """Add one push per location to the outbox, in the order's own transaction. A location that
    was promised its sales order before (work routed back to it) gets an amendment instead."""
    for location in locations:
        push = OutboxTask(
            kind=ERP_SALES_ORDER,
            key=sales_order_key(order, location),
            payload={"order_id": order.id, "location_id": location.id},
            available_at=now,
            created_at=now,
        )
        if not await uow.outbox.add_once(push):
            _promise_amendment(uow, order, location, now)
    for location in await _sharing_the_coupon(uow, order, {location.id for location in locations}):
        _promise_amendment(uow, order, location, now)


async def promise_amendments(
    uow: UnitOfWork, order: Order, location_ids: Iterable[str], now: datetime
) -> None:
    """Promise that the sales orders at these locations will be made to match the order again
    (units cancelled there, or moved away), in the transaction that changed it."""
    changed = set(location_ids)
    locations = list((await uow.catalog.locations_by_ids(sorted(changed))).values())
    locations += await _sharing_the_coupon(uow, order, changed)
    for location in sorted(locations, key=lambda location: location.code):
        _promise_amendment(uow, order, location, now)


async def _sharing_the_coupon(uow: UnitOfWork, order: Order, changed: set[str]) -> list[Location]:
    """The order's other nodes, when it carries a storefront's coupon: the coupon is shared over
    the units every node holds, to the cent (`models.erp.discount_shares`), so units changed at
    some nodes may move an odd cent between the others' shares, and their sales orders are
    amended too (an amendment sends every row's share as it is now). A node whose work is all
    gone holds no share."""
    if not order.discount:
        return []
    shares = (await uow.orders.fulfillment_orders_by_order_ids([order.id])).get(order.id, [])
    others = sorted({fo.location_id for fo in shares if fo.status not in GONE} - changed)
    found = await uow.catalog.locations_by_ids(others) if others else {}
    return sorted(found.values(), key=lambda location: location.code)


def _promise_amendment(uow: UnitOfWork, order: Order, location: Location, now: datetime) -> None:
    key = sales_order_key(order, location)
    uow.outbox.add(
        OutboxTask(
            kind=ERP_SALES_ORDER_AMEND,
            key=f"{key}~{new_id()}",
            payload={"order_id": order.id, "location_id": location.id, "sales_order": key},
            available_at=now,
            created_at=now,
        )
    )


async def push_sales_order(services: Services, task: OutboxTask) -> str | DoneWith:
    """The relay's handler for ERP_SALES_ORDER tasks: the ERP's id for the sales order (kept in
    the store for amendments), or NOTHING_TO_PUSH when every unit was cancelled or moved first
    (then a sales order an earlier try made is deleted: `_withdraw`)."""
    erp = _erp(services)
    wanted = await _sales_order(services, task.key, task.payload)
    if not wanted.lines:
        gone = None if task.first_try else await _withdraw(erp, wanted)
        return (
            NOTHING_TO_PUSH if gone is None else f"{NOTHING_TO_PUSH}: deleted {gone}, made by an earlier try"
        )
    erp_id = await erp.push_sales_order(wanted, first=task.first_try)
    now = services.clock()

    async def remember(uow: UnitOfWork) -> None:
        await _remember_in(uow, task.key, task.payload, erp_id, now)

    return DoneWith(erp_id, remember)  # the reference kept as the task is settled done


async def amend_sales_order(services: Services, task: OutboxTask) -> str:
    """The relay's handler for ERP_SALES_ORDER_AMEND tasks: the ERP's sales orders at the
    location hold what its live fulfilment orders hold now. Units in a closed sales order stay
    there; the rest goes to the chain's open one (deleted when it holds nothing), or to a new
    continuation when every one is closed (`models.erp.plan_sales_orders`)."""
    erp = _erp(services)
    key = str(task.payload["sales_order"])
    async with services.store.read() as uow:
        push = await uow.outbox.by_key(ERP_SALES_ORDER, key)
    if push is not None and push.done_at is None:
        raise NotPushedYet(f"sales order {key} is not pushed yet")
    chain = await _chain(services, key, task.payload, push)
    held = [(chain_key, await erp.sales_order(erp_id) if erp_id else None) for chain_key, erp_id in chain]
    here = [(chain_key, _held(chain_key, found)) for chain_key, found in held]
    wanted = await _sales_order(services, key, task.payload, here)
    plan = plan_sales_orders(key, here, [(line.sku, line.quantity) for line in wanted.lines])
    erp_ids = dict(chain)
    lines = [replace(line, quantity=units) for line, units in zip(wanted.lines, plan.quantities, strict=True)]
    target = replace(wanted, order_id=plan.key, order_number=plan.key, lines=[x for x in lines if x.quantity])
    erp_id = erp_ids.get(plan.key)
    if erp_id is None and not target.lines:
        gone = await _withdraw(erp, target)
        done = "nothing to amend" if gone is None else f"deleted {gone}, made by an earlier try"
    else:
        done = await _amend(services, task.payload, plan, target, erp_ids)
    if not plan.surplus:
        return done
    closed = [found.erp_id for _, found in held if found is not None and found.closed]
    await _tell_kept(services, task.payload, closed, plan.surplus)
    kept = ", ".join(f"{units} {sku}" for sku, units in plan.surplus)
    return f"{done}; closed {', '.join(closed)} keeps {kept} unwanted"[:128]


async def _withdraw(erp: ErpConnector, order: SalesOrderPush) -> str | None:
    """The sales order under `order`'s key that an earlier try made and nobody recorded (its
    relay died before settling, or its answer was lost), deleted now that no work there wants
    a unit: the ERP would otherwise show them as still to deliver. Its id, or None when the ERP
    holds none under the key."""
    found = await erp.find_sales_order(order.order_id)
    if found is not None:
        await erp.amend_sales_order(found, replace(order, lines=[]))
    return found


async def _amend(
    services: Services,
    payload: dict[str, object],
    plan: SalesOrderPlan,
    target: SalesOrderPush,
    erp_ids: dict[str, str | None],
) -> str:
    """The plan's sales order made to hold `target` (pushed when the ERP has none under its key),
    and any other open one of the chain emptied: what was done, for the task's result."""
    erp = _erp(services)
    erp_id = erp_ids.get(plan.key)
    now_id = (
        await erp.push_sales_order(target) if erp_id is None else await erp.amend_sales_order(erp_id, target)
    )
    await _remember(services, plan.key, payload, now_id)
    for emptied in plan.emptied:  # not met unless someone at the ERP reopened one: none left open
        gone_id = erp_ids.get(emptied)
        if gone_id is not None:
            await erp.amend_sales_order(
                gone_id, replace(target, order_id=emptied, order_number=emptied, lines=[])
            )
            await _remember(services, emptied, payload, None)
    named = "" if plan.key == str(payload["sales_order"]) else f"{plan.key} "
    return f"{named}deleted {erp_id}" if now_id is None else f"{named}{now_id}: {plan.units} units"


async def _tell_kept(
    services: Services, payload: dict[str, object], closed: list[str], surplus: tuple[tuple[str, int], ...]
) -> None:
    """Staff are told (ERP_UNITS_KEPT, on the order's timeline) which units the ERP's closed sales
    orders at a location keep that no work wants, once for each new figure: a warehouse working
    from the ERP's open sales orders would otherwise send them."""
    order_id, location_id = str(payload["order_id"]), str(payload["location_id"])
    units = dict(surplus)
    async with services.store.write() as uow:
        order = await uow.orders.lock(order_id, EVERYTHING)
        if order is None:
            return
        told = [
            event
            for event in (await uow.events.by_order_ids([order_id])).get(order_id, [])
            if event.type == EventType.ERP_UNITS_KEPT and event.data.get("location_id") == location_id
        ]
        if told and told[-1].data.get("units") == units:
            return
        data = {"location_id": location_id, "sales_orders": closed, "units": units}
        await uow.events.append(
            order, EventType.ERP_UNITS_KEPT, actor="erp", occurred_at=services.clock(), data=data
        )


async def _chain(
    services: Services, key: str, payload: dict[str, object], push: OutboxTask | None
) -> list[tuple[str, str | None]]:
    """The location's sales orders, `key` and its continuations in order, each with the ERP's id
    (None when the ERP holds none under it)."""
    async with services.store.read() as uow:
        refs = await uow.erp.sales_orders_of(str(payload["order_id"]))
    return _links(key, refs, push)


def _links(
    key: str, refs: Mapping[str, ErpSalesOrderRef], push: OutboxTask | None
) -> list[tuple[str, str | None]]:
    first = refs.get(key)
    if first is not None:
        erp_id = first.erp_id
    else:  # pushed before the store kept the ERP's ids: the push's result is the id
        erp_id = push.result if push is not None and (push.result or "").isdigit() else None
    chain = [(key, erp_id)]
    while (ref := refs.get(continuation_key(key, len(chain) + 1))) is not None:
        chain.append((ref.key, ref.erp_id))
    return chain


def _held(key: str, found: SalesOrderHeld | None) -> HeldSalesOrder | None:
    if found is None:
        return None
    return HeldSalesOrder(key=key, units=found.units, closed=found.closed, discounts=found.discounts)


def _erp(services: Services) -> ErpConnector:
    if services.erp is None:
        raise UpstreamUnavailable("erp", "no ERP is configured")
    return services.erp


async def _remember(services: Services, key: str, payload: dict[str, object], erp_id: str | None) -> None:
    async with services.store.write() as uow:
        await _remember_in(uow, key, payload, erp_id, services.clock())


async def _remember_in(
    uow: UnitOfWork, key: str, payload: dict[str, object], erp_id: str | None, now: datetime
) -> None:
    await uow.erp.remember(
        key,
        order_id=str(payload["order_id"]),
        location_id=str(payload["location_id"]),
        erp_id=erp_id,
        now=now,
    )


async def _sales_order(
    services: Services, key: str, payload: dict[str, object], chain: Chain = ()
) -> SalesOrderPush:
    """What the sales order `key` should hold now: the units of the live fulfilment orders at its
    location, each work line with its discount (`_discounts`). `chain`: what the ERP holds of the
    location's sales orders, as an amendment read it (a first push has none closed)."""
    order_id, location_id = str(payload["order_id"]), str(payload["location_id"])
    async with services.store.read() as uow:
        order = (await uow.orders.by_ids([order_id], EVERYTHING))[order_id]
        location = (await uow.catalog.locations_by_ids([location_id]))[location_id]
        customer = (await uow.customers.by_ids([order.customer_id]))[order.customer_id]
        lines = (await uow.orders.lines_by_order_ids([order_id])).get(order_id, [])
        shares = (await uow.orders.fulfillment_orders_by_order_ids([order_id])).get(order_id, [])
        live = [fo for fo in shares if fo.status not in GONE]
        here = [fo.id for fo in live if fo.location_id == location_id]
        fo_lines = await uow.orders.fulfillment_lines_by_fo_ids([fo.id for fo in live])
    if location.erp_id is None:
        raise LookupError(f"location {location.code} is not joined to an ERP location")
    price = {line.id: line.unit_price for line in lines}
    work: dict[str, list[FulfillmentOrderLine]] = {}
    for fo in live:
        work.setdefault(fo.location_id, []).extend(fo_lines.get(fo.id, []))
    discount = await _discounts(services, order, lines, work, {location_id: chain})
    return SalesOrderPush(
        order_id=key,
        order_number=key,
        customer_name=customer.display_name,
        customer_email=None if is_stand_in(customer.email) else customer.email,  # told of no address
        erp_location_id=location.erp_id,
        currency=order.currency,
        lines=[
            SalesOrderLine(
                sku=line.sku,
                quantity=line.quantity,
                unit_price=price[line.order_line_id],
                discount=discount.get(line.id, Decimal(0)),
            )
            for fo_id in here
            for line in fo_lines.get(fo_id, [])
            if line.quantity > 0
        ],
    )


async def _discounts(
    services: Services,
    order: Order,
    lines: Sequence[OrderLine],
    work: Mapping[str, Sequence[FulfillmentOrderLine]],
    read: Mapping[str, Chain],
) -> dict[str, Decimal]:
    """Each work line's discount (its share of a storefront's coupon) on its units in open sales
    orders, by the work at each location (`models.erp.open_discounts`). What the order's closed
    sales orders booked stays theirs, so every location's chain is read from the ERP, but those
    in `read`, read already; an order with no coupon reads nothing."""
    if not any(line.discount for line in lines):
        return {}
    erp = _erp(services)
    async with services.store.read() as uow:
        refs = await uow.erp.sales_orders_of(order.id)
        location_ids = sorted({ref.location_id for ref in refs.values()} | set(work) - set(read))
        locations = await uow.catalog.locations_by_ids(location_ids)
        pushes = {
            location.id: await uow.outbox.by_key(ERP_SALES_ORDER, sales_order_key(order, location))
            for location in locations.values()
        }
    chains = dict(read)
    for location in locations.values():
        links = _links(sales_order_key(order, location), refs, pushes[location.id])
        chains[location.id] = [
            (key, _held(key, await erp.sales_order(erp_id)) if erp_id else None) for key, erp_id in links
        ]
    open_units: dict[str, int] = {}
    for location_id, found in work.items():
        wanted = [line for line in found if line.quantity > 0]
        plan = plan_sales_orders(
            location_id, chains.get(location_id, ()), [(x.sku, x.quantity) for x in wanted]
        )
        open_units.update({line.id: units for line, units in zip(wanted, plan.quantities, strict=True)})
    given = [line for found in work.values() for line in found]
    return open_discounts(
        lines, given, open_units, booked(held for chain in chains.values() for _, held in chain)
    )


# -- units leaving and coming back ----------------------------------------------------------------


def promise_fulfilment(
    uow: UnitOfWork,
    order: Order,
    location: Location,
    lines: Sequence[tuple[str, int]],
    *,
    reference: str,
    task_key: str,
    now: datetime,
    carrier: str | None = None,
    tracking_url: str | None = None,
) -> None:
    """Units of the order left `location` (a parcel with tracking number `reference`, or a
    handover): one movement per SKU, and the ERP's sales order there to be fulfilled with them."""
    _promise_movements(
        uow, MovementKind.SHIP, location, [(sku, -units) for sku, units in lines], order.id, task_key, now
    )
    uow.outbox.add(
        OutboxTask(
            kind=ERP_FULFILMENT,
            key=task_key,
            payload={
                "order_id": order.id,
                "location_id": location.id,
                "sales_order": sales_order_key(order, location),
                "reference": reference,
                "carrier": carrier,
                "tracking_url": tracking_url,
            },
            available_at=now,
            created_at=now,
        )
    )


def promise_adjustment(
    uow: UnitOfWork,
    kind: MovementKind,
    location: Location,
    lines: Sequence[tuple[str, int]],
    *,
    order_id: str | None,
    reference: str,
    reason: str,
    now: datetime,
) -> None:
    """Units came back to `location`'s stock (positive) or left it without a sale (negative):
    movements, and one stock adjustment at the ERP that carries them."""
    task_key = f"adjust:{reference}"
    _promise_movements(uow, kind, location, lines, order_id, task_key, now)
    uow.outbox.add(
        OutboxTask(
            kind=ERP_STOCK_ADJUSTMENT,
            key=task_key,
            payload={"location_id": location.id, "reference": reference, "reason": reason},
            available_at=now,
            created_at=now,
        )
    )


def _promise_movements(
    uow: UnitOfWork,
    kind: MovementKind,
    location: Location,
    lines: Sequence[tuple[str, int]],
    order_id: str | None,
    task_key: str,
    now: datetime,
) -> None:
    totals: dict[str, int] = {}
    for sku, units in lines:
        totals[sku] = totals.get(sku, 0) + units
    uow.inventory.add_movements(
        [
            StockMovement(
                sku=sku,
                location_id=location.id,
                kind=kind,
                quantity=units,
                order_id=order_id,
                task_key=task_key,
                created_at=now,
            )
            for sku, units in sorted(totals.items())
            if units != 0
        ]
    )


async def push_fulfilment(services: Services, task: OutboxTask) -> DoneWith:
    """The relay's handler for ERP_FULFILMENT: the sales order at the node is fulfilled with the
    task's movements, which record when they were first sent and when the ERP had them."""
    erp = _erp(services)
    key = str(task.payload["sales_order"])
    async with services.store.read() as uow:
        push = await uow.outbox.by_key(ERP_SALES_ORDER, key)
        amendments = await uow.outbox.with_key_prefixes([f"{key}~"])
        movements = await uow.inventory.movements_of_task(task.key)
    if push is not None and push.done_at is None:
        raise NotPushedYet(f"sales order {key} is not pushed yet")
    if any(_before(amendment, task) for amendment in amendments):
        raise NotPushedYet(f"sales order {key} has amendments to make first")
    erp_orders = [erp_id for _, erp_id in await _chain(services, key, task.payload, push) if erp_id]
    if not erp_orders:
        await _unsend(services, task.key)
        raise Permanent(f"the ERP holds no sales order {key} to fulfil")
    fulfilment = SalesOrderFulfilment(
        reference=str(task.payload["reference"]),
        lines=[StockLine(m.sku, -m.quantity) for m in movements],
        happened_at=task.created_at,
        carrier=_text(task.payload.get("carrier")),
        tracking_url=_text(task.payload.get("tracking_url")),
    )
    erp_id = await _sent(services, task.key, lambda: erp.fulfil_sales_orders(erp_orders, fulfilment))
    done = f"fulfilment {erp_id}: {sum(line.quantity for line in fulfilment.lines)} units"
    return DoneWith(done, lambda uow: _after_closing(uow, task.payload, services.clock()))


async def _after_closing(uow: UnitOfWork, payload: dict[str, object], now: datetime) -> None:
    """A fulfilment closes its sales orders: when the order carries a coupon, the other nodes'
    sales orders are amended after it, as what the closed ones booked is now theirs for good
    and the open ones share the rest (`_discounts`). Amendments that ran before it, or while it
    ran, may have shared it otherwise. The node's own chain has no open sales order that this
    closing changes (a fulfilment takes units from the open one, or from closed ones only)."""
    order_id = str(payload["order_id"])
    order = (await uow.orders.by_ids([order_id], EVERYTHING)).get(order_id)
    if order is None or not order.discount:
        return
    for location in await _sharing_the_coupon(uow, order, {str(payload["location_id"])}):
        _promise_amendment(uow, order, location, now)


async def push_adjustment(services: Services, task: OutboxTask) -> str:
    """The relay's handler for ERP_STOCK_ADJUSTMENT: the task's movements as one adjustment."""
    erp = _erp(services)
    location_id = str(task.payload["location_id"])
    async with services.store.read() as uow:
        location = (await uow.catalog.locations_by_ids([location_id])).get(location_id)
        movements = await uow.inventory.movements_of_task(task.key)
    if location is None or location.erp_id is None:
        await _unsend(services, task.key)
        raise Permanent(f"location {location_id} is not joined to an ERP location")
    adjustment = StockAdjustmentPush(
        reference=str(task.payload["reference"]),
        erp_location_id=location.erp_id,
        reason=str(task.payload["reason"]),
        lines=[StockLine(m.sku, m.quantity) for m in movements],
        happened_at=task.created_at,
    )
    erp_id = await _sent(services, task.key, lambda: erp.adjust_stock(adjustment))
    return f"adjustment {erp_id}: {sum(line.quantity for line in adjustment.lines):+d} units"


async def _sent(services: Services, task_key: str, call: Callable[[], Awaitable[str]]) -> str:
    """Send, with the movements' first sending recorded before and their acknowledgement after;
    a refusal means the ERP did not apply them (so they are unsent again), a 404 for good."""
    async with services.store.write() as uow:
        await uow.inventory.mark_movements(task_key, sent_at=services.clock())
    try:
        erp_id = await call()
    except UpstreamRejected as refused:
        await _unsend(services, task_key)
        if refused.status == 404:
            raise Permanent(str(refused)) from refused
        raise
    async with services.store.write() as uow:
        await uow.inventory.mark_movements(task_key, acked_at=services.clock())
    return erp_id


async def _unsend(services: Services, task_key: str) -> None:
    async with services.store.write() as uow:
        await uow.inventory.mark_movements(task_key, sent_at=None)


def _before(amendment: OutboxTask, task: OutboxTask) -> bool:
    """An amendment not done yet, promised no later than `task`: the units `task` reports may be
    in the sales order it is to make."""
    return (
        amendment.kind == ERP_SALES_ORDER_AMEND
        and amendment.done_at is None
        and amendment.created_at <= task.created_at
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
