"""Order totals: line prices from the catalogue, shipping and tax by rule, all in Decimal."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from ordergate.models.money import Money, quantize
from ordergate.models.order import DeliveryMethod

# Statewide base sales-tax rates (no local add-ons) for the demo markets; elsewhere 0 until
# the transactions work brings a tax provider.
US_STATE_TAX_RATES: dict[str, Decimal] = {
    "CA": Decimal("0.0725"),
    "NY": Decimal("0.04"),
    "TX": Decimal("0.0625"),
    "IL": Decimal("0.0625"),
    "WA": Decimal("0.065"),
    "GA": Decimal("0.04"),
    "NJ": Decimal("0.06625"),
    "PA": Decimal("0.06"),
    "FL": Decimal("0.06"),
    "CO": Decimal("0.029"),
    "AZ": Decimal("0.056"),
    "MA": Decimal("0.0625"),
}


@dataclass(frozen=True)
class PricedLine:
    unit_price: Decimal
    quantity: int


@dataclass(frozen=True)
class ShippingPolicy:
    flat_rate: Decimal
    free_over: Decimal


@dataclass(frozen=True)
class Totals:
    subtotal: Money
    shipping: Money
    tax: Money
    total: Money


def tax_rate(country_code: str | None, region: str | None) -> Decimal:
    if country_code == "US" and region:
        return US_STATE_TAX_RATES.get(region.upper(), Decimal(0))
    return Decimal(0)


def price_order(
    lines: Iterable[PricedLine],
    *,
    currency: str,
    delivery_method: DeliveryMethod,
    policy: ShippingPolicy,
    tax_country: str | None,
    tax_region: str | None,
) -> Totals:
    subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
    if delivery_method is DeliveryMethod.PICKUP or subtotal >= policy.free_over:
        shipping = Decimal(0)
    else:
        shipping = policy.flat_rate
    tax = quantize((subtotal + shipping) * tax_rate(tax_country, tax_region))
    return Totals(
        subtotal=Money(subtotal, currency),
        shipping=Money(shipping, currency),
        tax=Money(tax, currency),
        total=Money(subtotal + shipping + tax, currency),
    )
