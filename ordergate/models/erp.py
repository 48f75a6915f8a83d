"""What the ERP made of our orders: the sales orders it holds for each (order, location).

A location's units of an order live in one sales order, keyed `<number>-<node>`, until the ERP
closes it (units of it were packed or delivered: its rows can no longer change). Units that come
to the node after that go to a continuation, `<key>-2`, then `<key>-3`: `plan_sales_orders`
decides which sales order takes what the closed ones do not hold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ordergate.models.fulfillment import FulfillmentOrderLine
from ordergate.models.order import OrderLine
from ordergate.models.pricing import spread


@dataclass(kw_only=True, eq=False)
class ErpSalesOrderRef:
    """The ERP's id for the sales order pushed under `key` (the outbox key, Katana's
    `ecommerce_order_id`); `erp_id` is None once the ERP's sales order was deleted."""

    key: str
    order_id: str
    location_id: str
    erp_id: str | None = None
    updated_at: datetime


@dataclass(frozen=True)
class HeldSalesOrder:
    """One sales order of a location's chain as the ERP holds it: the units in its rows, per
    SKU, and whether it is closed (its rows can no longer change)."""

    key: str
    units: Mapping[str, int]
    closed: bool


@dataclass(frozen=True)
class SalesOrderPlan:
    """`key` takes `quantities[i]` units of the i-th wanted line (what the closed sales orders do
    not hold already); the other open sales orders of the chain, `emptied`, are to hold nothing.
    `surplus` is what the closed sales orders hold beyond what is wanted, per SKU: units
    cancelled or moved away after their sales order was closed, which the ERP keeps (it changes
    no closed order's rows) and shows as still to deliver, for the merchant to settle there."""

    key: str
    quantities: tuple[int, ...]
    emptied: tuple[str, ...]
    surplus: tuple[tuple[str, int], ...] = ()

    @property
    def units(self) -> int:
        return sum(self.quantities)


def continuation_key(key: str, number: int) -> str:
    """The key of the `number`-th sales order of the chain that starts at `key` (1: `key`)."""
    return key if number == 1 else f"{key}-{number}"


def plan_sales_orders(
    key: str, chain: Sequence[tuple[str, HeldSalesOrder | None]], wanted: Sequence[tuple[str, int]]
) -> SalesOrderPlan:
    """Where the `wanted` (sku, units) lines of a location go, given its chain of sales orders in
    order (key, and what the ERP holds under it, None when nothing). Closed sales orders keep what
    they hold (their units count towards `wanted`, surplus included, since it cannot be taken
    out); the first sales order that is open or not at the ERP takes the rest; when every one is
    closed, the next continuation does. Deterministic, so a retry picks the same key."""
    closed: dict[str, int] = {}
    target: str | None = None
    emptied: list[str] = []
    for chain_key, held in chain:
        if held is not None and held.closed:
            for sku, units in held.units.items():
                closed[sku] = closed.get(sku, 0) + units
        elif target is None:
            target = chain_key
        elif held is not None:
            emptied.append(chain_key)
    quantities: list[int] = []
    for sku, units in wanted:
        taken = min(units, closed.get(sku, 0))
        closed[sku] = closed.get(sku, 0) - taken
        quantities.append(units - taken)
    return SalesOrderPlan(
        key=target if target is not None else continuation_key(key, len(chain) + 1),
        quantities=tuple(quantities),
        emptied=tuple(emptied),
        surplus=tuple(sorted((sku, units) for sku, units in closed.items() if units > 0)),
    )


def discount_shares(lines: Sequence[OrderLine], work: Sequence[FulfillmentOrderLine]) -> dict[str, Decimal]:
    """Each work line's share of its order line's discount (a storefront's coupon), by units, to
    the cent: the shares of a line add up to its discount, less what units not yet given to any
    node (waiting for supply) keep."""
    by_line: dict[str, list[FulfillmentOrderLine]] = {}
    for given_line in work:
        by_line.setdefault(given_line.order_line_id, []).append(given_line)
    found: dict[str, Decimal] = {}
    for line in lines:
        given = by_line.get(line.id, [])
        if not line.discount or not given:
            continue
        units = [Decimal(w.quantity) for w in given]
        rest = line.quantity - line.quantity_cancelled - sum(w.quantity for w in given)
        parts = spread(line.discount, [*units, Decimal(max(rest, 0))])
        found.update({w.id: part for w, part in zip(given, parts, strict=False)})
    return found
