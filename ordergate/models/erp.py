"""What the ERP made of our orders: the sales orders it holds for each (order, location).

A location's units of an order live in one sales order, keyed `<number>-<node>`, until the ERP
closes it (units of it were packed or delivered: its rows can no longer change). Units that come
to the node after that go to a continuation, `<key>-2`, then `<key>-3`: `plan_sales_orders`
decides which sales order takes what the closed ones do not hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from ordergate.models.fulfillment import FulfillmentOrderLine
from ordergate.models.money import quantize
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
    SKU, whether it is closed (its rows can no longer change), and what its rows have off, per
    SKU (those that have any)."""

    key: str
    units: Mapping[str, int]
    closed: bool
    discounts: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Booked:
    """What an order's closed sales orders, every node's, hold of one SKU: the units in their
    rows and the discount on them, fixed now (the ERP changes no closed sales order's rows)."""

    units: int
    discount: Decimal


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
    found: dict[str, Decimal] = {}
    for _, given, parts, _, _ in _line_shares(lines, work):
        found.update({w.id: part for w, part in zip(given, parts, strict=True)})
    return found


def discount_taken(
    lines: Sequence[OrderLine],
    work: Sequence[FulfillmentOrderLine],
    released: Mapping[str, int],
    unallocated: Mapping[str, int],
) -> dict[str, Decimal]:
    """What of each order line's discount its cancelled units take with them, by order line:
    the share their node's sales order carries for them (`discount_shares`: a work line's whole
    share when it loses every unit, else its part in proportion, to the cent), and for units no
    node held (`unallocated`) their part of what the line's waiting units keep. So what stays on
    the line is what the sales orders of its units that stay carry: a node's sales order closed
    before the cancellation keeps its share, and the line keeps it too. A line given to a node
    is named even when its cancelled units carried nothing (0.00 is a share, not "in
    proportion")."""
    taken: dict[str, Decimal] = {}
    for line, given, parts, waiting, rest in _line_shares(lines, work):
        off = Decimal(0)
        for w, part in zip(given, parts, strict=True):
            off += _part(part, min(released.get(w.id, 0), w.quantity), w.quantity)
        taken[line.id] = off + _part(waiting, min(unallocated.get(line.id, 0), rest), rest)
    return taken


def _part(share: Decimal, units: int, of: int) -> Decimal:
    """What `units` of the `of` units carrying `share` take of it: all of it, or in proportion."""
    if units <= 0:
        return Decimal(0)
    return share if units == of else quantize(share * units / of)


def _line_shares(
    lines: Sequence[OrderLine], work: Sequence[FulfillmentOrderLine]
) -> list[tuple[OrderLine, list[FulfillmentOrderLine], tuple[Decimal, ...], Decimal, int]]:
    """Per discounted line given to any node: its work lines, their shares, what its units
    still waiting keep (`discount_shares`), and how many those are."""
    by_line: dict[str, list[FulfillmentOrderLine]] = {}
    for given_line in work:
        by_line.setdefault(given_line.order_line_id, []).append(given_line)
    found = []
    for line in lines:
        given = by_line.get(line.id, [])
        if not line.discount or not given:
            continue
        units = [Decimal(w.quantity) for w in given]
        rest = max(line.quantity - line.quantity_cancelled - sum(w.quantity for w in given), 0)
        *parts, waiting = spread(line.discount, [*units, Decimal(rest)])
        found.append((line, given, tuple(parts), waiting, rest))
    return found


def booked(held: Iterable[HeldSalesOrder | None]) -> dict[str, Booked]:
    """What the closed ones among these sales orders hold, per SKU."""
    units: dict[str, int] = {}
    discounts: dict[str, Decimal] = {}
    for found in held:
        if found is None or not found.closed:
            continue
        for sku, count in found.units.items():
            units[sku] = units.get(sku, 0) + count
        for sku, off in found.discounts.items():
            discounts[sku] = discounts.get(sku, Decimal(0)) + off
    return {
        sku: Booked(units=units.get(sku, 0), discount=discounts.get(sku, Decimal(0)))
        for sku in sorted(units.keys() | discounts.keys())
    }


def open_discounts(
    lines: Sequence[OrderLine],
    work: Sequence[FulfillmentOrderLine],
    open_units: Mapping[str, int],
    closed: Mapping[str, Booked],
) -> dict[str, Decimal]:
    """Each work line's discount on its units in open sales orders, to the cent, so that every
    sales order of the order, closed ones included, adds up to `discount_shares` per SKU.

    `open_units` names, by work line, how many of its units the open sales orders hold (a work
    line not named holds all of them there; the rest are in closed ones, `plan_sales_orders`);
    `closed` is what the closed ones booked (`booked`). While no wanted unit of a SKU is in a
    closed sales order, each work line has its own share. Once some are, what closed sales
    orders booked stays theirs, whatever share their units would have now, and the rest of the
    SKU's discount is spread over its open units. When closed sales orders hold more units than
    are wanted (units cancelled after their closing), only the wanted units' part of what they
    booked counts, pro rata. Nothing goes below zero: a closed sales order that booked more
    than its units' share now leaves the open ones nothing off."""
    shares = discount_shares(lines, work)
    discounted = {line.sku for line in lines if line.discount}
    by_sku: dict[str, list[FulfillmentOrderLine]] = {}
    for given in work:
        if given.sku in discounted and given.quantity > 0:
            by_sku.setdefault(given.sku, []).append(given)
    found: dict[str, Decimal] = {}
    for sku, of_sku in by_sku.items():
        opened = [min(max(open_units.get(w.id, w.quantity), 0), w.quantity) for w in of_sku]
        in_closed = sum(w.quantity for w in of_sku) - sum(opened)
        if not in_closed:  # every wanted unit is open: each work line's own share
            found.update({w.id: shares.get(w.id, Decimal(0)) for w in of_sku})
            continue
        held = closed.get(sku, Booked(units=0, discount=Decimal(0)))
        kept = held.discount
        if held.units > in_closed:
            kept = quantize(held.discount * in_closed / held.units)
        rest = sum((shares.get(w.id, Decimal(0)) for w in of_sku), Decimal(0)) - kept
        parts = spread(max(rest, Decimal(0)), [Decimal(units) for units in opened])
        found.update({w.id: part for w, part in zip(of_sku, parts, strict=True)})
    return found
