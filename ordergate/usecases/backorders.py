"""Selling against incoming supply (`models/supply.py`): what a sale takes now and what waits,
the promise date a shopper is shown, and allocating waiting lines when supply arrives."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime

from ordergate.models.allocation import Plan, PlanLine, Want
from ordergate.models.capture import Route
from ordergate.models.catalog import Product
from ordergate.models.errors import Problem, ValidationFailed
from ordergate.models.events import EventType
from ordergate.models.location import Location
from ordergate.models.order import Order, OrderLine, OrderStatus, promise_later
from ordergate.models.routing import Decision, Node
from ordergate.models.supply import (
    Backorder,
    BackorderStatus,
    SellingPolicy,
    Waiting,
    effective_policy,
    promise,
    serve,
)
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases.allocation import announce_delay, announce_opened, commit_plan
from ordergate.usecases.inventory import (
    Destination,
    SkuStock,
    distance_km,
    forget_stock,
    lead_days,
    local_clock,
    locate,
    refresh_stock,
    stock_view,
)
from ordergate.usecases.routing import (
    Network,
    capacity_used,
    estimate,
    network,
    order_clock,
    room_of,
    shortage,
)
from ordergate.usecases.services import Services

log = logging.getLogger("ordergate.backorders")
SYSTEM = "system:backorders"
# An order on hold keeps waiting (its units go to the next line) until it is released.
WAITS_OUT = frozenset({OrderStatus.ON_HOLD, OrderStatus.CANCELLED})


def promised_on(
    route: Route, view: Mapping[str, SkuStock], now: datetime, pickup: Location | None
) -> date | None:
    """When the last of a sale's units reaches the customer: those on hand (`estimate`) and
    those waiting for supply."""
    dates = [w.promise.promised_on for w in route.waiting]
    if route.plan.lines:
        now_part = estimate(view, route.plan, now, pickup=pickup, room=route.room)
        if now_part is None:
            return None
        dates.append(now_part)
    return max(dates) if dates else None


async def plan_sale(
    services: Services,
    uow: UnitOfWork,
    wants: Sequence[Want],
    sources: Sequence[Location],
    view: Mapping[str, SkuStock],
    products: Mapping[str, Product],
    *,
    channel: str | None,
    clock: datetime | None = None,
    verb: str = "sell",
) -> Route:
    """`sell`, over the sources as routing sees them now (`clock`: now on the destination's
    clock, which promise dates count from)."""
    nodes = await network(services, uow, sources, view, channel=channel)
    now = clock or services.clock()
    return sell(wants, nodes, view, products, channel=channel, now=now, verb=verb)


def sell(
    wants: Sequence[Want],
    nodes: Network,
    view: Mapping[str, SkuStock],
    products: Mapping[str, Product],
    *,
    channel: str | None,
    now: datetime,
    verb: str = "sell",
) -> Route:
    """Route the cart on the units on hand; where that cannot serve it and a line's product may
    be sold against incoming supply (its policy in this channel), the units on hand go now and
    the rest wait at the node that can promise them soonest. Pre-ordered lines always wait.
    Raises SPLIT_LIMIT_EXCEEDED or INSUFFICIENT_STOCK (not enough on hand or on order)."""
    policies = {
        w.sku: effective_policy(products[w.sku].policy, channel, now.date())
        if w.sku in products
        else SellingPolicy.ON_HAND
        for w in wants
    }
    decision = nodes.route(wants)
    waits_anyway = any(p is SellingPolicy.PRE_ORDER for p in policies.values())
    if decision.chosen is not None and not waits_anyway:
        return Route(decision.chosen.plan, decision, room=decision.room)
    if all(p is SellingPolicy.ON_HAND for p in policies.values()):
        raise shortage(decision, wants, nodes.nodes, verb)
    for now_part, rest in _splits(wants, policies, nodes.usable(), nodes.max_split):
        sale = _sale(now_part, rest, nodes, view, products, policies, now)
        if sale is not None:
            return sale
    raise _not_on_order(decision, wants, nodes.nodes, policies, verb)


def _splits(
    wants: Sequence[Want], policies: Mapping[str, SellingPolicy], usable: Sequence[Node], max_split: int
) -> list[tuple[list[Want], list[Want]]]:
    """Ways to cut the cart into (now, waiting), best first: of a backorderable line, the units
    the best `max_split` nodes hold now and the rest waiting; then every backorderable line
    waiting whole (when the units on hand cannot be routed with the other lines)."""
    first: tuple[list[Want], list[Want]] = ([], [])
    second: tuple[list[Want], list[Want]] = ([], [])
    for want in wants:
        policy = policies[want.sku]
        if policy is SellingPolicy.ON_HAND:
            first[0].append(want)
            second[0].append(want)
            continue
        second[1].append(want)
        if policy is SellingPolicy.PRE_ORDER:
            first[1].append(want)
            continue
        held = sorted((n.available.get(want.sku, 0) for n in usable), reverse=True)
        have = min(want.quantity, sum(held[:max_split]))
        if have > 0:
            first[0].append(Want(want.sku, have))
        if want.quantity > have:
            first[1].append(Want(want.sku, want.quantity - have))
    return [first, second] if first != second else [first]


def _sale(
    now_part: Sequence[Want],
    rest: Sequence[Want],
    nodes: Network,
    view: Mapping[str, SkuStock],
    products: Mapping[str, Product],
    policies: Mapping[str, SellingPolicy],
    now: datetime,
) -> Route | None:
    decision: Decision | None = None
    plan = Plan(())
    if now_part:
        decision = nodes.route(now_part)
        if decision.chosen is None:
            return None
        plan = decision.chosen.plan
    may_wait = {n.location_id for n in nodes.nodes if n.active and n.eligible}
    waiting: list[Waiting] = []
    for want in rest:
        kind = policies[want.sku]
        release_on = products[want.sku].release_on if kind is SellingPolicy.PRE_ORDER else None
        stock = [n for n in view[want.sku].nodes if n.location_id in may_wait]
        found = promise(stock, want.quantity, now, kind=kind, release_on=release_on)
        if found is None:
            return None
        waiting.append(Waiting(want.sku, kind, release_on, found))
    return Route(plan, decision, waiting=tuple(waiting), room=decision.room if decision else {})


def _not_on_order(
    decision: Decision,
    wants: Sequence[Want],
    nodes: Sequence[Node],
    policies: Mapping[str, SellingPolicy],
    verb: str,
) -> ValidationFailed:
    """Why a cart that may wait for supply still cannot be sold: routing's reason, and for a line
    that may wait, that the supply on order does not cover it either."""

    def backorderable(field: tuple[str, ...] | None) -> bool:
        if field is None or len(field) < 2 or not field[1].isdigit():
            return False
        return policies[wants[int(field[1])].sku] is not SellingPolicy.ON_HAND

    refused = shortage(decision, wants, nodes, verb)
    return ValidationFailed(
        [
            Problem(problem.code, f"{problem.message}, on hand or on order", problem.field)
            if problem.code == "INSUFFICIENT_STOCK" and backorderable(problem.field)
            else problem
            for problem in refused.problems
        ]
    )


def record_waiting(
    uow: UnitOfWork, order: Order, lines: Sequence[OrderLine], sale: Route, *, now: datetime
) -> list[Backorder]:
    """The waiting units of a sale, as backorders of the order's lines."""
    line_by_sku = {line.sku: line for line in lines}
    backorders = [
        Backorder(
            order_id=order.id,
            order_line_id=line_by_sku[w.sku].id,
            sku=w.sku,
            location_id=w.promise.location_id,
            kind=w.kind,
            quantity=w.promise.quantity,
            release_on=w.release_on,
            promised_on=w.promise.promised_on,
            placed_at=now,
            updated_at=now,
        )
        for w in sale.waiting
    ]
    uow.save(*backorders)
    return backorders


async def announce_waiting(
    uow: UnitOfWork, order: Order, backorders: Sequence[Backorder], *, actor: str, now: datetime
) -> None:
    if backorders:
        await uow.events.append(
            order,
            EventType.ORDER_BACKORDERED,
            actor=actor,
            occurred_at=now,
            data={
                "lines": [
                    {
                        "sku": b.sku,
                        "quantity": b.quantity,
                        "kind": b.kind.value,
                        "promised_on": b.promised_on.isoformat() if b.promised_on else None,
                    }
                    for b in backorders
                ]
            },
        )


class Promiser:
    """Promise dates for the SKUs of one availability answer: the very plan `placeOrder` would
    make for the quantity (units on hand within the split limit, the rest against incoming
    supply where the product's policy allows), so a quantity with a date can be ordered. What
    routing needs besides the stock (products, capacity used today) is read once, on first use."""

    def __init__(
        self,
        services: Services,
        answers: Sequence[SkuStock],
        channel: str | None,
        destination: Destination | None = None,
    ) -> None:
        self.services = services
        self.view = {answer.sku: answer for answer in answers}
        self.channel = channel
        self.now = local_clock(services, destination)  # dates on the destination's calendar
        shippers = {
            row.location.id: row.location for a in answers for row in a.locations if row.location.ships
        }
        self.sources = sorted(shippers.values(), key=lambda loc: loc.code)
        self._read: tuple[Network, Mapping[str, Product]] | None = None
        self._reading = asyncio.Lock()

    async def promise_date(self, sku: str, quantity: int) -> date | None:
        nodes, products = await self._routing()
        product = products.get(sku)
        if product is None or not product.active or sku not in self.view:
            return None
        try:
            sale = sell([Want(sku, quantity)], nodes, self.view, products, channel=self.channel, now=self.now)
        except ValidationFailed:
            return None
        return promised_on(sale, self.view, self.now, None)

    async def _routing(self) -> tuple[Network, Mapping[str, Product]]:
        async with self._reading:
            if self._read is None:
                async with self.services.store.read() as uow:
                    products = await uow.catalog.products_by_skus(sorted(self.view))
                    nodes = await network(self.services, uow, self.sources, self.view, channel=self.channel)
                self._read = (nodes, products)
            return self._read


async def refresh_and_allocate(services: Services) -> int:
    """Re-read the stock and incoming supply of every SKU with units waiting (a receipt the ERP
    did not announce), then allocate what arrived."""
    async with services.store.read() as uow:
        skus = await uow.inventory.waiting_skus()
    if not skus:
        return 0
    await forget_stock(services, skus)
    await refresh_stock(services, skus)
    return await allocate_waiting(services, skus)


async def allocate_waiting(services: Services, skus: Sequence[str] | None = None) -> int:
    """Give units that have arrived to the lines waiting for them, oldest first (`serve`): each
    allocation opens a fulfilment order at the node (the ERP's sales order amended) and tells
    the customer. Returns the units allocated. Run after every stock refresh and on a timer."""
    now = services.clock()
    async with services.store.write() as uow:
        waiting = await uow.inventory.waiting_backorders(skus)
        if not waiting:
            return 0
        # Orders first, then stock rows, the order every other writer takes its locks in; the
        # waiting lines are read again under the orders' locks (a cancel may have come between).
        orders = await uow.orders.lock_many(sorted({b.order_id for b in waiting}))
        waiting = [
            b
            for b in await uow.inventory.waiting_backorders(skus)
            if b.order_id in orders and orders[b.order_id].status not in WAITS_OUT
        ]
        wanted = sorted({b.sku for b in waiting})
        locations = await uow.catalog.locations()
        by_id = {loc.id: loc for loc in locations}
        view = await stock_view(services, uow, wanted, locations, None, set(), lock=True, for_waiting=True)
        available = {
            (stock.sku, row.location.id): row.available for stock in view.values() for row in stock.locations
        }
        taken = serve(waiting, available, now.date())
        if not taken:
            return 0
        lines = await uow.orders.lines_by_order_ids(sorted({b.order_id for b, _ in taken}))
        # each node's queue from today on (one read), grown by the work this pass opens there: a
        # full node starts the units on its next day with room, as routing would have it
        # (a node set to take no orders since still serves the lines that wait there, from today)
        nodes = [by_id[at] for at in sorted({b.location_id for b, _ in taken}) if by_id[at].takes_orders]
        used = await capacity_used(uow, nodes, now)
        allocated = 0
        promised = {order_id: order.promised_on for order_id, order in orders.items()}
        for backorder, units in taken:
            order = orders[backorder.order_id]
            order_lines = lines.get(order.id, [])
            plan = Plan((PlanLine(backorder.sku, backorder.location_id, units),))
            room = room_of([node for node in nodes if node.id == backorder.location_id], used)
            opened = await commit_plan(
                uow, order, order_lines, plan, view, actor=SYSTEM, now=now, room=room, routed=False
            )
            for work in opened.fulfillment_orders:
                used[work.location_id] = used.get(work.location_id, 0) + 1
            # the promise moves when the units can no longer keep it (they came late, or wait for room)
            pickup = by_id.get(order.pickup_location_id) if order.pickup_location_id else None
            here = _to_order(services, view, order, by_id[backorder.location_id], backorder.sku)
            promise_later(
                order, estimate(here, plan, order_clock(order, now, pickup), pickup=pickup, room=room)
            )
            backorder.quantity -= units
            backorder.quantity_allocated += units
            if backorder.quantity == 0:
                backorder.status = BackorderStatus.ALLOCATED
            backorder.updated_at = now
            uow.save(backorder)
            order.updated_at = now
            uow.save(order)
            await uow.events.append(
                order,
                EventType.BACKORDER_ALLOCATED,
                actor=SYSTEM,
                occurred_at=now,
                data={
                    "sku": backorder.sku,
                    "quantity": units,
                    "location": by_id[backorder.location_id].code,
                    "still_waiting": backorder.quantity,
                },
            )
            await announce_opened(uow, order, opened, actor=SYSTEM, now=now)
            allocated += units
        for order_id in sorted({b.order_id for b, _ in taken}):  # one notice per order, however many lines
            await announce_delay(uow, orders[order_id], promised[order_id], actor=SYSTEM, now=now)
    if allocated:
        log.info("%d backordered units allocated", allocated)
    return allocated


def _to_order(
    services: Services, view: Mapping[str, SkuStock], order: Order, location: Location, sku: str
) -> dict[str, SkuStock]:
    """The pass's view of `sku` (read with no destination) with `location`'s lead time to this
    order's own destination."""
    point = locate(services, Destination.of(order.shipping_address)) if order.shipping_address else None
    lead = lead_days(location, distance_km(location, point))
    stock = view[sku]
    nodes = [replace(n, lead_days=lead) if n.location_id == location.id else n for n in stock.nodes]
    return {sku: replace(stock, nodes=nodes)}


async def cancel_waiting(uow: UnitOfWork, order: Order, units: Mapping[str, int], now: datetime) -> None:
    """Units cancelled that no node held (`units`, per order line): they stop waiting, the
    latest placed first."""
    if not units:
        return
    backorders = (await uow.inventory.backorders_by_order_ids([order.id])).get(order.id, [])
    left = dict(units)
    for backorder in reversed(backorders):
        take = min(backorder.quantity, left.get(backorder.order_line_id, 0))
        if backorder.status is not BackorderStatus.WAITING or take == 0:
            continue
        left[backorder.order_line_id] -= take
        backorder.quantity -= take
        if backorder.quantity == 0:
            backorder.status = (
                BackorderStatus.ALLOCATED if backorder.quantity_allocated else BackorderStatus.CANCELLED
            )
        backorder.updated_at = now
        uow.save(backorder)
