"""The capture planner over plain records: which orders may be taken and why not, what they
cost, and what is written for each (routed, held by the fraud screen, or kept short of stock)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from ordergate.models.allocation import Plan, PlanLine, Want
from ordergate.models.capture import (
    FRAUD_SCREEN,
    CaptureFacts,
    CapturePlan,
    CapturePolicy,
    Route,
    check_capture,
    customer_of,
    held_for,
    kept_when_short,
    live_reservation,
    plan_capture,
    price,
    reserved_route,
    reserved_route_fits,
    unsellable,
)
from ordergate.models.commands import CustomerDetails, ExternalSale, LineRequest
from ordergate.models.countries import is_country, postal_code_fits
from ordergate.models.errors import Problem, ValidationFailed
from ordergate.models.fraud import FraudPolicy, RiskRule
from ordergate.models.inventory import ReservationStatus, plan_hold_change, release_problem
from ordergate.models.order import DeliveryMethod, HoldReason, OrderStatus, PaymentStatus
from ordergate.models.pricing import DEFAULT_RULES, PricingRule, ShippingPolicy
from tests.models.records import (
    NOW,
    a_customer,
    a_location,
    a_place_order,
    a_product,
    a_reservation,
    a_reservation_line,
    an_address,
)

POLICY = CapturePolicy(
    PricingRule("USD", ShippingPolicy(flat_rate=Decimal("7.95"), free_over=Decimal("75.00")), DEFAULT_RULES),
    FraudPolicy(),
)
PRODUCTS = {sku: a_product(sku) for sku in ("MUG-BLUE", "KETTLE-STEEL")}
ROUTED = Route(Plan((PlanLine("MUG-BLUE", "loc-dc-dfw", 2),)))
SHORT = (Problem("INSUFFICIENT_STOCK", "not enough MUG-BLUE to sell 2", ("lines", "0", "quantity")),)


def facts(**overrides: Any) -> CaptureFacts:
    fields: dict[str, Any] = {
        "products": PRODUCTS,
        "pickup": None,
        "customer": a_customer(),
        "route": ROUTED,
    }
    return CaptureFacts(**(fields | overrides))


def capture(command: Any = None, policy: CapturePolicy = POLICY, **overrides: Any) -> CapturePlan:
    return plan_capture(
        command or a_place_order(), facts(**overrides), policy, number=100001, placed_by="ann", now=NOW
    )


def problems(raised: pytest.ExceptionInfo[ValidationFailed]) -> list[tuple[str, tuple[str, ...] | None]]:
    return [(p.code, p.field) for p in raised.value.problems]


# --- what may be taken ---------------------------------------------------------------------


def test_every_line_that_cannot_be_sold_is_named_at_once() -> None:
    products = {
        "MUG-BLUE": a_product("MUG-BLUE", active=False),
        "KETTLE-STEEL": a_product("KETTLE-STEEL", currency="EUR"),
    }
    command = a_place_order(
        LineRequest("MUG-BLUE", 1), LineRequest("NOPE-1", 1), LineRequest("KETTLE-STEEL", 1)
    )

    found = check_capture(command, products, None, currency="USD")

    assert [(p.code, p.field) for p in found] == [
        ("PRODUCT_UNAVAILABLE", ("lines", "0", "sku")),
        ("UNKNOWN_SKU", ("lines", "1", "sku")),
        ("CURRENCY_MISMATCH", ("lines", "2", "sku")),
    ]


@pytest.mark.parametrize(
    ("pickup", "why"),
    [
        (None, "no location has the id or code 'loc-st-chi': "),
        (a_location("ST-CHI", active=False), "ST-CHI is closed: "),
        (a_location("ST-CHI", pickup_enabled=False), "ST-CHI does not offer pickup: "),
        (a_location("ST-CHI", channels=["pos"]), "that location does not serve the web channel"),
    ],
    ids=["unknown", "inactive", "no-pickup", "other-channel"],
)
def test_a_pickup_location_must_offer_pickup_for_the_orders_channel(pickup: Any, why: str) -> None:
    """Refused, saying why, with the location named as the client knows it (its code)."""
    command = a_place_order(
        delivery_method=DeliveryMethod.PICKUP, shipping_address=None, pickup_location_id="loc-st-chi"
    )

    found = check_capture(command, PRODUCTS, pickup, currency="USD")

    assert [(p.code, p.field) for p in found] == [("INVALID_PICKUP_LOCATION", ("pickup_location_id",))]
    assert found[0].message.startswith(why)


def test_a_sellable_order_for_a_pickup_that_serves_its_channel_passes() -> None:
    command = a_place_order(
        delivery_method=DeliveryMethod.PICKUP, shipping_address=None, pickup_location_id="loc-st-chi"
    )

    assert check_capture(command, PRODUCTS, a_location("ST-CHI", channels=["web"]), currency="USD") == []


def test_a_missing_or_used_reservation_is_refused_and_an_expired_one_ignored() -> None:
    with pytest.raises(ValidationFailed) as missing:
        live_reservation(None, NOW)
    with pytest.raises(ValidationFailed) as used:
        live_reservation(a_reservation(status=ReservationStatus.CONSUMED), NOW)

    assert problems(missing) == [("INVALID_RESERVATION", ("reservation_id",))]
    assert problems(used) == [("RESERVATION_USED", ("reservation_id",))]
    assert live_reservation(a_reservation(expires_at=NOW), NOW) is None  # expires at the instant
    live = a_reservation(expires_at=NOW + timedelta(seconds=1))
    assert live_reservation(live, NOW) is live


def test_a_reservation_that_holds_exactly_the_lines_is_the_orders_route() -> None:
    held = [
        a_reservation_line("MUG-BLUE", "loc-dc-dfw", 1),
        a_reservation_line("MUG-BLUE", "loc-dc-ewr", 1),
        a_reservation_line("KETTLE-STEEL", "loc-dc-dfw", 1),
    ]
    reservation = a_reservation()

    route = reserved_route(reservation, held, [Want("MUG-BLUE", 2), Want("KETTLE-STEEL", 1)])

    assert route.plan.lines == (
        PlanLine("MUG-BLUE", "loc-dc-dfw", 1),
        PlanLine("MUG-BLUE", "loc-dc-ewr", 1),
        PlanLine("KETTLE-STEEL", "loc-dc-dfw", 1),
    )
    assert route.reservation is reservation
    assert route.decision is None


@pytest.mark.parametrize(
    "wants",
    [[Want("MUG-BLUE", 3)], [Want("MUG-BLUE", 2), Want("KETTLE-STEEL", 1)], [Want("KETTLE-STEEL", 1)]],
    ids=["more", "another-sku", "only-another-sku"],
)
def test_a_reservation_that_holds_other_lines_is_refused(wants: list[Want]) -> None:
    with pytest.raises(ValidationFailed) as raised:
        reserved_route(a_reservation(), [a_reservation_line("MUG-BLUE", "loc-dc-dfw", 2)], wants)

    assert problems(raised) == [("RESERVATION_MISMATCH", ("reservation_id",))]


def test_a_cart_that_shrank_takes_what_it_needs_from_its_hold_in_line_order() -> None:
    held = [
        a_reservation_line("MUG-BLUE", "loc-dc-dfw", 2),
        a_reservation_line("MUG-BLUE", "loc-dc-ewr", 2),
        a_reservation_line("KETTLE-STEEL", "loc-dc-dfw", 1),
    ]

    route = reserved_route(a_reservation(), held, [Want("MUG-BLUE", 3)])

    assert route.plan.lines == (
        PlanLine("MUG-BLUE", "loc-dc-dfw", 2),
        PlanLine("MUG-BLUE", "loc-dc-ewr", 1),
    )


@pytest.mark.parametrize(
    ("sources", "fits"),
    [
        ({"loc-dc-dfw", "loc-dc-ewr", "loc-st-chi"}, True),
        ({"loc-dc-dfw", "loc-dc-ewr"}, True),
        ({"loc-dc-dfw"}, False),  # ewr deactivated, or no longer shipping for the channel
        (set(), False),
    ],
)
def test_a_reservation_is_the_route_only_while_every_node_it_takes_from_is_a_source(
    sources: set[str], fits: bool
) -> None:
    held = [
        a_reservation_line("MUG-BLUE", "loc-dc-dfw", 2),
        a_reservation_line("MUG-BLUE", "loc-dc-ewr", 2),
    ]

    assert reserved_route_fits(reserved_route(a_reservation(), held, [Want("MUG-BLUE", 3)]), sources) is fits
    # a node the shrunk cart no longer takes from does not count
    assert reserved_route_fits(reserved_route(a_reservation(), held, [Want("MUG-BLUE", 2)]), {"loc-dc-dfw"})


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"status": ReservationStatus.CONSUMED}, "the hold was used by an order"),
        ({"status": ReservationStatus.RELEASED}, "the hold was already released"),
        ({"expires_at": NOW}, "the hold has expired"),
        ({}, None),
    ],
    ids=["used", "released", "expired", "live"],
)
def test_only_a_live_hold_can_be_released(overrides: dict[str, Any], reason: str | None) -> None:
    problem = release_problem(a_reservation(**overrides), NOW, ("id",))

    found = (problem.code, problem.message, problem.field) if problem else None
    assert found == (("HOLD_NOT_ACTIVE", reason, ("id",)) if reason else None)


def test_a_hold_changed_keeps_its_first_units_gives_back_the_rest_and_finds_what_is_new() -> None:
    dfw, ewr, kettle = (
        a_reservation_line("MUG-BLUE", "loc-dc-dfw", 2),
        a_reservation_line("MUG-BLUE", "loc-dc-ewr", 2),
        a_reservation_line("KETTLE-STEEL", "loc-dc-dfw", 1),
    )

    fewer = plan_hold_change([dfw, ewr, kettle], [Want("MUG-BLUE", 3), Want("KETTLE-STEEL", 1)])
    more = plan_hold_change([dfw, ewr, kettle], [Want("MUG-BLUE", 6), Want("PLATE-DINNER", 2)])

    assert [(line, quantity) for line, quantity in fewer.kept] == [(dfw, 2), (ewr, 1), (kettle, 1)]
    assert (fewer.extra, fewer.frees) == ((), True)
    assert [(line, quantity) for line, quantity in more.kept] == [(dfw, 2), (ewr, 2), (kettle, 0)]
    assert more.extra == (Want("MUG-BLUE", 2), Want("PLATE-DINNER", 2))


def test_only_a_storefronts_sale_short_of_stock_alone_is_kept() -> None:
    imported = a_place_order(hold_when_short=True)
    other = Problem("INVALID_PICKUP_LOCATION", "no", ("pickup_location_id",))

    assert kept_when_short(imported, SHORT) is True
    assert kept_when_short(imported, (*SHORT, other)) is False
    assert kept_when_short(a_place_order(), SHORT) is False
    too_split = Problem("SPLIT_LIMIT_EXCEEDED", "in 3 locations, at most 2", ("lines",))
    assert kept_when_short(imported, (too_split,)) is True
    assert kept_when_short(a_place_order(), (too_split,)) is False


# --- what it costs -------------------------------------------------------------------------


def test_a_shipped_order_pays_catalogue_prices_flat_shipping_and_tax_where_it_goes() -> None:
    totals = price(a_place_order(), PRODUCTS, None, POLICY)

    assert (totals.subtotal.amount, totals.shipping.amount) == (Decimal("28.00"), Decimal("7.95"))
    assert totals.line_taxes == (Decimal("1.75"),)  # Texas: 6.25%
    assert (totals.shipping_tax, totals.total.amount) == (Decimal("0.50"), Decimal("38.20"))


def test_a_pickup_is_taxed_where_it_is_picked_up_and_ships_free() -> None:
    command = a_place_order(
        delivery_method=DeliveryMethod.PICKUP, shipping_address=None, pickup_location_id="loc-st-chi"
    )

    totals = price(command, PRODUCTS, a_location("ST-CHI", region="IL"), POLICY)

    assert totals.shipping.amount == Decimal("0.00")
    assert totals.tax.amount == Decimal("1.75")  # Illinois: 6.25% of 28.00
    assert totals.total.amount == Decimal("29.75")


def test_an_imported_sale_keeps_what_the_storefront_charged() -> None:
    sale = ExternalSale(
        "bigcommerce", "123", (Decimal("12.00"),), Decimal("5.00"), Decimal("2.00"), Decimal(0), Decimal(0)
    )
    command = a_place_order(sale=sale, source_ref="bigcommerce:123")

    plan = capture(command)

    assert (plan.order.subtotal, plan.order.shipping_total, plan.order.tax) == (
        Decimal("24.00"),
        Decimal("5.00"),
        Decimal("2.00"),
    )
    assert plan.order.total == Decimal("31.00")
    assert [(line.unit_price, line.tax) for line in plan.lines] == [(Decimal("12.00"), Decimal("2.00"))]
    assert plan.order.source_ref == "bigcommerce:123"


# --- what is written -----------------------------------------------------------------------


def test_a_routed_order_is_written_pending_priced_and_with_its_route() -> None:
    plan = capture()

    order = plan.order
    assert (order.number, order.status, order.payment_status) == (
        "OG-100001",
        OrderStatus.PENDING,
        PaymentStatus.PENDING,
    )
    assert (order.customer_id, order.email, order.placed_by) == ("customer-1", "ann@example.com", "ann")
    assert order.shipping_address is not None
    assert (order.shipping_address.city, order.shipping_address.region, order.pickup_location_id) == (
        "Austin",
        "TX",
        None,
    )
    assert order.total == Decimal("38.20")
    assert (order.risk_score, order.risk_reasons) == (0, None)
    assert order.created_at == order.updated_at == NOW
    assert [
        (line.order_id, line.position, line.sku, line.name, line.quantity, line.unit_price)
        for line in plan.lines
    ] == [(order.id, 0, "MUG-BLUE", "Mug-Blue", 2, Decimal("14.00"))]
    assert plan.hold is None
    assert plan.route == ROUTED
    assert plan.consumes is None


def test_a_pickup_order_names_its_location_and_no_address() -> None:
    command = a_place_order(
        delivery_method=DeliveryMethod.PICKUP, shipping_address=None, pickup_location_id="loc-st-chi"
    )

    plan = capture(command, pickup=a_location("ST-CHI"))

    assert plan.order.pickup_location_id == "loc-st-chi"
    assert plan.order.shipping_address is None
    assert plan.order.delivery_method is DeliveryMethod.PICKUP


def test_a_blocklisted_order_is_held_for_the_fraud_screen_and_not_routed() -> None:
    policy = replace(POLICY, fraud=FraudPolicy(blocklist=frozenset({"@fraud.example"})))

    plan = capture(policy=policy, customer=a_customer("mallory@fraud.example"))

    assert plan.hold is not None
    assert (plan.hold.reason, plan.hold.placed_by, plan.hold.placed_at) == (
        HoldReason.HIGH_RISK_OF_FRAUD,
        FRAUD_SCREEN,
        NOW,
    )
    assert plan.hold.order_id == plan.order.id
    assert plan.hold.note == "fraud score 100: BLOCKLISTED"
    assert plan.route is None
    assert (plan.order.risk_score, plan.order.risk_reasons) == (100, "BLOCKLISTED")


def test_the_screen_weighs_value_velocity_and_distance_and_holds_at_its_threshold() -> None:
    big = {"KETTLE-STEEL": a_product("KETTLE-STEEL", price=Decimal("1000.00"))}
    command = a_place_order(LineRequest("KETTLE-STEEL", 1), billing_address=an_address(postal_code="10001"))

    fast = capture(command, products=big, recent_orders=3)
    far = capture(command, products=big, billing_to_shipping_km=500.1)
    near = capture(command, products=big, billing_to_shipping_km=500.0)

    assert (fast.risk.rules, fast.risk.score, fast.hold is not None) == (
        (RiskRule.HIGH_VALUE, RiskRule.VELOCITY),
        80,
        True,
    )
    assert (far.risk.rules, far.risk.score, far.hold is not None) == (
        (RiskRule.HIGH_VALUE, RiskRule.ADDRESS_MISMATCH),
        70,
        True,
    )
    assert (near.risk.rules, near.hold, near.route) == ((RiskRule.HIGH_VALUE,), None, ROUTED)


def test_a_blocklisted_billing_postal_code_holds_the_order() -> None:
    policy = replace(POLICY, fraud=FraudPolicy(blocklist=frozenset({"10001"})))
    command = a_place_order(billing_address=an_address(postal_code="10 001"))

    plan = capture(command, policy=policy)

    assert plan.risk.rules == (RiskRule.BLOCKLISTED,)
    assert plan.hold is not None


def test_a_sale_short_of_stock_is_kept_on_hold_by_its_placer_saying_what_was_short() -> None:
    plan = capture(a_place_order(hold_when_short=True), route=None, short=SHORT)

    assert plan.hold is not None
    assert (plan.hold.reason, plan.hold.placed_by) == (HoldReason.OTHER, "ann")
    assert plan.hold.note == "could not be routed when it arrived: not enough MUG-BLUE to sell 2"
    assert plan.route is None


def test_a_sale_s_line_the_catalogue_lacks_is_kept_not_a_refusal_of_an_order_of_ours() -> None:
    sale = ExternalSale(
        "bigcommerce",
        "9",
        (Decimal("14.00"), Decimal("5.00")),
        Decimal(0),
        Decimal(0),
        Decimal(0),
        Decimal(0),
    )
    lines = (LineRequest("MUG-BLUE", 1), LineRequest("GIFT-WRAP", 1))
    imported = a_place_order(
        lines=lines, sale=replace(sale, names=("Mug", "Gift wrap")), hold_when_short=True
    )
    ours = a_place_order(lines=lines)
    retired = {**PRODUCTS, "GIFT-WRAP": a_product("GIFT-WRAP", active=False)}

    problems = check_capture(imported, PRODUCTS, None, currency="USD")
    kept = unsellable(imported, problems)
    plan = capture(imported, route=None, short=tuple(kept))

    assert [(p.code, p.field) for p in kept] == [("UNKNOWN_SKU", ("lines", "1", "sku"))]
    assert unsellable(ours, check_capture(ours, PRODUCTS, None, currency="USD")) == []
    assert [p.code for p in unsellable(imported, check_capture(imported, retired, None, currency="USD"))] == [
        "PRODUCT_UNAVAILABLE"
    ]
    assert plan.hold is not None
    assert plan.hold.reason is HoldReason.UNKNOWN_PRODUCT  # let go by itself once the catalogue has it
    assert plan.hold.note == "could not be routed when it arrived: no product has SKU GIFT-WRAP"
    # the line the catalogue lacks is named as the storefront sold it; the other as ours
    assert [(line.sku, line.name, line.unit_price) for line in plan.lines] == [
        ("MUG-BLUE", PRODUCTS["MUG-BLUE"].name, Decimal("14.00")),
        ("GIFT-WRAP", "Gift wrap", Decimal("5.00")),
    ]


def test_a_long_shortage_note_is_cut_to_what_a_hold_keeps() -> None:
    many = tuple(replace(SHORT[0], message="x" * 300) for _ in range(5))

    plan = capture(a_place_order(hold_when_short=True), route=None, short=many)

    assert plan.hold is not None
    assert plan.hold.note is not None
    assert len(plan.hold.note) == 1000


def test_the_fraud_screen_holds_before_a_shortage_does() -> None:
    policy = replace(POLICY, fraud=FraudPolicy(blocklist=frozenset({"ann@example.com"})))

    plan = capture(a_place_order(hold_when_short=True), policy=policy, route=None, short=SHORT)

    assert plan.hold is not None
    assert plan.hold.placed_by == FRAUD_SCREEN


def test_an_order_uses_up_its_reservation_even_when_held() -> None:
    reservation = a_reservation()
    route = Route(Plan((PlanLine("MUG-BLUE", "loc-dc-dfw", 2),)), reservation=reservation)
    policy = replace(POLICY, fraud=FraudPolicy(blocklist=frozenset({"ann@example.com"})))

    routed = capture(route=route)
    held = capture(policy=policy, route=route)

    assert (routed.consumes, routed.route) == (reservation, route)
    assert (held.consumes, held.route) == (reservation, None)
    assert reservation.status is ReservationStatus.ACTIVE  # the planner changes nothing it is given


def test_a_new_customer_is_stored_under_the_normalised_lower_case_email() -> None:
    command = a_place_order(customer=CustomerDetails("Ann.Lee@Example.COM", "Ann", "Lee", "+1 512 555 0100"))

    customer = customer_of(command, NOW)

    assert (customer.email, customer.first_name, customer.last_name) == ("ann.lee@example.com", "Ann", "Lee")
    assert (customer.phone, customer.created_at) == ("+1 512 555 0100", NOW)


@pytest.mark.parametrize(
    ("country", "postal_code", "fits"),
    [
        ("US", "78701", True),
        ("US", "78701-1234", True),
        ("US", "ABCDE", False),
        ("US", "7870", False),
        ("CA", "M5V 2T6", True),
        ("CA", "m5v2t6", True),
        ("CA", "12345", False),
        ("GB", "SW1A 1AA", True),
        ("NL", "1012 AB", True),
        ("KE", "00100", True),  # no format known: any code
    ],
)
def test_postal_codes_have_their_countrys_format(country: str, postal_code: str, fits: bool) -> None:
    assert postal_code_fits(country, postal_code) is fits
    assert is_country(country)
    assert not is_country("ZZ")


@pytest.mark.parametrize(
    ("codes", "reason"),
    [
        (("UNKNOWN_SKU",), HoldReason.UNKNOWN_PRODUCT),
        (("UNKNOWN_SKU", "PRODUCT_UNAVAILABLE"), HoldReason.UNKNOWN_PRODUCT),
        (("UNKNOWN_SKU", "ADDRESS_INCOMPLETE"), HoldReason.INCORRECT_ADDRESS),  # an agent's either way
        (("INSUFFICIENT_STOCK",), HoldReason.OTHER),
        ((), HoldReason.OTHER),
    ],
)
def test_a_sale_kept_unrouted_is_held_for_what_stood_in_its_way(
    codes: tuple[str, ...], reason: HoldReason
) -> None:
    fields = {"ADDRESS_INCOMPLETE": ("shipping_address", "postal_code")}
    short = [Problem(code, code.lower(), fields.get(code, ("lines", "0", "sku"))) for code in codes]

    assert held_for(short) is reason
