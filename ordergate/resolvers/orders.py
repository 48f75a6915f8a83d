"""Order capture and order reads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from ordergate.models.allocation import Plan, PlanLine, Want
from ordergate.models.catalog import Product
from ordergate.models.commands import PlaceOrder, check_email, check_place_order
from ordergate.models.criteria import OrderCriteria
from ordergate.models.customer import Customer
from ordergate.models.errors import DomainError, Forbidden, NotFound, Problem, ValidationFailed
from ordergate.models.events import EventType, OrderEvent
from ordergate.models.fulfillment import FulfillmentOrder, FulfillmentOrderLine
from ordergate.models.identity import Permission, Principal, Role
from ordergate.models.inventory import Reservation, ReservationLine, ReservationStatus
from ordergate.models.lifecycle import LineQuantities, OrderAction, fulfillment_status, next_status
from ordergate.models.location import Location
from ordergate.models.order import DeliveryMethod, Order, OrderHold, OrderLine, OrderStatus, PaymentStatus
from ordergate.models.pagination import Page, check_page, decode_cursor, encode_cursor
from ordergate.models.pricing import PricedLine, price_order
from ordergate.models.pricing import Totals as OrderTotals
from ordergate.models.routing import Decision, RoutingDecisionRecord
from ordergate.models.scope import OrderScope, order_scope
from ordergate.models.shipment import Shipment, ShipmentEvent
from ordergate.resolvers import payments
from ordergate.resolvers.allocation import announce_opened, commit_plan
from ordergate.resolvers.idempotency import claim
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


async def place_order(services: Services, principal: Principal, command: PlaceOrder) -> Order:
    """Capture an order. A repeat with the same idempotency key returns the first order."""
    if not principal.can(Permission.PLACE_ORDER):
        raise Forbidden("this role may not place orders")
    if principal.role is Role.CUSTOMER and not principal.owns_email(command.customer.email):
        raise Forbidden("customers place orders under their own email")
    problems = check_place_order(command, services.policy.limits)
    if problems:
        raise ValidationFailed(problems)
    await refresh_stock(services, [line.sku for line in command.lines])
    authorized = None
    if command.payment_provider is not None and command.payment_token is not None:
        total = await quote(services, command)
        if total is not None:  # an order that cannot be priced is refused below, with the reason
            authorized = await payments.authorize(
                services,
                principal,
                provider_name=command.payment_provider,
                token=command.payment_token,
                amount=total,
                requested=command.payment_amount,
                idempotency_key=command.idempotency_key,
            )
    now = services.clock()
    try:
        async with services.store.write() as uow:
            once = await claim(services, uow, principal, "placeOrder", command.idempotency_key, command)
            if once.result_id is not None:
                return await _stored(uow, once.result_id)
            order = await _capture(services, uow, principal, command, now)
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
            once.complete(uow, order.id)
    except DomainError:
        if authorized is not None:  # not taken after all: release the card
            await payments.void_quietly(
                services, command.payment_provider or "", authorized[1], authorized[0]
            )
        raise
    await services.broker.notify()
    services.outbox_ready.set()
    return order


async def _stored(uow: UnitOfWork, order_id: str) -> Order:
    return (await uow.orders.by_ids([order_id], EVERYTHING))[order_id]


async def _capture(
    services: Services, uow: UnitOfWork, principal: Principal, command: PlaceOrder, now: datetime
) -> Order:
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

    plan, consumed, view, decision = await _allocation_plan(services, uow, command, pickup, now)

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
    number = await next_value(uow.session, ORDER_NUMBER_COUNTER, start=FIRST_ORDER_NUMBER)
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
        total=totals.total.amount,
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
            unit_price=catalogue[line.sku].price,
        )
        for index, line in enumerate(command.lines)
    ]
    order.promised_on = estimate(view, plan, now, pickup=pickup)
    await uow.orders.add(order, lines)
    if decision is not None:
        record_decision(uow, order.id, decision, now)
    opened = await commit_plan(uow, order, lines, plan, view, actor=principal.subject, now=now)
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
    order.status = next_status(order.status, OrderAction.CONFIRM)
    await uow.events.append(
        order,
        EventType.ORDER_CONFIRMED,
        actor=principal.subject,
        occurred_at=now,
        data={"locations": plan.locations},
    )
    await announce_opened(uow, order, opened, actor=principal.subject, now=now)
    return order


def _totals(
    services: Services, command: PlaceOrder, catalogue: Mapping[str, Product], pickup: Location | None
) -> OrderTotals:
    """What the order costs: lines at catalogue prices, shipping, and tax where it goes."""
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
