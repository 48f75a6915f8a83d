"""Taking an order, decided: whether it may be taken (every SKU for sale in the store's currency,
a pickup location that offers pickup for the channel, a reservation that is live and holds
exactly its lines), what it costs, what the fraud screen makes of it, and what is written: the
order and its lines, then either a hold (the screen's, or, for a sale a storefront already
made, stock that was short) or the route its units take, to allocate and confirm.

Pure: the use case (`usecases.orders`) loads the facts, locks the stock rows and asks routing
where the units come from, asks these functions, applies the plan and commits.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ordergate.models.allocation import Plan, PlanLine, Want
from ordergate.models.catalog import Product, check_sellable
from ordergate.models.commands import MAX_NOTE, PlaceOrder, check_email, routable_sku
from ordergate.models.customer import Customer
from ordergate.models.delivery import check_choice, parse
from ordergate.models.errors import Problem, ValidationFailed
from ordergate.models.fraud import Assessment, Facts, FraudPolicy, screen
from ordergate.models.inventory import Reservation, ReservationLine, ReservationStatus, plan_hold_change
from ordergate.models.lifecycle import fulfillment_status
from ordergate.models.location import Location
from ordergate.models.order import (
    DeliveryMethod,
    HoldReason,
    Order,
    OrderHold,
    OrderLine,
    OrderStatus,
    PaymentStatus,
    ServiceLevel,
)
from ordergate.models.pricing import PricedLine, PricingRule, TaxPlace, Totals, as_sold
from ordergate.models.routing import Decision
from ordergate.models.supply import Waiting

FRAUD_SCREEN = "fraud-screen"  # who places the screen's holds
INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
SPLIT_LIMIT_EXCEEDED = "SPLIT_LIMIT_EXCEEDED"
SHORT = frozenset({INSUFFICIENT_STOCK, SPLIT_LIMIT_EXCEEDED})  # refusals for where the stock is
PICKUP_FIELD = ("pickup_location_id",)
RESERVATION_FIELD = ("reservation_id",)

NUMBER_PREFIX = "OG-"  # order numbers are OG-100001, OG-100002, ...


def normal_number(text: str) -> str:
    """An order number as a person types it (`#og-100001`, `100001`) as we keep it."""
    plain = text.strip().lstrip("#").strip().upper()
    return f"{NUMBER_PREFIX}{plain}" if plain.isdigit() else plain


@dataclass(frozen=True)
class CapturePolicy:
    pricing: PricingRule
    fraud: FraudPolicy

    @property
    def currency(self) -> str:
        return self.pricing.currency


@dataclass(frozen=True)
class Route:
    """Where the order's units come from: routing's choice (its decision, to record), or the
    order's own live reservation (used up by the order)."""

    plan: Plan
    decision: Decision | None = None
    reservation: Reservation | None = None
    waiting: tuple[Waiting, ...] = ()  # units that wait for incoming supply (`models/supply.py`)
    # Days each full node the plan takes from waits before it starts: routing's (`Decision.room`),
    # or, for a cart's hold, the held nodes' as they are when the order is placed.
    room: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CaptureFacts:
    products: Mapping[str, Product]
    pickup: Location | None
    customer: Customer  # as stored: found by email, or the one `customer_of` made
    route: Route | None  # None: the network was short and the order is kept anyway
    short: Sequence[Problem] = ()  # why routing found no route, for an order kept without one
    recent_orders: int = 0  # earlier orders from the customer's email within the fraud window
    billing_to_shipping_km: float | None = None


@dataclass(frozen=True)
class CapturePlan:
    order: Order  # PENDING as written; the hold or the confirmation moves it on
    lines: tuple[OrderLine, ...]
    risk: Assessment
    hold: OrderHold | None  # taken ON_HOLD and not routed
    route: Route | None  # allocated and confirmed; None when held
    consumes: Reservation | None  # the reservation the order uses up (held or not)


def pickup_refusal(ref: str, location: Location | None) -> Problem | None:
    """Why the location `ref` names (None: no location has that id or code) cannot be where an
    order or a hold is collected, naming it as the client knows it; None when it can be."""
    if location is None:
        why = f"no location has the id or code {ref[:64]!r}"
    elif not location.active:
        why = f"{location.code} is closed"
    elif not location.pickup_enabled:
        why = f"{location.code} does not offer pickup"
    else:
        return None
    message = f"{why}: choose another location to collect from (its id or its code), or ship it"
    return Problem("INVALID_PICKUP_LOCATION", message, PICKUP_FIELD)


def check_capture(
    command: PlaceOrder, products: Mapping[str, Product], pickup: Location | None, *, currency: str
) -> list[Problem]:
    """Each line whose SKU cannot be sold, and a pickup location that does not offer pickup
    for the order's channel."""
    problems: list[Problem] = []
    for index, line in enumerate(command.lines):
        path = ("lines", str(index), "sku")
        if not routable_sku(line.sku):  # a sale's (`check_lines` refused any other): kept, for an agent
            message = f"{line.sku!r} is not a SKU ordergate can route: sell it under another"
            problems.append(Problem("INVALID_SKU", message, path))
            continue
        problems.extend(check_sellable(line.sku, products.get(line.sku), currency, path))
    pickup_code = pickup.code if pickup is not None else None
    problems.extend(check_choice(command.delivery_option_id, command.delivery_method, pickup_code)[1])
    if command.pickup_location_id:
        refused = pickup_refusal(command.pickup_location_id, pickup)
        if refused is not None:
            problems.append(refused)
        elif pickup is not None and not pickup.serves(command.channel):
            message = f"that location does not serve the {command.channel} channel"
            problems.append(Problem("INVALID_PICKUP_LOCATION", message, PICKUP_FIELD))
    return problems


def live_reservation(reservation: Reservation | None, now: datetime) -> Reservation | None:
    """The order's reservation when it is active and unexpired; None when it expired (it is
    ignored: its units may still be there). INVALID_RESERVATION when there is none, and
    RESERVATION_USED when it was used or released."""
    if reservation is None:
        raise ValidationFailed([Problem("INVALID_RESERVATION", "no such reservation", RESERVATION_FIELD)])
    if reservation.status is not ReservationStatus.ACTIVE:
        raise ValidationFailed(
            [Problem("RESERVATION_USED", "this reservation was already used", RESERVATION_FIELD)]
        )
    return None if reservation.expires_at <= now else reservation


def reserved_route(
    reservation: Reservation, lines: Sequence[ReservationLine], wants: Sequence[Want]
) -> Route:
    """The units the order takes from its reservation, as its route: each SKU's units from the
    hold's lines in their order, as many as the order asks. A cart that shrank after it held
    stock takes what it needs; the rest is freed with the hold, which the order uses up.
    RESERVATION_MISMATCH when the order asks for a SKU the hold lacks, or for more than it holds."""
    kept = plan_hold_change(lines, wants)
    if kept.extra:
        message = "the order asks for units the reservation does not hold"
        raise ValidationFailed([Problem("RESERVATION_MISMATCH", message, RESERVATION_FIELD)])
    taken = tuple(PlanLine(line.sku, line.location_id, quantity) for line, quantity in kept.kept if quantity)
    return Route(Plan(taken), reservation=reservation)


def reserved_route_fits(route: Route, source_ids: Collection[str]) -> bool:
    """Whether every node the reservation holds the order's units at may still send them (is
    among the order's sources). One deactivated since the cart held stock, or no longer
    shipping (or offering pickup) for the order's channel, may not: the order is then routed
    afresh, and uses its reservation up all the same (the held units are free to route)."""
    return all(line.location_id in source_ids for line in route.plan.lines)


UNSELLABLE = frozenset({"UNKNOWN_SKU", "PRODUCT_UNAVAILABLE"})
KEPT_UNROUTED = UNSELLABLE | {"INVALID_SKU"}  # a sale's line's SKU that is no SKU of ours, too


def unsellable(command: PlaceOrder, problems: Sequence[Problem]) -> list[Problem]:
    """The problems `check_capture` found that a sale a storefront already made is kept with,
    unrouted and held until an agent releases it: lines our catalogue does not have (yet) or
    does not sell, or whose SKU is no SKU of ours. The merchant has the shopper's money; the
    sale must not be lost."""
    if command.sale is None:
        return []
    return [p for p in problems if p.code in KEPT_UNROUTED]


def held_for(short: Sequence[Problem]) -> HoldReason:
    """Why a sale kept unrouted is held: INCORRECT_ADDRESS when the parcel has nowhere to go
    (an agent's, or the storefront's, to fix); UNKNOWN_PRODUCT when lines the catalogue lacks
    or does not sell are all that stood in the way (let go by itself once it sells them:
    `usecases.holds.release_learned`); OTHER for stock that was short."""
    if any(p.field and p.field[0] == "shipping_address" for p in short):
        return HoldReason.INCORRECT_ADDRESS
    if short and all(p.code in UNSELLABLE for p in short):
        return HoldReason.UNKNOWN_PRODUCT
    return HoldReason.OTHER


def kept_when_short(command: PlaceOrder, problems: Sequence[Problem]) -> bool:
    """Whether an order routing refused is taken anyway, to route when stock comes: a sale a
    storefront already made (`hold_when_short`), refused for stock alone."""
    return command.hold_when_short and all(problem.code in SHORT for problem in problems)


def customer_of(command: PlaceOrder, now: datetime) -> Customer:
    """The customer to store when none has the order's email yet."""
    details = command.customer
    email = check_email(details.email) or details.email
    return Customer(
        email=email.lower(),
        first_name=details.first_name,
        last_name=details.last_name,
        phone=details.phone,
        created_at=now,
    )


def price(
    command: PlaceOrder, products: Mapping[str, Product], pickup: Location | None, policy: CapturePolicy
) -> Totals:
    """What the order costs: lines at catalogue prices, shipping, and tax where it goes (for a
    pickup, where it is picked up); an imported sale keeps what the storefront charged."""
    if command.sale is not None:
        return as_sold(
            [
                PricedLine(unit_price, line.quantity)
                for unit_price, line in zip(command.sale.unit_prices, command.lines, strict=True)
            ],
            currency=policy.currency,
            shipping=command.sale.shipping,
            tax=command.sale.tax,
            discount=command.sale.discount,
        )
    address = command.shipping_address
    place = address or pickup
    return policy.pricing.price(
        [PricedLine(products[line.sku].price, line.quantity) for line in command.lines],
        delivery_method=command.delivery_method,
        level=service_level(command) or ServiceLevel.STANDARD,
        destination=TaxPlace(place.country_code, place.region) if place else TaxPlace(None, None),
    )


def service_level(command: PlaceOrder) -> ServiceLevel | None:
    """How fast a shipped order goes: its chosen option's level, else STANDARD; None for a
    pickup. An id that is not an option's is refused by `check_capture`."""
    if command.delivery_method is not DeliveryMethod.SHIP:
        return None
    chosen = parse(command.delivery_option_id) if command.delivery_option_id else None
    return chosen.level if chosen is not None else ServiceLevel.STANDARD


def plan_capture(
    command: PlaceOrder,
    facts: CaptureFacts,
    policy: CapturePolicy,
    *,
    number: int,
    placed_by: str,
    now: datetime,
) -> CapturePlan:
    """The order `check_capture` let through, priced and screened: the records to write, and
    whether it is held (the screen first, then stock that was short) or routed."""
    totals = price(command, facts.products, facts.pickup, policy)
    risk = screen(_risk_facts(command, facts, totals), policy.fraud)
    order = _order(
        command, facts, totals, risk, currency=policy.currency, number=number, placed_by=placed_by, now=now
    )
    lines = tuple(
        OrderLine(
            order_id=order.id,
            position=index,
            sku=line.sku,
            name=_name(command, facts.products, index),
            quantity=line.quantity,
            unit_price=command.sale.unit_prices[index] if command.sale else facts.products[line.sku].price,
            tax=totals.line_taxes[index],
            discount=totals.line_discounts[index] if totals.line_discounts else Decimal("0.00"),
        )
        for index, line in enumerate(command.lines)
    )
    hold = None
    if risk.held:
        note = f"fraud score {risk.score}: {', '.join(risk.rules)}"
        hold = _hold(order, HoldReason.HIGH_RISK_OF_FRAUD, note, FRAUD_SCREEN, now)
    elif facts.route is None:  # a sale the storefront already made: kept, routed when released
        note = "could not be routed when it arrived: " + "; ".join(p.message for p in facts.short)
        hold = _hold(order, held_for(facts.short), note[:MAX_NOTE], placed_by, now)
    consumes = facts.route.reservation if facts.route else None
    return CapturePlan(order, lines, risk, hold, None if hold else facts.route, consumes)


def _name(command: PlaceOrder, products: Mapping[str, Product], index: int) -> str:
    """A line's name: its product's, or for a sale's line the catalogue lacks, the seller's."""
    sku = command.lines[index].sku
    if sku in products:
        return products[sku].name
    names = command.sale.names if command.sale is not None else ()
    return names[index] if index < len(names) and names[index] else sku


def _risk_facts(command: PlaceOrder, facts: CaptureFacts, totals: Totals) -> Facts:
    addresses = (command.billing_address, command.shipping_address)
    return Facts(
        totals.total.amount,
        facts.customer.email,
        facts.recent_orders,
        facts.billing_to_shipping_km,
        tuple(address.postal_code for address in addresses if address is not None),
    )


def _hold(order: Order, reason: HoldReason, note: str, placed_by: str, now: datetime) -> OrderHold:
    return OrderHold(order_id=order.id, reason=reason, note=note, placed_by=placed_by, placed_at=now)


def _order(
    command: PlaceOrder,
    facts: CaptureFacts,
    totals: Totals,
    risk: Assessment,
    *,
    currency: str,
    number: int,
    placed_by: str,
    now: datetime,
) -> Order:
    address, pickup = command.shipping_address, facts.pickup
    return Order(
        number=f"{NUMBER_PREFIX}{number}",
        channel=command.channel,
        external_reference=command.external_reference,
        source_ref=command.source_ref,
        customer_id=facts.customer.id,
        email=facts.customer.email,
        status=OrderStatus.PENDING,
        fulfillment_status=fulfillment_status([]),
        payment_status=PaymentStatus.PENDING,
        delivery_method=command.delivery_method,
        pickup_location_id=pickup.id if pickup else None,
        shipping_address=address,
        currency=currency,
        subtotal=totals.subtotal.amount,
        tax=totals.tax.amount,
        shipping_total=totals.shipping.amount,
        shipping_tax=totals.shipping_tax,
        discount=totals.discount,
        total=totals.total.amount,
        risk_score=risk.score,
        risk_reasons=",".join(risk.rules) or None,
        service_level=service_level(command),
        bill_country_code=command.billing_address.country_code if command.billing_address else None,
        bill_postal_code=command.billing_address.postal_code if command.billing_address else None,
        locale=command.locale,
        placed_by=placed_by,
        created_at=now,
        updated_at=now,
    )
