from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from ordergate.models.order import DeliveryMethod
from ordergate.models.pricing import (
    PricedLine,
    PricingRule,
    SaleLine,
    ShippingPolicy,
    SoldLine,
    TaxPlace,
    as_sold,
    one_line_per_sku,
    resold,
    spread,
)

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


def test_a_storefront_sale_s_discount_is_shared_over_its_lines_and_the_total_is_net_of_it() -> None:
    # two mugs at 14.00 and a lamp at 119.00, a 10.00 coupon, tax on what is left (9.25%)
    lines = [PricedLine(Decimal("14.00"), 2), PricedLine(Decimal("119.00"), 1)]

    sold = as_sold(lines, currency="USD", shipping=Decimal("0"), tax=Decimal("12.67"), discount=Decimal("10"))

    assert sold.line_discounts == (Decimal("1.90"), Decimal("8.10"))  # 28/147 and 119/147 of 10.00
    assert (sold.subtotal.amount, sold.discount, sold.total.amount) == (
        Decimal("147.00"),
        Decimal("10.00"),
        Decimal("149.67"),
    )
    assert as_sold(lines, currency="USD", shipping=Decimal(0), tax=Decimal(0)).line_discounts == (
        Decimal("0.00"),
        Decimal("0.00"),
    )


def test_a_share_is_to_the_cent_and_adds_up_with_the_odd_cents_where_the_remainders_are_largest() -> None:
    assert spread(Decimal("1.00"), [Decimal(1)] * 3) == (Decimal("0.34"), Decimal("0.33"), Decimal("0.33"))
    assert spread(Decimal("0.05"), [Decimal(10), Decimal(30)]) == (Decimal("0.01"), Decimal("0.04"))
    assert spread(Decimal("5.00"), [Decimal(0), Decimal(0)]) == (Decimal("0.00"), Decimal("0.00"))
    assert sum(spread(Decimal("10.00"), [Decimal("14.99"), Decimal("3.33"), Decimal("0.01")])) == Decimal(
        "10.00"
    )


def test_a_storefront_sale_s_cancelled_units_give_back_their_share_of_its_discount() -> None:
    lines = [
        SoldLine(Decimal("14.00"), units=2, tax=Decimal("2.41"), billable=1, discount=Decimal("1.90")),
        SoldLine(Decimal("119.00"), units=1, tax=Decimal("10.26"), billable=0, discount=Decimal("8.10")),
    ]

    after = resold(lines, currency="USD", shipping=Decimal("7.95"), shipping_tax=Decimal("0"))

    assert after.line_discounts == (Decimal("0.95"), Decimal("0.00"))
    assert after.discount == Decimal("0.95")
    assert after.total.amount == Decimal("14.00") - Decimal("0.95") + Decimal("7.95") + Decimal("1.20")


def test_a_sale_s_sku_on_several_lines_is_one_line_its_average_price_rounded_up_and_given_back() -> None:
    mug, plate = "MUG-BLUE", "PLATE-DINNER"
    lines = [
        SaleLine(mug, "Mug (Mom)", 1, Decimal("10.00")),
        SaleLine(plate, "Plate", 2, Decimal("8.00")),
        SaleLine(mug, "Mug (Dad)", 1, Decimal("10.01")),
    ]

    merged, added = one_line_per_sku(lines)
    same, nothing = one_line_per_sku([lines[0], lines[1], replace(lines[2], unit_price=Decimal("10.00"))])

    assert merged == (SaleLine(mug, "Mug (Mom)", 2, Decimal("10.01")), lines[1])
    assert added == Decimal("0.01")  # 20.02 charged on the line, 20.01 sold: a cent off again
    assert (same[0].unit_price, nothing) == (Decimal("10.00"), Decimal("0.00"))
    assert one_line_per_sku(lines[1:2]) == ((lines[1],), Decimal(0))
