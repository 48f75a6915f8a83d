"""Order totals: line prices from the catalogue, shipping and tax by rule, all in Decimal.

One rule (`PricingRule`) prices every path: placement, the options a shopper is offered, an
edit, a cancellation, and the amounts a return gives back. A line is charged for the units
ordered less those cancelled. Shipping is what the order's delivery was bought for at placement
and stays that while anything of the order is charged (a cancelled unit does not make the rest
ship for more, nor an added one for less); with nothing left to charge it is nothing.

Tax comes from rules by destination: the most specific rule wins (country and region, then
country alone); no rule, no tax. Each line is taxed on its own and rounded to the cent, as is
shipping where the destination taxes it, so the order's tax is exactly the sum of the parts
a customer sees on the lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, InvalidOperation

from ordergate.models.money import Money, quantize
from ordergate.models.order import DeliveryMethod, ServiceLevel


@dataclass(frozen=True)
class TaxRule:
    """`rate` applies to goods shipped to `country` (and `region`, when set); shipping is taxed
    at the same rate where `shipping_taxable`."""

    country: str
    region: str | None
    rate: Decimal
    shipping_taxable: bool = True
    name: str = ""


def _us(region: str, rate: str, shipping_taxable: bool) -> TaxRule:
    return TaxRule("US", region, Decimal(rate), shipping_taxable, f"{region} sales tax")


# Statewide base rates (no local add-ons) for the demo markets, with whether the state taxes a
# separately stated delivery charge; a few VAT/GST countries. Replace with ORDERGATE_TAX_RULES.
DEFAULT_TAX_RULES: tuple[TaxRule, ...] = (
    _us("CA", "0.0725", False),
    _us("NY", "0.04", True),
    _us("TX", "0.0625", True),
    _us("IL", "0.0625", False),
    _us("WA", "0.065", True),
    _us("GA", "0.04", True),
    _us("NJ", "0.06625", True),
    _us("PA", "0.06", True),
    _us("FL", "0.06", False),
    _us("CO", "0.029", False),
    _us("AZ", "0.056", False),
    _us("MA", "0.0625", False),
    TaxRule("CA", None, Decimal("0.05"), True, "GST"),
    TaxRule("CA", "ON", Decimal("0.13"), True, "HST"),
    TaxRule("DE", None, Decimal("0.19"), True, "VAT"),
    TaxRule("FR", None, Decimal("0.20"), True, "VAT"),
    TaxRule("NL", None, Decimal("0.21"), True, "VAT"),
)


class TaxRules:
    """Rules by destination; `rule_for` picks the most specific one."""

    def __init__(self, rules: Iterable[TaxRule] = DEFAULT_TAX_RULES) -> None:
        self._by_key: dict[tuple[str, str | None], TaxRule] = {}
        for rule in rules:
            key = (rule.country.upper(), rule.region.upper() if rule.region else None)
            if key in self._by_key:
                raise ValueError(f"two tax rules for {key[0]}{'-' + key[1] if key[1] else ''}")
            if not Decimal(0) <= rule.rate < Decimal(1):
                raise ValueError(f"tax rate {rule.rate} for {key[0]} is not a fraction between 0 and 1")
            self._by_key[key] = rule

    def rule_for(self, country_code: str | None, region: str | None) -> TaxRule | None:
        if not country_code:
            return None
        country = country_code.upper()
        if region and (rule := self._by_key.get((country, region.upper()))) is not None:
            return rule
        return self._by_key.get((country, None))

    @classmethod
    def from_json(cls, text: str) -> TaxRules:
        """`[{"country": "US", "region": "CA", "rate": "0.0725", "shippingTaxable": false}]`;
        ValueError naming the entry that is wrong."""
        try:
            entries = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"tax rules are not JSON: {exc}") from None
        if not isinstance(entries, list):
            raise ValueError("tax rules must be a JSON list of rules")
        rules: list[TaxRule] = []
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("country"), str):
                raise ValueError(f"tax rule {index} needs a country code")
            region = entry.get("region")
            shipping = entry.get("shippingTaxable", True)
            if (region is not None and not isinstance(region, str)) or not isinstance(shipping, bool):
                raise ValueError(f"tax rule {index}: region must be text and shippingTaxable true or false")
            try:
                rate = Decimal(str(entry.get("rate")))
            except InvalidOperation:
                raise ValueError(f"tax rule {index}: rate {entry.get('rate')!r} is not a number") from None
            if not rate.is_finite():
                raise ValueError(f"tax rule {index}: rate {entry.get('rate')!r} is not a number")
            rules.append(TaxRule(entry["country"], region, rate, shipping, str(entry.get("name", ""))))
        return cls(rules)


@dataclass(frozen=True)
class PricedLine:
    unit_price: Decimal
    quantity: int


@dataclass(frozen=True)
class ShippingPolicy:
    flat_rate: Decimal
    free_over: Decimal
    express_rate: Decimal = Decimal("14.95")


@dataclass(frozen=True)
class Totals:
    subtotal: Money
    shipping: Money
    tax: Money
    total: Money
    line_taxes: tuple[Decimal, ...] = ()
    shipping_tax: Decimal = Decimal("0.00")
    discount: Decimal = Decimal("0.00")  # off the goods; `total` is net of it
    line_discounts: tuple[Decimal, ...] = ()  # the discount each line carries (none: all zero)


def line_tax(amount: Decimal, rule: TaxRule | None) -> Decimal:
    return quantize(amount * rule.rate) if rule is not None else quantize(Decimal(0))


DEFAULT_RULES = TaxRules()


@dataclass(frozen=True)
class TaxPlace:
    """Where the goods go, as tax reads it: the shipping address, or the pickup location."""

    country_code: str | None
    region: str | None


@dataclass(frozen=True)
class PricingRule:
    """The rule every path prices by (see the module's docstring)."""

    currency: str
    shipping: ShippingPolicy
    tax_rules: TaxRules = DEFAULT_RULES

    def shipping_quote(
        self, subtotal: Decimal, delivery_method: DeliveryMethod, level: ServiceLevel = ServiceLevel.STANDARD
    ) -> Decimal:
        """What delivery costs an order of `subtotal` at placement: nothing for a pickup, the
        express rate for EXPRESS, else nothing above the free-shipping threshold or the flat rate."""
        if delivery_method is DeliveryMethod.PICKUP:
            return Decimal("0.00")
        if level is ServiceLevel.EXPRESS:
            return self.shipping.express_rate
        if subtotal >= self.shipping.free_over:
            return Decimal("0.00")
        return self.shipping.flat_rate

    def price(
        self,
        lines: Sequence[PricedLine],
        *,
        delivery_method: DeliveryMethod,
        destination: TaxPlace,
        shipping: Decimal | None = None,
        level: ServiceLevel = ServiceLevel.STANDARD,
    ) -> Totals:
        """Lines at their unit prices, each taxed on its own to the cent; shipping as quoted
        (`shipping=None`) or as bought (kept), nothing when no unit is charged; tax on shipping
        where the destination taxes it."""
        subtotal = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
        if not any(line.quantity for line in lines):
            charged = Decimal("0.00")
        elif shipping is None:
            charged = self.shipping_quote(subtotal, delivery_method, level)
        else:
            charged = shipping
        rule = self.tax_rules.rule_for(destination.country_code, destination.region)
        taxes = tuple(line_tax(line.unit_price * line.quantity, rule) for line in lines)
        shipping_tax = line_tax(charged, rule if rule is not None and rule.shipping_taxable else None)
        tax = sum(taxes, Decimal(0)) + shipping_tax
        return Totals(
            subtotal=Money(subtotal, self.currency),
            shipping=Money(charged, self.currency),
            tax=Money(tax, self.currency),
            total=Money(subtotal + charged + tax, self.currency),
            line_taxes=taxes,
            shipping_tax=shipping_tax,
        )


@dataclass(frozen=True)
class SoldLine:
    """A line of a sale a storefront priced: its unit price, the tax it charged for `units`, and
    the units charged for now."""

    unit_price: Decimal
    units: int
    tax: Decimal
    billable: int
    discount: Decimal = Decimal(0)  # of the sale's discount, what `units` carried
    discount_taken: Decimal | None = None  # what the units no longer charged take of it (None: pro rata)


def resold(lines: Sequence[SoldLine], *, currency: str, shipping: Decimal, shipping_tax: Decimal) -> Totals:
    """A storefront's sale after units were cancelled: each line keeps the storefront's tax and
    its share of the discount in proportion to the units still charged (to the cent), or what
    is left of its discount once the units no longer charged took theirs (`discount_taken`: the
    share their nodes' sales orders carry for them, `models.erp.discount_taken`); shipping and
    its tax as charged while any unit is, nothing when none is."""
    taxes = tuple(_kept(line.tax, line) for line in lines)
    discounts = tuple(
        _kept(line.discount, line)
        if line.discount_taken is None
        else quantize(line.discount - line.discount_taken)
        for line in lines
    )
    subtotal = sum((line.unit_price * line.billable for line in lines), Decimal(0))
    if not any(line.billable for line in lines):
        shipping = shipping_tax = Decimal("0.00")
    tax = sum(taxes, Decimal(0)) + shipping_tax
    discount = sum(discounts, Decimal("0.00"))
    return Totals(
        subtotal=Money(subtotal, currency),
        shipping=Money(shipping, currency),
        tax=Money(tax, currency),
        total=Money(subtotal - discount + shipping + tax, currency),
        line_taxes=taxes,
        shipping_tax=quantize(shipping_tax),
        discount=discount,
        line_discounts=discounts,
    )


def _kept(amount: Decimal, line: SoldLine) -> Decimal:
    """What of `amount`, charged on the line's `units`, its billable units keep, to the cent."""
    return quantize(amount * line.billable / line.units) if line.units else quantize(Decimal(0))


def as_sold(
    lines: Sequence[PricedLine],
    *,
    currency: str,
    shipping: Decimal,
    tax: Decimal,
    discount: Decimal = Decimal(0),
) -> Totals:
    """Totals a storefront already charged: its prices, shipping, tax and discount (its coupons
    and discounts off the goods) kept as they are. Its tax and its discount are shown on the
    lines in proportion to their value (`spread`); shipping carries none of the tax."""
    values = [line.unit_price * line.quantity for line in lines]
    subtotal = sum(values, Decimal(0))
    line_taxes = spread(tax, values)
    shipping_tax = quantize(tax) - sum(line_taxes, Decimal(0))
    return Totals(
        subtotal=Money(subtotal, currency),
        shipping=Money(shipping, currency),
        tax=Money(tax, currency),
        total=Money(subtotal - discount + shipping + tax, currency),
        line_taxes=line_taxes,
        shipping_tax=quantize(shipping_tax),
        discount=quantize(discount),
        line_discounts=spread(discount, values),
    )


def spread(amount: Decimal, values: Sequence[Decimal]) -> tuple[Decimal, ...]:
    """`amount` shared over `values` in proportion, to the cent, adding up to it exactly when any
    value is (the largest remainders take the odd cents); all zero when none is."""
    total = sum(values, Decimal(0))
    cents = int((quantize(amount) * 100).to_integral_value())
    exact = (
        [Decimal(cents) * value / total for value in values] if total > 0 else [Decimal(0) for _ in values]
    )
    shares = [int(x) for x in exact]
    if total > 0:
        for i in sorted(range(len(values)), key=lambda i: exact[i] - shares[i], reverse=True)[
            : cents - sum(shares)
        ]:
            shares[i] += 1
    return tuple(quantize(Decimal(share) / 100) for share in shares)


@dataclass(frozen=True)
class SaleLine:
    """A line as a storefront sold it."""

    sku: str
    name: str
    quantity: int
    unit_price: Decimal


def one_line_per_sku(lines: Sequence[SaleLine]) -> tuple[tuple[SaleLine, ...], Decimal]:
    """A sale's lines with each SKU once, where it first came (a storefront may sell one SKU on
    several lines, engraved differently, say; an order here has a line per SKU): its units added
    up, at their average price rounded up to the cent, with what rounding up added, to take off
    the sale again as discount, so that its total stays what the storefront charged."""
    units: dict[str, int] = {}
    value: dict[str, Decimal] = {}
    first: dict[str, SaleLine] = {}
    for line in lines:
        first.setdefault(line.sku, line)
        units[line.sku] = units.get(line.sku, 0) + line.quantity
        value[line.sku] = value.get(line.sku, Decimal(0)) + line.unit_price * line.quantity
    merged = tuple(
        SaleLine(
            sku, line.name, units[sku], (value[sku] / units[sku]).quantize(Decimal("0.01"), ROUND_CEILING)
        )
        if units[sku] != line.quantity
        else line
        for sku, line in first.items()
    )
    added = sum((line.unit_price * line.quantity for line in merged), Decimal(0)) - sum(
        value.values(), Decimal(0)
    )
    return merged, added
