from __future__ import annotations

from decimal import Decimal

from ordergate.models.order import DeliveryMethod
from ordergate.models.pricing import PricedLine, ShippingPolicy, price_order

POLICY = ShippingPolicy(flat_rate=Decimal("7.95"), free_over=Decimal("75.00"))


def test_small_shipped_order_pays_flat_shipping_and_state_tax() -> None:
    totals = price_order(
        [PricedLine(Decimal("14.00"), 2)],
        currency="USD",
        delivery_method=DeliveryMethod.SHIP,
        policy=POLICY,
        tax_country="US",
        tax_region="TX",
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
        totals = price_order(
            lines, currency="USD", delivery_method=method, policy=POLICY, tax_country="GB", tax_region=None
        )
        assert totals.shipping.amount == Decimal("0.00")
        assert totals.tax.amount == Decimal("0.00")
        assert totals.total == totals.subtotal
