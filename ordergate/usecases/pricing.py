"""An order priced again after it changed (an edit, a cancellation), by the rule placement used
(`models.pricing.PricingRule`): the units still charged for, shipping as the order bought it,
tax where the goods go. A sale a storefront priced keeps the storefront's own tax per unit
(`models.pricing.resold`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Protocol

from ordergate.models.address import Address
from ordergate.models.order import DeliveryMethod, Order, OrderLine
from ordergate.models.pricing import PricedLine, SoldLine, TaxPlace, Totals, resold
from ordergate.store.unit_of_work import UnitOfWork
from ordergate.usecases.services import Services


class Units(Protocol):
    """A line as pricing reads it: a stored line, or one an edit plans."""

    @property
    def position(self) -> int: ...

    @property
    def unit_price(self) -> Decimal: ...

    @property
    def quantity(self) -> int: ...

    @property
    def quantity_cancelled(self) -> int: ...


def charged(lines: Sequence[Units]) -> list[PricedLine]:
    """The lines in their order, each with the units charged for: ordered, less cancelled."""
    ordered = sorted(lines, key=lambda line: line.position)
    return [PricedLine(line.unit_price, line.quantity - line.quantity_cancelled) for line in ordered]


async def destination(uow: UnitOfWork, order: Order, address: Address | None = None) -> TaxPlace:
    """Where tax is due: the pickup location for a pickup, else `address` (an edit's new one) or
    the order's shipping address."""
    if order.delivery_method is DeliveryMethod.PICKUP and order.pickup_location_id is not None:
        pickup = (await uow.catalog.locations_by_ids([order.pickup_location_id]))[order.pickup_location_id]
        return TaxPlace(pickup.country_code, pickup.region)
    place = address or order.shipping_address
    return TaxPlace(place.country_code, place.region) if place else TaxPlace(None, None)


async def price_again(
    services: Services, uow: UnitOfWork, order: Order, lines: Sequence[Units], address: Address | None = None
) -> Totals:
    """The order over `lines` as they will stand, with the shipping it bought."""
    return services.policy.pricing.price(
        charged(lines),
        delivery_method=order.delivery_method,
        destination=await destination(uow, order, address),
        shipping=order.shipping_total,
    )


def sold_again(
    order: Order,
    lines: Sequence[OrderLine],
    cancelled: Mapping[str, int],
    discount_taken: Mapping[str, Decimal] | None = None,
) -> Totals:
    """A storefront's sale with `cancelled` more units per line no longer charged; a line in
    `discount_taken` keeps its discount less what those units take (`models.erp.discount_taken`),
    any other its discount in proportion to the units still charged."""
    ordered = sorted(lines, key=lambda line: line.position)
    taken = discount_taken or {}
    return resold(
        [
            SoldLine(
                line.unit_price,
                line.quantity - line.quantity_cancelled,
                line.tax,
                line.quantity - line.quantity_cancelled - cancelled.get(line.id, 0),
                line.discount,
                taken.get(line.id) if cancelled.get(line.id) else None,
            )
            for line in ordered
        ],
        currency=order.currency,
        shipping=order.shipping_total,
        shipping_tax=order.shipping_tax,
    )


def write_prices(uow: UnitOfWork, order: Order, lines: Sequence[OrderLine], priced: Totals) -> None:
    """`priced` (over `lines` in their order) on the lines and the order."""
    ordered = sorted(lines, key=lambda line: line.position)
    discounts = priced.line_discounts or tuple(Decimal("0.00") for _ in ordered)
    for line, tax, discount in zip(ordered, priced.line_taxes, discounts, strict=True):
        line.tax, line.discount = tax, discount
        uow.save(line)
    order.subtotal, order.shipping_total = priced.subtotal.amount, priced.shipping.amount
    order.tax, order.shipping_tax, order.total = priced.tax.amount, priced.shipping_tax, priced.total.amount
    order.discount = priced.discount
    uow.save(order)
