from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from ordergate.models.order import DeliveryMethod
from ordergate.models.pricing import PricedLine, PricingRule, ShippingPolicy, SoldLine, TaxPlace, resold

POLICY = ShippingPolicy(flat_rate=Decimal("7.95"), free_over=Decimal("75.00"))
RULE = PricingRule("USD", POLICY)


def test_small_shipped_order_pays_flat_shipping_and_state_tax() -> None:
    totals = RULE.price(
        [PricedLine(Decimal("14.00"), 2)],
        delivery_method=DeliveryMethod.SHIP,
        destination=TaxPlace("US", "TX"),
    )
    assert totals.subtotal.amount == Decimal("28.00")
    assert totals.shipping.amount == Decimal("7.95")
    assert totals.tax.amount == Decimal("2.25")  # 35.95 * 6.25% = 2.246875
    assert totals.total.amount == Decimal("38.20")


def test_orders_over_the_threshold_and_pickups_ship_free() -> None:
    for method, lines in (
        (DeliveryMethod.SHIP, [PricedLine(Decimal("89.00"), 1)]),
        (DeliveryMethod.PICKUP, [PricedLine(Decimal("14.00"), 1)]),
    ):
        totals = RULE.price(lines, delivery_method=method, destination=TaxPlace("GB", None))
        assert totals.shipping.amount == Decimal("0.00")
        assert totals.tax.amount == Decimal("0.00")
        assert totals.total == totals.subtotal


def test_an_order_keeps_the_shipping_it_bought_while_anything_is_charged() -> None:
    texas = TaxPlace("US", "TX")
    placed = RULE.price(
        [PricedLine(Decimal("40.00"), 2)], delivery_method=DeliveryMethod.SHIP, destination=texas
    )
    one_left = RULE.price(
        [PricedLine(Decimal("40.00"), 1)],
        delivery_method=DeliveryMethod.SHIP,
        destination=texas,
        shipping=placed.shipping.amount,
    )
    none_left = RULE.price(
        [PricedLine(Decimal("40.00"), 0)],
        delivery_method=DeliveryMethod.SHIP,
        destination=texas,
        shipping=Decimal("7.95"),
    )

    assert placed.shipping.amount == Decimal("0.00")  # 80.00 is over the free-shipping threshold
    assert (one_left.shipping.amount, one_left.total.amount) == (Decimal("0.00"), Decimal("42.50"))
    assert (none_left.shipping.amount, none_left.tax.amount, none_left.total.amount) == (Decimal(0),) * 3


def test_a_storefront_sale_keeps_its_own_tax_per_unit_when_units_are_cancelled() -> None:
    lines = [
        SoldLine(Decimal("10.00"), units=3, tax=Decimal("2.00"), billable=2),
        SoldLine(Decimal("5.00"), units=1, tax=Decimal("0.41"), billable=1),
    ]

    after = resold(lines, currency="USD", shipping=Decimal("4.00"), shipping_tax=Decimal("0.33"))
    nothing = resold(
        [replace(line, billable=0) for line in lines],
        currency="USD",
        shipping=Decimal("4.00"),
        shipping_tax=Decimal("0.33"),
    )

    assert after.line_taxes == (Decimal("1.33"), Decimal("0.41"))
    assert (after.subtotal.amount, after.tax.amount, after.total.amount) == (
        Decimal("25.00"),
        Decimal("2.07"),
        Decimal("31.07"),
    )
    assert (nothing.total.amount, nothing.shipping.amount, nothing.shipping_tax) == (Decimal(0),) * 3
