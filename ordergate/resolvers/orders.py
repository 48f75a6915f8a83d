"""Order capture and order reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ordergate.models.allocation import Plan, PlanLine, Want
from ordergate.models.catalog import Product
from ordergate.models.commands import PlaceOrder, check_email, check_place_order
from ordergate.models.criteria import OrderCriteria
from ordergate.models.customer import Customer
from ordergate.models.errors import DomainError, Forbidden, NotFound, Problem, ValidationFailed
from ordergate.models.events import EventType, OrderEvent
from ordergate.models.fraud import Assessment, Facts, screen
from ordergate.models.fulfillment import FulfillmentOrder, FulfillmentOrderLine
from ordergate.models.geo import haversine_km
from ordergate.models.identity import Permission, Principal, Role
from ordergate.models.inventory import Reservation, ReservationLine, ReservationStatus
from ordergate.models.lifecycle import LineQuantities, OrderAction, fulfillment_status, next_status
from ordergate.models.location import Location
from ordergate.models.order import (
    DeliveryMethod,
    HoldReason,
    Order,
    OrderHold,
    OrderLine,
    OrderStatus,
    PaymentStatus,
)
from ordergate.models.pagination import Page, check_page, decode_cursor, encode_cursor
from ordergate.models.pricing import PricedLine, as_sold, price_order
from ordergate.models.pricing import Totals as OrderTotals
from ordergate.models.routing import Decision, RoutingDecisionRecord
from ordergate.models.scope import OrderScope, order_scope
from ordergate.models.shipment import Shipment, ShipmentEvent
from ordergate.resolvers import payments
from ordergate.resolvers.allocation import Opened, announce_opened, commit_plan
from ordergate.resolvers.idempotency import Claim, claim_first
from ordergate.resolvers.inventory import (
    Destination,
    SkuStock,
    locate,
    refresh_stock,
    source_locations,
    stock_view,
)
from ordergate.resolvers.routing import decide, estimate, shortage
from ordergate.resolvers.routing import record as record_decision
from ordergate.resolvers.services import Services
from ordergate.store.events import next_value
from ordergate.store.unit_of_work import UnitOfWork

EVERYTHING = OrderScope(everything=True)
ORDER_NUMBER_COUNTER = "order_number"
FIRST_ORDER_NUMBER = 100001


@dataclass(frozen=True)
class Placed:
    """An order just taken, with what the transaction wrote for it (its lines and the work it
    opened), so its answer needs no second read; None for a repeat, which returns the first."""

    order: Order
    lines: list[OrderLine] | None = None
    opened: Opened | None = None


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
    if problems:
        raise ValidationFailed(problems)
    await refresh_stock(services, [line.sku for line in command.lines])
    async with claim_first(services, principal, "placeOrder", command.idempotency_key, command) as once:
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
    number = await reserve_order_number(services)
    try:
        async with services.store.write() as uow:
            placed = await _capture(services, uow, principal, command, number, now)
            order = placed.order
            if authorized is not None:
                key, authorization = authorized
                payments.record_authorization(
                    uow, order, command.payment_provider or "", key, authorization, now
                )
                await uow.events.append(
                    order,
                    EventType.PAYMENT_AUTHORIZED,
                    actor=principal.subject,
                    occurred_at=now,
                    data={"amount": str(authorization.amount)},
                )
            await once.complete(uow, order.id)
    except DomainError:
        if authorized is not None:  # this attempt's own authorisation: no other order has it
            await payments.void_quietly(
                services, command.payment_provider or "", authorized[1], authorized[0]
            )
        raise
    return placed


async def _stored(uow: UnitOfWork, order_id: str) -> Order:
    return (await uow.orders.by_ids([order_id], EVERYTHING))[order_id]


async def reserve_order_number(services: Services) -> int:
    """The order's number, from a transaction of its own: orders being placed do not queue on
    the counter's row lock while they allocate. A number an order does not take (refused, or a
    repeat) is skipped: numbers are unique and rising, not gapless."""
    async with services.store.write() as uow:
        return await next_value(uow.session, ORDER_NUMBER_COUNTER, start=FIRST_ORDER_NUMBER)


async def _capture(
    services: Services,
    uow: UnitOfWork,
    principal: Principal,
    command: PlaceOrder,
    number: int,
    now: datetime,
) -> Placed:
    policy = services.policy
    catalogue = await uow.catalog.products_by_skus([line.sku for line in command.lines])
    problems: list[Problem] = []
    for index, line in enumerate(command.lines):
        product = catalogue.get(line.sku)
        path = ("input", "lines", str(index), "sku")
        if product is None:
            problems.append(Problem("UNKNOWN_SKU", f"no product has SKU {line.sku}", path))
        elif not product.active:
            problems.append(Problem("PRODUCT_UNAVAILABLE", f"{line.sku} is not for sale", path))
        elif product.currency != policy.currency:
            problems.append(Problem("CURRENCY_MISMATCH", f"{line.sku} is priced in {product.currency}", path))
    pickup = None
    if command.pickup_location_id:
        pickup = (await uow.catalog.locations_by_ids([command.pickup_location_id])).get(
            command.pickup_location_id
        )
        if pickup is None or not pickup.active or not pickup.pickup_enabled:
            problems.append(
                Problem(
                    "INVALID_PICKUP_LOCATION",
                    "pickupLocationId is not a location that offers pickup",
                    ("input", "pickupLocationId"),
                )
            )
        elif not pickup.serves(command.channel):
            problems.append(
                Problem(
                    "INVALID_PICKUP_LOCATION",
                    f"that location does not serve the {command.channel} channel",
                    ("input", "pickupLocationId"),
                )
            )
    if problems:
        raise ValidationFailed(problems)

    short: ValidationFailed | None = None
    try:
        plan, consumed, view, decision = await _allocation_plan(services, uow, command, pickup, now)
    except ValidationFailed as refused:
        if not command.hold_when_short or any(p.code != "INSUFFICIENT_STOCK" for p in refused.problems):
            raise
        short, plan, consumed, view, decision = refused, Plan(()), None, {}, None

    email = check_email(command.customer.email) or command.customer.email
    customer = await uow.customers.get_or_add(
        Customer(
            email=email.lower(),
            first_name=command.customer.first_name,
            last_name=command.customer.last_name,
            phone=command.customer.phone,
            created_at=now,
        )
    )
    address = command.shipping_address
    totals = _totals(services, command, catalogue, pickup)
    risk = await _screen(services, uow, command, customer.email, totals.total.amount, now)
    order = Order(
        number=f"OG-{number}",
        channel=command.channel,
        external_reference=command.external_reference,
        source_ref=command.source_ref,
        customer_id=customer.id,
        email=customer.email,
        status=OrderStatus.PENDING,
        fulfillment_status=fulfillment_status([]),
        payment_status=PaymentStatus.PENDING,
        delivery_method=command.delivery_method,
        pickup_location_id=pickup.id if pickup else None,
        ship_name=address.name if address else None,
        ship_line1=address.line1 if address else None,
        ship_line2=address.line2 if address else None,
        ship_city=address.city if address else None,
        ship_region=address.region if address else None,
        ship_postal_code=address.postal_code if address else None,
        ship_country_code=address.country_code if address else None,
        ship_phone=address.phone if address else None,
        currency=policy.currency,
        subtotal=totals.subtotal.amount,
        tax=totals.tax.amount,
        shipping_total=totals.shipping.amount,
        shipping_tax=totals.shipping_tax,
        total=totals.total.amount,
        risk_score=risk.score,
        risk_reasons=",".join(risk.rules) or None,
        placed_by=principal.subject,
        created_at=now,
        updated_at=now,
    )
    lines = [
        OrderLine(
            order_id=order.id,
            position=index,
            sku=line.sku,
            name=catalogue[line.sku].name,
            quantity=line.quantity,
            unit_price=command.sale.unit_prices[index] if command.sale else catalogue[line.sku].price,
            tax=totals.line_taxes[index],
        )
        for index, line in enumerate(command.lines)
    ]
    await uow.orders.add(order, lines)
    if command.sale is not None:
        payments.record_storefront_payment(uow, order, command.sale, now)
    if consumed is not None:
        consumed.status = ReservationStatus.CONSUMED
        consumed.order_id = order.id
        uow.session.add(consumed)
    await uow.events.append(
        order,
        EventType.ORDER_PLACED,
        actor=principal.subject,
        occurred_at=now,
        data={"number": order.number, "channel": order.channel, "total": str(order.total)},
    )
    if risk.held:
        note = f"fraud score {risk.score}: {', '.join(risk.rules)}"
        await _hold_unrouted(uow, order, HoldReason.HIGH_RISK_OF_FRAUD, note, FRAUD_SCREEN, now)
        return Placed(order, lines, Opened([], {}, {}))
    if short is not None:  # a sale the storefront already made: kept, to route when stock comes
        note = "not enough stock to route when it arrived: " + "; ".join(p.message for p in short.problems)
        await _hold_unrouted(uow, order, HoldReason.OTHER, note[:1000], principal.subject, now)
        return Placed(order, lines, Opened([], {}, {}))
    order.promised_on = estimate(view, plan, now, pickup=pickup)
    if decision is not None:
        record_decision(uow, order.id, decision, now)
    opened = await commit_plan(uow, order, lines, plan, view, actor=principal.subject, now=now)
    await _confirm(uow, order, plan, opened, actor=principal.subject, now=now)
    return Placed(order, lines, opened)


FRAUD_SCREEN = "fraud-screen"


async def _screen(
    services: Services, uow: UnitOfWork, command: PlaceOrder, email: str, total: Decimal, now: datetime
) -> Assessment:
    """The fraud screen's facts for this order, and its verdict."""
    policy = services.policy.fraud
    recent = await uow.orders.placed_by_email_since(email, now - policy.velocity_window)
    billing, shipping = command.billing_address, command.shipping_address
    apart = None
    if billing is not None and shipping is not None:
        here = locate(services, Destination(billing.country_code, billing.postal_code))
        there = locate(services, Destination(shipping.country_code, shipping.postal_code))
        if here is not None and there is not None:
            apart = haversine_km(here, there)
    codes = tuple(a.postal_code for a in (billing, shipping) if a is not None)
    return screen(Facts(total, email, recent, apart, codes), policy)


async def _hold_unrouted(
    uow: UnitOfWork, order: Order, reason: HoldReason, note: str, actor: str, now: datetime
) -> None:
    """Taken, but not routed: ON_HOLD for an agent until released (then routed, see
    `route_held`) or cancelled."""
    order.status_before_hold = order.status
    order.status = next_status(order.status, OrderAction.HOLD)
    uow.orders.add_hold(
        OrderHold(order_id=order.id, reason=reason, note=note, placed_by=actor, placed_at=now)
    )
    await uow.events.append(
        order, EventType.ORDER_HELD, actor=actor, occurred_at=now, data={"reason": reason.value}
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
    pickup = None
    if order.pickup_location_id:
        pickup = (await uow.catalog.locations_by_ids([order.pickup_location_id])).get(
            order.pickup_location_id
        )
    shipping = order.delivery_method is DeliveryMethod.SHIP
    point = (
        locate(services, Destination(order.ship_country_code or "", order.ship_postal_code))
        if shipping
        else None
    )
    sources = source_locations(
        await uow.catalog.locations(), order.channel, order.pickup_location_id, ship=shipping
    )
    view = await stock_view(services, uow, [w.sku for w in wants], sources, point, set(), lock=True)
    decision, nodes = await decide(services, uow, wants, sources, view)
    if decision.chosen is None:
        raise shortage(wants, nodes, "route")
    plan = decision.chosen.plan
    order.promised_on = estimate(view, plan, now, pickup=pickup)
    record_decision(uow, order.id, decision, now)
    opened = await commit_plan(uow, order, lines, plan, view, actor=actor, now=now)
    await _confirm(uow, order, plan, opened, actor=actor, now=now)


def _totals(
    services: Services, command: PlaceOrder, catalogue: Mapping[str, Product], pickup: Location | None
) -> OrderTotals:
    """What the order costs: lines at catalogue prices, shipping, and tax where it goes; an
    imported sale keeps what the storefront charged."""
    if command.sale is not None:
        return as_sold(
            [
                PricedLine(price, line.quantity)
                for price, line in zip(command.sale.unit_prices, command.lines, strict=True)
            ],
            currency=services.policy.currency,
            shipping=command.sale.shipping,
            tax=command.sale.tax,
        )
    address = command.shipping_address
    tax_country = address.country_code if address else (pickup.country_code if pickup else None)
    tax_region = address.region if address else (pickup.region if pickup else None)
    return price_order(
        [PricedLine(catalogue[line.sku].price, line.quantity) for line in command.lines],
        currency=services.policy.currency,
        delivery_method=command.delivery_method,
        policy=services.policy.shipping,
        tax_country=tax_country,
        tax_region=tax_region,
        tax_rules=services.policy.tax_rules,
    )


async def quote(services: Services, command: PlaceOrder) -> Decimal | None:
    """The total the order will have, to authorise before it is taken; None when it cannot be
    priced (an unknown SKU, say), which the capture then reports."""
    async with services.store.read() as uow:
        catalogue = await uow.catalog.products_by_skus([line.sku for line in command.lines])
        pickup = None
        if command.pickup_location_id:
            pickup = (await uow.catalog.locations_by_ids([command.pickup_location_id])).get(
                command.pickup_location_id
            )
    if any(line.sku not in catalogue for line in command.lines):
        return None
    return _totals(services, command, catalogue, pickup).total.amount


async def _allocation_plan(
    services: Services, uow: UnitOfWork, command: PlaceOrder, pickup: Location | None, now: datetime
) -> tuple[Plan, Reservation | None, dict[str, SkuStock], Decision | None]:
    """Lock the SKUs' positions, then pick where every unit comes from: the order's hold when
    it has a live one that matches, else routing. Raises INSUFFICIENT_STOCK."""
    wants = [Want(line.sku, line.quantity) for line in command.lines]
    hold, hold_lines = await _live_hold(uow, command, wants, now)
    address = command.shipping_address
    point = (
        locate(services, Destination(address.country_code, address.postal_code))
        if address is not None
        else None
    )
    sources = source_locations(
        await uow.catalog.locations(),
        command.channel,
        pickup.id if pickup else None,
        ship=command.delivery_method is DeliveryMethod.SHIP,
    )
    skus = [w.sku for w in wants]
    view = await stock_view(
        services, uow, skus, sources, point, set(), lock=True, excluding_hold=hold.id if hold else None
    )
    if hold is not None:
        return Plan(tuple(PlanLine(h.sku, h.location_id, h.quantity) for h in hold_lines)), hold, view, None
    decision, nodes = await decide(services, uow, wants, sources, view)
    if decision.chosen is None:
        raise shortage(wants, nodes, "sell")
    return decision.chosen.plan, None, view, decision


async def _live_hold(
    uow: UnitOfWork, command: PlaceOrder, wants: list[Want], now: datetime
) -> tuple[Reservation | None, list[ReservationLine]]:
    """The order's reservation when it is active, unexpired and holds exactly the order's
    lines; an expired hold is simply ignored (its units may still be there)."""
    if command.reservation_id is None:
        return None, []
    field = ("input", "reservationId")
    reservation = await uow.inventory.reservation(command.reservation_id)
    if reservation is None:
        raise ValidationFailed([Problem("INVALID_RESERVATION", "no such reservation", field)])
    if reservation.status is not ReservationStatus.ACTIVE:
        raise ValidationFailed([Problem("RESERVATION_USED", "this reservation was already used", field)])
    if reservation.expires_at <= now:
        return None, []
    lines = (await uow.inventory.reservation_lines([reservation.id])).get(reservation.id, [])
    held: dict[str, int] = {}
    for line in lines:
        held[line.sku] = held.get(line.sku, 0) + line.quantity
    if held != {w.sku: w.quantity for w in wants}:
        raise ValidationFailed(
            [
                Problem(
                    "RESERVATION_MISMATCH", "the order's lines differ from what the reservation holds", field
                )
            ]
        )
    return reservation, lines


async def order(services: Services, principal: Principal, order_id: str) -> Order:
    async with services.store.read() as uow:
        found = await uow.orders.by_ids([order_id], order_scope(principal))
    if order_id not in found:
        raise NotFound("no such order", field=("id",))
    return found[order_id]


def order_cursor(record: Order) -> str:
    return encode_cursor(record.created_at, record.id)


async def orders(
    services: Services,
    principal: Principal,
    criteria: OrderCriteria,
    first: int,
    after: str | None,
) -> Page[Order]:
    scope = order_scope(principal)
    if scope.nothing:
        raise Forbidden("this role may not list orders")
    check_page(first, services.policy.page_size_cap)
    key = None
    if after:
        created_at, order_id = decode_cursor(after, 2)
        try:
            key = (datetime.fromisoformat(str(created_at)), str(order_id))
        except ValueError:
            raise ValidationFailed(
                [Problem("INVALID_CURSOR", "the cursor is not one this API gave out", ("after",))]
            ) from None
    async with services.store.read() as uow:
        rows, has_next = await uow.orders.page(scope, criteria, first, key)
        total = await uow.orders.count(scope, criteria)
    return Page(rows, has_next, total)


async def order_counts(services: Services, principal: Principal) -> dict[OrderStatus, int]:
    if not principal.can(Permission.READ_ORDER_COUNTS):
        raise Forbidden("this role may not read order counts")
    async with services.store.read() as uow:
        counts = await uow.orders.counts_by_status(order_scope(principal))
    return {status: counts.get(status, 0) for status in OrderStatus}


async def lines_by_order_ids(services: Services, ids: Sequence[str]) -> list[list[OrderLine]]:
    async with services.store.read() as uow:
        found = await uow.orders.lines_by_order_ids(ids)
    return [found.get(i, []) for i in ids]


async def fulfillment_orders_by_order_ids(
    services: Services, ids: Sequence[str]
) -> list[list[FulfillmentOrder]]:
    async with services.store.read() as uow:
        found = await uow.orders.fulfillment_orders_by_order_ids(ids)
    return [found.get(i, []) for i in ids]


async def fulfillment_lines_by_fo_ids(
    services: Services, ids: Sequence[str]
) -> list[list[FulfillmentOrderLine]]:
    async with services.store.read() as uow:
        found = await uow.orders.fulfillment_lines_by_fo_ids(ids)
    return [found.get(i, []) for i in ids]


async def shipments_by_order_ids(services: Services, ids: Sequence[str]) -> list[list[Shipment]]:
    async with services.store.read() as uow:
        found = await uow.orders.shipments_by_order_ids(ids)
    return [found.get(i, []) for i in ids]


async def shipment_events_by_shipment_ids(
    services: Services, ids: Sequence[str]
) -> list[list[ShipmentEvent]]:
    async with services.store.read() as uow:
        found = await uow.orders.shipment_events_by_shipment_ids(ids)
    return [found.get(i, []) for i in ids]


async def events_by_order_ids(services: Services, ids: Sequence[str]) -> list[list[OrderEvent]]:
    async with services.store.read() as uow:
        found = await uow.events.by_order_ids(ids)
    return [found.get(i, []) for i in ids]


def line_quantities(lines: Sequence[OrderLine]) -> list[LineQuantities]:
    return [
        LineQuantities(
            line.quantity, line.quantity_fulfilled, line.quantity_cancelled, line.quantity_returned
        )
        for line in lines
    ]


async def active_holds_by_order_ids(services: Services, ids: Sequence[str]) -> list[list[OrderHold]]:
    async with services.store.read() as uow:
        found = await uow.orders.active_holds_by_order_ids(ids)
    return [found.get(i, []) for i in ids]


async def fulfillment_orders_by_ids(services: Services, ids: Sequence[str]) -> list[FulfillmentOrder | None]:
    """For fields reached through an event the caller was allowed to receive."""
    async with services.store.read() as uow:
        found = await uow.orders.fulfillment_orders_by_ids(ids)
    return [found.get(i) for i in ids]


async def orders_by_ids(services: Services, ids: Sequence[str]) -> list[Order | None]:
    """For fields reached through something the caller may already see (a fulfilment order)."""
    async with services.store.read() as uow:
        found = await uow.orders.by_ids(ids, EVERYTHING)
    return [found.get(i) for i in ids]


async def routing_decisions_by_order_ids(
    services: Services, ids: Sequence[str]
) -> list[RoutingDecisionRecord | None]:
    async with services.store.read() as uow:
        found = await uow.orders.latest_decisions(ids)
    return [found.get(i) for i in ids]
