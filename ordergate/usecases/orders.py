"""Order capture and order reads."""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ordergate.connectors.payments.base import Authorization
from ordergate.models.allocation import Plan, Want
from ordergate.models.capture import (
    SHORT,
    CaptureFacts,
    CapturePlan,
    CapturePolicy,
    Route,
    check_capture,
    customer_of,
    kept_when_short,
    live_reservation,
    plan_capture,
    price,
    reserved_route,
    reserved_route_fits,
    unsellable,
)
from ordergate.models.catalog import Product, check_sellable
from ordergate.models.commands import (
    PLACE_PARTS,
    PlaceOrder,
    address_gaps,
    check_place_order,
    over_limits,
    routable_sku,
    unplaceable,
)
from ordergate.models.criteria import NEWEST_FIRST, OrderCriteria, OrderSort, OrderSortKey, sort_value
from ordergate.models.delivery import DeliveryChoice, parse, unmet
from ordergate.models.errors import DomainError, Forbidden, NotFound, Problem, StoreBusy, ValidationFailed
from ordergate.models.events import EventType
from ordergate.models.geo import Point, haversine_km
from ordergate.models.identity import Permission, Principal, Role
from ordergate.models.inventory import ReservationStatus
from ordergate.models.lifecycle import LineQuantities, OrderAction, next_status
from ordergate.models.location import Location
from ordergate.models.notes import check_tags
from ordergate.models.order import DeliveryMethod, Order, OrderHold, OrderLine, OrderStatus
from ordergate.models.pagination import Page, check_page, decode_cursor, encode_cursor
from ordergate.models.routing import RoutingDecisionRecord, insufficient
from ordergate.models.scope import OrderScope, order_scope
from ordergate.models.supply import Backorder, SellingPolicy, effective_policy
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases import catalog, metrics, payments
from ordergate.usecases.allocation import (
    Locker,
    NodeClosed,
    Opened,
    announce_opened,
    commit_plan,
    ensure_open,
)
from ordergate.usecases.backorders import announce_waiting, plan_sale, promised_on, record_waiting
from ordergate.usecases.idempotency import Claim, claim_first, scope_of
from ordergate.usecases.inventory import (
    Destination,
    SkuStock,
    compose_stock,
    locate,
    refresh_stock,
    sells,
    source_locations,
    stock_inputs,
    stock_locked_at,
    stock_view,
)
from ordergate.usecases.routing import capacity_used, estimate, order_clock, place_clock, room_of
from ordergate.usecases.routing import record as record_decision
from ordergate.usecases.services import Policy, Services
from ordergate.usecases.views import StockInputs

EVERYTHING = OrderScope(everything=True)
ORDER_NUMBER_COUNTER = "order_number"
FIRST_ORDER_NUMBER = 100001

log = logging.getLogger("ordergate.orders")


@dataclass(frozen=True)
class Placed:
    """An order just taken, with what the transaction wrote for it (its lines and the work it
    opened), so its answer needs no second read; None for a repeat, which returns the first."""

    order: Order
    lines: list[OrderLine] | None = None
    opened: Opened | None = None
    waiting: tuple[Backorder, ...] = ()  # units left waiting for incoming supply


async def place_order(services: Services, principal: Principal, command: PlaceOrder) -> Order:
    """Capture an order. A repeat with the same idempotency key returns the first order."""
    return (await place(services, principal, command)).order


async def place(services: Services, principal: Principal, command: PlaceOrder) -> Placed:
    """`place_order`, with what was written. The key is claimed before the card is touched, so
    a refused repeat changes nothing, least of all the first order's payment."""
    if not principal.can(Permission.PLACE_ORDER):
        raise Forbidden("this role may not place orders")
    if principal.role is Role.CUSTOMER and not principal.owns_email(command.customer.email):
        raise Forbidden("customers place orders under their own email")
    problems = check_place_order(command, services.policy.limits)
    if command.sale is not None:  # a sale already made: kept without a part of an address a
        gaps = address_gaps(problems)  # parcel needs (the import holds it for the address)
        problems = [p for p in problems if p not in gaps]
    if problems:
        raise ValidationFailed(problems)
    if command.pickup_location_id:  # its code will do
        command = dataclasses.replace(
            command, pickup_location_id=await catalog.location_id(services, command.pickup_location_id)
        )
    await refresh_stock(services, [line.sku for line in command.lines])
    sold_out = await _sold_out(services, principal, command)
    if sold_out is not None:
        raise sold_out
    async with claim_first(
        services, principal, "placeOrder", command.idempotency_key, command, prepare=_next_number
    ) as once:
        if once.result_id is not None:
            async with services.store.read() as uow:
                return Placed(await _stored(uow, once.result_id))
        return await _take(services, principal, command, once)


async def _take(services: Services, principal: Principal, command: PlaceOrder, once: Claim) -> Placed:
    """Authorise the card for the order's total, then take the order; a card authorised for an
    order not taken after all is released."""
    authorized = None
    if command.payment_provider is not None and command.payment_token is not None:
        total = await quote(services, command)
        if total is not None:  # an order that cannot be priced is refused below, with the reason
            authorized = await payments.authorize(
                services,
                provider_name=command.payment_provider,
                token=command.payment_token,
                amount=total,
                requested=command.payment_amount,
                idempotency_key=once.provider_key("auth"),
            )
    now = services.clock()
    number = once.prepared if once.prepared is not None else await reserve_order_number(services)
    try:
        try:
            placed = await _write(services, principal, command, number, now, authorized, once, narrow=True)
        except (Overtaken, NodeClosed):  # rolled back: routed again, every source position locked
            placed = await _write(services, principal, command, number, now, authorized, once, narrow=False)
    except DomainError as refused:
        services.short_lately.note(_short_skus(command, refused.problems))
        if authorized is not None:  # this attempt's own authorisation: no other order has it
            await payments.void_quietly(
                services, command.payment_provider or "", authorized[1], authorized[0]
            )
        try:  # the key given up and a stock-out counted, in one transaction
            await once.release(services, also=metrics.refusal_kept(command.channel, refused.problems, now))
        except StoreBusy:  # the count is lost, not the refusal; the key is given up on the way out
            log.warning("a refused order's key was not given up yet: the store is busy")
        raise
    return placed


async def _sold_out(services: Services, principal: Principal, command: PlaceOrder) -> ValidationFailed | None:
    """A placement sure to be refused for stock, answered before it claims its key, touches the
    card or opens the order's transaction. Only a placement with a line of a SKU placements here
    were lately refused for (`Services.short_lately`) is looked at: in one transaction, the stock of its
    SKUs is read as routing reads it (without locks) and, when the nodes that may serve it hold
    fewer units of a line's SKU than the line asks for, the answer is the one the order's own
    transaction would give (INSUFFICIENT_STOCK for each such line) and the stock-out is counted.
    Left to that transaction (None): a key used before (a repeat gets its first result, a reuse
    its refusal), anything refused before routing (a SKU not sold, a closed pickup store), and
    what may still be sold (incoming supply, a hold, a chosen delivery option, a sale already
    made)."""
    if command.sale is not None or command.reservation_id is not None or command.delivery_option_id:
        return None
    suspects = services.short_lately.of(line.sku for line in command.lines)
    if not suspects:
        return None
    skus = [line.sku for line in command.lines]
    wants = [Want(line.sku, line.quantity) for line in command.lines]
    now = services.clock()
    async with services.store.write() as uow:
        if command.idempotency_key and await uow.idempotency.known(
            scope_of(principal), command.idempotency_key
        ):
            return None
        inputs = await stock_inputs(uow, skus, now)
        try:
            sources = source_locations(
                await uow.catalog.locations(),
                command.channel,
                command.pickup_location_id,
                ship=command.delivery_method is DeliveryMethod.SHIP,
            )
        except ValidationFailed:  # its pickup store: said by the order's transaction
            return None
        serving = [loc for loc in sources if sells(loc, command.channel)]  # as routing's usable nodes
        view = compose_stock(services.policy.stale_after, inputs, skus, serving, None, set(), now)
        problems = insufficient(wants, {sku: stock.available for sku, stock in view.items()}, "sell")
        if not problems:
            services.short_lately.forget(suspects)
            return None
        products = await uow.catalog.products_by_skus(skus)
        pickup = await _location(uow, command.pickup_location_id)
        clock = place_clock(command.delivery_method, command.shipping_address, pickup, now)
        policy = capture_policy(services.policy)
        if check_capture(command, products, pickup, currency=policy.currency) or not all(
            effective_policy(products[sku].policy, command.channel, clock.date()) is SellingPolicy.ON_HAND
            for sku in skus
        ):
            return None
        await metrics.refusal_kept(command.channel, problems, now)(uow)
    services.short_lately.note(_short_skus(command, problems))
    return ValidationFailed(problems)


def _short_skus(command: PlaceOrder, problems: Sequence[Problem]) -> list[str]:
    """The SKUs of the lines refused INSUFFICIENT_STOCK."""
    lines = {("lines", str(i), "quantity"): line.sku for i, line in enumerate(command.lines)}
    return [lines[p.field] for p in problems if p.code == "INSUFFICIENT_STOCK" and p.field in lines]


async def _write(
    services: Services,
    principal: Principal,
    command: PlaceOrder,
    number: int,
    now: datetime,
    authorized: tuple[str, Authorization] | None,
    once: Claim,
    *,
    narrow: bool,
) -> Placed:
    """The order's one write transaction (see `_allocation_plan` for `narrow`)."""
    async with services.store.write() as uow:
        placed = await _capture(services, uow, principal, command, number, now, narrow=narrow)
        order = placed.order
        if authorized is not None:
            key, authorization = authorized
            payments.record_authorization(uow, order, command.payment_provider or "", key, authorization, now)
            await uow.events.append(
                order,
                EventType.PAYMENT_AUTHORIZED,
                actor=principal.subject,
                occurred_at=now,
                data={"amount": str(authorization.amount)},
            )
        await once.complete(uow, order.id)
    return placed


async def _stored(uow: UnitOfWork, order_id: str) -> Order:
    return (await uow.orders.by_ids([order_id], EVERYTHING))[order_id]


async def reserve_order_number(services: Services) -> int:
    """The order's number, from a short transaction before the order's own (with its key's
    claim when it has one: `_next_number`): orders being placed do not queue on the counter's
    row lock while they allocate. A number an order does not take (refused) is skipped: numbers
    are unique and rising, not gapless."""
    async with services.store.write() as uow:
        return await _next_number(uow)


async def _next_number(uow: UnitOfWork) -> int:
    return await uow.next_value(ORDER_NUMBER_COUNTER, start=FIRST_ORDER_NUMBER)


async def _capture(
    services: Services,
    uow: UnitOfWork,
    principal: Principal,
    command: PlaceOrder,
    number: int,
    now: datetime,
    *,
    narrow: bool = False,
) -> Placed:
    """Load what the capture planner needs (the stock rows locked where units are routed), ask
    it, and apply its plan."""
    policy = capture_policy(services.policy)
    products = await uow.catalog.products_by_skus([line.sku for line in command.lines])
    pickup = await _location(uow, command.pickup_location_id)
    problems = check_capture(command, products, pickup, currency=policy.currency)
    unsold = unsellable(command, problems)
    if len(unsold) < len(problems):
        raise ValidationFailed([p for p in problems if p not in unsold])
    # a sale past the gateway's limits (lines, units a line) is kept too, for an agent
    oversized = over_limits(command.lines, services.policy.limits) if command.sale is not None else []
    short: tuple[Problem, ...] = (*unsold, *oversized)
    route: Route | None
    view: dict[str, SkuStock]
    lock: Locker | None = None
    unplaced = unplaceable(command.shipping_address) if command.sale is not None else []
    if unplaced:
        message = f"the shipping address has no usable {' or '.join(PLACE_PARTS[part] for part in unplaced)}"
        short += (Problem("ADDRESS_INCOMPLETE", message, ("shipping_address", unplaced[0])),)
    if short:
        # a sale already made that routing cannot place (where the parcel goes, or a line we
        # do not sell yet): kept unrouted, held, and routed when the hold is released
        # (`route_held`) once that is fixed
        route, view = None, {}
    else:
        try:
            route, view, lock = await _allocation_plan(
                services, uow, command, products, pickup, now, narrow=narrow
            )
        except ValidationFailed as refused:
            if not kept_when_short(command, refused.problems):
                raise
            route, view, short = None, {}, tuple(refused.problems)
    customer = await uow.customers.get_or_add(customer_of(command, now))
    recent, apart = await _risk_facts(services, uow, command, customer.email, now)
    facts = CaptureFacts(products, pickup, customer, route, short, recent, apart)
    plan = plan_capture(command, facts, policy, number=number, placed_by=principal.subject, now=now)
    return await _apply(
        uow,
        command,
        plan,
        view,
        pickup,
        actor=principal.subject,
        now=now,
        points_per_unit=services.policy.loyalty_points_per_unit,
        lock=lock,
    )


async def _apply(
    uow: UnitOfWork,
    command: PlaceOrder,
    plan: CapturePlan,
    view: dict[str, SkuStock],
    pickup: Location | None,
    *,
    actor: str,
    now: datetime,
    points_per_unit: Decimal,
    lock: Locker | None = None,
) -> Placed:
    order, lines = plan.order, list(plan.lines)
    # what the order's row will hold is set before it is written (its first event's number, its
    # promised day): one INSERT, not an INSERT and then an UPDATE
    await uow.events.append(
        order,
        EventType.ORDER_PLACED,
        actor=actor,
        occurred_at=now,
        data={"number": order.number, "channel": order.channel, "total": str(order.total)},
    )
    if plan.hold is None and plan.route is not None:
        _promise(order, plan.route, view, pickup, now)
    await uow.orders.add(order, lines)
    if command.sale is not None:
        await payments.record_storefront_payment(uow, order, command.sale, now, points_per_unit)
    if plan.consumes is not None:
        plan.consumes.status, plan.consumes.order_id = ReservationStatus.CONSUMED, order.id
        uow.save(plan.consumes)
    if plan.hold is not None:
        if pickup is not None:  # an unrouted pickup is open work at its store (`set_location_active`)
            await ensure_open(uow, [pickup.id])
        await _hold_unrouted(uow, order, plan.hold)
        return Placed(order, lines, Opened([], {}, {}))
    assert plan.route is not None  # not held: routed
    opened, waiting = await _commit_route(
        uow, order, lines, plan.route, view, pickup, actor=actor, now=now, lock=lock
    )
    return Placed(order, lines, opened, tuple(waiting))


async def _commit_route(
    uow: UnitOfWork,
    order: Order,
    lines: list[OrderLine],
    route: Route,
    view: Mapping[str, SkuStock],
    pickup: Location | None,
    *,
    actor: str,
    now: datetime,
    lock: Locker | None = None,
) -> tuple[Opened, list[Backorder]]:
    """Allocate a route's units on hand, record those that wait for supply, and confirm (the
    order's promised day is set: `_promise`). `lock`: see `commit_plan`."""
    if route.decision is not None:
        record_decision(uow, order.id, route.decision, now)
    elif route.reservation is not None:
        codes = {row.location.id: row.location.code for stock in view.values() for row in stock.locations}
        uow.orders.add_decision(
            RoutingDecisionRecord.from_hold(order.id, route.plan, codes, route.reservation.id, now)
        )
    opened = Opened([], {}, {})
    elsewhere = {w.promise.location_id for w in route.waiting} | ({pickup.id} if pickup else set())
    if route.plan.lines:
        opened = await commit_plan(
            uow,
            order,
            lines,
            route.plan,
            dict(view),
            actor=actor,
            now=now,
            room=route.room,
            also_open=elsewhere,
            lock=lock,
        )
    else:
        await ensure_open(uow, elsewhere)
    waiting = record_waiting(uow, order, lines, route, now=now)
    await _confirm(uow, order, route.plan, opened, actor=actor, now=now)
    await announce_waiting(uow, order, waiting, actor=actor, now=now)
    return opened, waiting


def _promise(
    order: Order, route: Route, view: Mapping[str, SkuStock], pickup: Location | None, now: datetime
) -> None:
    """The day the order's last unit reaches the customer, by the route it is about to take."""
    order.promised_on = promised_on(route, view, order_clock(order, now, pickup), pickup)


def capture_policy(policy: Policy) -> CapturePolicy:
    return CapturePolicy(policy.pricing, policy.fraud)


async def _location(uow: UnitOfWork, location_id: str | None) -> Location | None:
    if not location_id:
        return None
    return (await uow.catalog.locations_by_ids([location_id])).get(location_id)


async def _risk_facts(
    services: Services, uow: UnitOfWork, command: PlaceOrder, email: str, now: datetime
) -> tuple[int, float | None]:
    """What the fraud screen weighs that is not on the order: how many orders the email placed
    within the screen's window, and how far apart billing and shipping are."""
    recent = await uow.orders.placed_by_email_since(email, now - services.policy.fraud.velocity_window)
    billing, shipping = command.billing_address, command.shipping_address
    if billing is None or shipping is None:
        return recent, None
    here = locate(services, Destination(billing.country_code, billing.postal_code))
    there = locate(services, Destination(shipping.country_code, shipping.postal_code))
    return recent, haversine_km(here, there) if here is not None and there is not None else None


async def _hold_unrouted(uow: UnitOfWork, order: Order, hold: OrderHold) -> None:
    """Taken, but not routed: ON_HOLD for an agent until released (then routed, see
    `route_held`) or cancelled."""
    order.status_before_hold = order.status
    order.status = next_status(order.status, OrderAction.HOLD)
    uow.orders.add_hold(hold)
    await uow.events.append(
        order,
        EventType.ORDER_HELD,
        actor=hold.placed_by,
        occurred_at=hold.placed_at,
        data={"reason": hold.reason.value},
    )


async def _confirm(
    uow: UnitOfWork, order: Order, plan: Plan, opened: Opened, *, actor: str, now: datetime
) -> None:
    order.status = next_status(order.status, OrderAction.CONFIRM)
    await uow.events.append(
        order, EventType.ORDER_CONFIRMED, actor=actor, occurred_at=now, data={"locations": plan.locations}
    )
    await announce_opened(uow, order, opened, actor=actor, now=now)


async def route_held(services: Services, uow: UnitOfWork, order: Order, *, actor: str, now: datetime) -> None:
    """Route an order the fraud screen held, now that an agent released it: the same steps as at
    placement, against the stock there is now. Raises INSUFFICIENT_STOCK (and changes nothing)
    when the network can no longer take it."""
    lines = (await uow.orders.lines_by_order_ids([order.id])).get(order.id, [])
    wants = [Want(line.sku, left) for line in lines if (left := line.quantity - line.quantity_cancelled) > 0]
    pickup = await _location(uow, order.pickup_location_id)
    shipping = order.delivery_method is DeliveryMethod.SHIP
    point = locate(services, Destination.of(order.shipping_address)) if shipping else None
    sources = source_locations(
        await uow.catalog.locations(), order.channel, order.pickup_location_id, ship=shipping
    )
    odd = [
        Problem(
            "INVALID_SKU", f"{w.sku!r} is not a SKU ordergate can route: cancel its line first", ("lines",)
        )
        for w in wants
        if not routable_sku(w.sku)
    ]
    if odd:  # a sale kept with a line sold under a SKU of the storefront's only
        raise ValidationFailed(odd)
    oversized = over_limits(wants, services.policy.limits)
    if oversized:  # a sale kept past the limits: until an agent cancels lines or units
        raise ValidationFailed(oversized)
    products = await uow.catalog.products_by_skus([w.sku for w in wants])
    unknown = [p for w in wants if w.sku not in products for p in check_sellable(w.sku, None, "", ("lines",))]
    if unknown:  # a sale kept with a line the catalogue did not have: until it has
        raise ValidationFailed(unknown)
    view = await stock_view(services, uow, [w.sku for w in wants], sources, point, set(), lock=True)
    clock = order_clock(order, now, pickup)
    route = await plan_sale(
        services, uow, wants, sources, view, products, channel=order.channel, clock=clock, verb="route"
    )
    _promise(order, route, view, pickup, now)
    await _commit_route(uow, order, lines, route, view, pickup, actor=actor, now=now)


async def quote(services: Services, command: PlaceOrder) -> Decimal | None:
    """The total the order will have, to authorise before it is taken; None when it cannot be
    priced (an unknown SKU, say), which the capture then reports."""
    async with services.store.read() as uow:
        products = await uow.catalog.products_by_skus([line.sku for line in command.lines])
        pickup = await _location(uow, command.pickup_location_id)
    if any(line.sku not in products for line in command.lines):
        return None
    return price(command, products, pickup, capture_policy(services.policy)).total.amount


async def _allocation_plan(
    services: Services,
    uow: UnitOfWork,
    command: PlaceOrder,
    products: Mapping[str, Product],
    pickup: Location | None,
    now: datetime,
    *,
    narrow: bool = False,
) -> tuple[Route, dict[str, SkuStock], Locker | None]:
    """Pick where every unit comes from: the order's reservation when it has a live one that
    matches and every node it holds at may still send (`reserved_route_fits`), else routing
    (and, where a product's selling policy allows, incoming supply: `plan_sale`), from the
    chosen delivery option's locations only. Raises INSUFFICIENT_STOCK,
    or DELIVERY_OPTION_UNAVAILABLE when the option cannot be met.

    The figures routing reads are locked so that nothing changes under the plan. `narrow` locks
    less: routing reads every source unlocked, and only the positions the plan takes units from
    are locked and read again, by the `Locker` returned, as the transaction's last writes
    (`commit_plan`); if they no longer have the units, `Overtaken` (the caller starts over with
    every source locked). Orders routed to different nodes do not queue on each other's rows,
    those routed to the same node only for its allocation and commit. A plan that waits for
    incoming supply is made with every source locked at once."""
    wants = [Want(line.sku, line.quantity) for line in command.lines]
    reserved = await _reserved_route(uow, command, wants, now)
    address = command.shipping_address
    point = locate(services, Destination(address.country_code, address.postal_code)) if address else None
    sources = source_locations(
        await uow.catalog.locations(),
        command.channel,
        pickup.id if pickup else None,
        ship=command.delivery_method is DeliveryMethod.SHIP,
    )
    held = reserved.reservation if reserved is not None else None
    if reserved is not None and not reserved_route_fits(reserved, {loc.id for loc in sources}):
        reserved = None  # a node it holds units at may no longer send them: routed afresh
    if reserved is not None:
        reserved = await _held_room(uow, reserved, sources, now)
    chosen = parse(command.delivery_option_id) if command.delivery_option_id else None
    if chosen is not None and chosen.method is DeliveryMethod.SHIP and reserved is None:
        sources = [loc for loc in sources if loc.code in chosen.locations]
    hold_id = held.id if held is not None else None
    skus = [w.sku for w in wants]
    clock = place_clock(command.delivery_method, command.shipping_address, pickup, now)

    async def routed(lock: bool) -> tuple[Route | None, dict[str, SkuStock], StockInputs]:
        at = services.clock()  # the view's own, not the order's (`stock_view`, keeping its figures)
        inputs = await stock_inputs(uow, skus, at, lock=lock, excluding_hold=hold_id)
        view = compose_stock(services.policy.stale_after, inputs, skus, sources, point, set(), at)
        try:
            return (
                reserved
                or await plan_sale(
                    services, uow, wants, sources, view, products, channel=command.channel, clock=clock
                ),
                view,
                inputs,
            )
        except ValidationFailed as refused:
            if chosen is None or not refused.problems or refused.problems[0].code not in SHORT:
                raise
            return None, view, inputs

    route, view, inputs = await routed(lock=not narrow)
    locker: Locker | None = None
    if narrow and route is not None:
        if route.waiting:
            route, view, _ = await routed(lock=True)
        elif route.plan.lines:
            locker = functools.partial(
                _still_there, services, uow, route.plan, sources, point, hold_id, inputs
            )
    if chosen is not None:
        _honours(route, chosen, view, sources, now, command, pickup)
    assert route is not None
    if held is not None and route.reservation is None:
        route = dataclasses.replace(route, reservation=held)  # used up, though routed afresh
    return route, view, locker


class Overtaken(Exception):
    """Between routing's unlocked read and locking the positions its plan takes units from,
    another transaction took some of them. Not a domain error: the order is routed again."""


async def _still_there(
    services: Services,
    uow: UnitOfWork,
    plan: Plan,
    sources: Sequence[Location],
    point: Point | None,
    hold_id: str | None,
    earlier: StockInputs,
) -> dict[str, SkuStock]:
    """Lock the plan's positions, read them again (`stock_locked_at`) and return that view, or
    `Overtaken` when a node no longer has what the plan takes from it."""
    keys = sorted({(line.sku, line.location_id) for line in plan.lines})
    view = await stock_locked_at(services, uow, keys, sources, point, earlier, excluding_hold=hold_id)
    wanted: dict[tuple[str, str], int] = {}
    for line in plan.lines:
        wanted[(line.sku, line.location_id)] = wanted.get((line.sku, line.location_id), 0) + line.quantity
    for (sku, location_id), quantity in wanted.items():
        there = next((row.available for row in view[sku].locations if row.location.id == location_id), 0)
        if there < quantity:
            raise Overtaken(f"{sku} at {location_id}")
    return view


def _honours(
    route: Route | None,
    chosen: DeliveryChoice,
    view: Mapping[str, SkuStock],
    sources: Sequence[Location],
    now: datetime,
    command: PlaceOrder,
    pickup: Location | None,
) -> None:
    """DELIVERY_OPTION_UNAVAILABLE when the order can no longer go the way its option said."""
    if route is None:
        problem = unmet(chosen, ("",), None, waits=True)
    else:
        code = {loc.id: loc.code for loc in sources}
        clock = place_clock(command.delivery_method, command.shipping_address, pickup, now)
        arrives = (
            estimate(view, route.plan, clock, pickup=pickup, room=route.room) if route.plan.lines else None
        )
        codes = [code.get(loc, "") for loc in route.plan.locations]
        problem = unmet(chosen, codes, arrives, waits=bool(route.waiting))
    if problem is not None:
        raise ValidationFailed([problem])


async def _held_room(uow: UnitOfWork, reserved: Route, sources: Sequence[Location], now: datetime) -> Route:
    """The hold's route with the days its nodes, full since it was made, wait for room."""
    held_at = [loc for loc in sources if loc.id in reserved.plan.locations]
    return dataclasses.replace(reserved, room=room_of(held_at, await capacity_used(uow, held_at, now)))


async def _reserved_route(
    uow: UnitOfWork, command: PlaceOrder, wants: list[Want], now: datetime
) -> Route | None:
    """The units of the order's reservation, when it names a live one (an expired one is
    ignored); INVALID_RESERVATION, RESERVATION_USED or RESERVATION_MISMATCH otherwise."""
    if command.reservation_id is None:
        return None
    reservation = live_reservation(await uow.inventory.reservation(command.reservation_id), now)
    if reservation is None:
        return None
    lines = (await uow.inventory.reservation_lines([reservation.id])).get(reservation.id, [])
    return reserved_route(reservation, lines, wants)


async def order(services: Services, principal: Principal, order_id: str) -> Order:
    async with services.store.read() as uow:
        found = await uow.orders.by_ids([order_id], order_scope(principal))
    if order_id not in found:
        raise NotFound("no such order", field=("id",))
    return found[order_id]


def order_cursor(record: Order, sort: OrderSort = NEWEST_FIRST) -> str:
    value = sort_value(record, sort.key)
    return encode_cursor(
        sort.key.value, value.isoformat() if isinstance(value, datetime) else str(value), record.id
    )


def _after(cursor: str, sort: OrderSort) -> tuple[Any, str]:
    """The (value, id) a cursor names, under the sort it was given out for; INVALID_CURSOR for a
    cursor of another sort or not one of ours."""
    key, text, order_id = decode_cursor(cursor, 3)
    try:
        if key != sort.key.value:
            raise ValueError("another sort's cursor")
        value: Any = text
        if sort.key in (OrderSortKey.CREATED_AT, OrderSortKey.UPDATED_AT):
            value = datetime.fromisoformat(str(text))
        elif sort.key is OrderSortKey.TOTAL:
            value = Decimal(str(text))
            if not value.is_finite():
                raise ValueError("not an amount")
    except (ValueError, ArithmeticError):
        raise ValidationFailed(
            [Problem("INVALID_CURSOR", "the cursor is not one this API gave out for this sort", ("after",))]
        ) from None
    return value, str(order_id)


async def orders(
    services: Services,
    principal: Principal,
    criteria: OrderCriteria,
    first: int,
    after: str | None,
    sort: OrderSort = NEWEST_FIRST,
) -> Page[Order]:
    """The orders the caller may see that match, in the sort's order (newest first by default)."""
    scope = order_scope(principal)
    if scope.nothing:
        raise Forbidden("this role may not list orders")
    check_page(first, services.policy.page_size_cap)
    key = _after(after, sort) if after else None
    if criteria.tags:
        criteria = dataclasses.replace(
            criteria, tags=tuple(check_tags(list(criteria.tags), ("filter", "tags")))
        )
    if criteria.location_id:  # its code will do
        criteria = dataclasses.replace(
            criteria, location_id=await catalog.location_id(services, criteria.location_id)
        )
    async with services.store.read() as uow:
        rows, has_next = await uow.orders.page(scope, criteria, first, key, sort)
        total = await uow.orders.count(scope, criteria)
    return Page(rows, has_next, total)


async def order_counts(services: Services, principal: Principal) -> dict[OrderStatus, int]:
    if not principal.can(Permission.READ_ORDER_COUNTS):
        raise Forbidden("this role may not read order counts")
    async with services.store.read() as uow:
        counts = await uow.orders.counts_by_status(order_scope(principal))
    return {status: counts.get(status, 0) for status in OrderStatus}


def line_quantities(lines: Sequence[OrderLine]) -> list[LineQuantities]:
    return [
        LineQuantities(
            line.quantity, line.quantity_fulfilled, line.quantity_cancelled, line.quantity_returned
        )
        for line in lines
    ]
