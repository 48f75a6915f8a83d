"""What ordergate needs from any ERP, batched: one call answers for many SKUs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol


@dataclass(frozen=True)
class ErpLocation:
    erp_id: str
    name: str
    line1: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country_code: str | None = None


@dataclass(frozen=True)
class StockLevel:
    """Physical units of a SKU at an ERP location (the ERP's quantity in stock, whole units)."""

    sku: str
    erp_location_id: str
    on_hand: int


@dataclass(frozen=True)
class IncomingSupply:
    """Open purchase-order quantity for a SKU, expected at an ERP location on a date."""

    sku: str
    erp_location_id: str
    quantity: int
    expected_on: date
    reference: str


@dataclass(frozen=True)
class SalesOrderLine:
    sku: str
    quantity: int
    unit_price: Decimal
    discount: Decimal = Decimal(0)  # off these units in all (their share of the order's discount)


@dataclass(frozen=True)
class SalesOrderPush:
    """An order confirmed in ordergate, pushed to the ERP; `order_id` makes the push idempotent
    (Katana's `ecommerce_order_id`)."""

    order_id: str
    order_number: str
    customer_name: str
    customer_email: str | None  # None: the order has no shopper's address to give (a sale's stand-in)
    erp_location_id: str
    currency: str
    lines: Sequence[SalesOrderLine]
    delivery_date: date | None = None


@dataclass(frozen=True)
class SalesOrderHeld:
    """What one of the ERP's sales orders holds: units per SKU in its rows (fulfilled or not),
    whether it is closed, its rows no longer changeable (units of it were packed or delivered),
    and what its rows have off per SKU (those that have any)."""

    erp_id: str
    units: Mapping[str, int]
    closed: bool
    discounts: Mapping[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class StockLine:
    sku: str
    quantity: int  # signed in an adjustment: units added (+) or taken away (-)


@dataclass(frozen=True)
class SalesOrderFulfilment:
    """Units of a sales order that left its location: one parcel or one handover at a counter.
    `reference` (the parcel's tracking number, or the handover's own reference) makes it
    idempotent: fulfilling with the same reference again changes nothing."""

    reference: str
    lines: Sequence[StockLine]
    happened_at: datetime
    carrier: str | None = None
    tracking_url: str | None = None


@dataclass(frozen=True)
class StockAdjustmentPush:
    """Units that came back to a location's stock (a return restocked) or left it without a
    sale (damaged, missing). `reference` makes it idempotent."""

    reference: str
    erp_location_id: str
    reason: str
    lines: Sequence[StockLine]
    happened_at: datetime


@dataclass(frozen=True)
class InventoryNotice:
    """A verified inventory webhook: which SKUs changed (re-read their stock)."""

    delivery_id: str
    event: str
    skus: tuple[str, ...]
    variant_ids: tuple[str, ...]
    retry: int = 0  # how many times the ERP had sent this delivery before (0: the first time)


class ErpConnector(Protocol):
    @property
    def name(self) -> str:
        """Which ERP: the source named on partial answers and on the deliveries it sends."""
        ...

    async def locations(self) -> list[ErpLocation]: ...

    async def learn(self, skus: Sequence[str]) -> None:
        """Learn what speaking of these SKUs takes (Katana: their variant ids, one request per
        250), so a later read or sales order does not look them up one order at a time. A
        replica whose start-up stock read another replica made still learns them here."""
        ...

    async def stock_levels(self, skus: Sequence[str]) -> list[StockLevel]:
        """On hand per location for these SKUs: one request per 250 SKUs once variant ids are
        known. SKUs the ERP does not know are left out."""
        ...

    async def incoming_supply(self, skus: Sequence[str]) -> list[IncomingSupply]: ...

    async def push_sales_order(self, order: SalesOrderPush, *, first: bool = False) -> str:
        """The ERP's sales-order id; pushing the same order twice returns the first id. `first`:
        no earlier push of this order can have reached the ERP (its task's first lease), so the
        ERP is not searched for it before it is created."""
        ...

    async def find_sales_order(self, order_id: str) -> str | None:
        """The ERP's id for the sales order pushed under `order_id` (our key), or None when it
        holds none: how an earlier push whose answer was lost, or whose relay died before
        recording it, is found."""
        ...

    async def amend_sales_order(self, erp_id: str, order: SalesOrderPush) -> str | None:
        """Make the ERP's sales order `erp_id` hold exactly `order.lines` (rows reduced, removed or
        added), or delete it when there are none. Returns the id that now stands for the order (a
        new one when the ERP had lost it), or None when the ERP holds none. Amending to the same
        lines again changes nothing. Raises UpstreamRejected (409) when it is closed."""
        ...

    async def sales_order(self, erp_id: str) -> SalesOrderHeld | None:
        """What the sales order `erp_id` holds, or None when the ERP holds none (deleted)."""
        ...

    async def fulfil_sales_orders(self, erp_ids: Sequence[str], fulfilment: SalesOrderFulfilment) -> str:
        """Record that these units left (the ERP takes them out of its stock), taken from the
        rows the sales orders `erp_ids` have not fulfilled yet, the first's first. Returns the
        ERP's id for the fulfilment (the first, when it took more than one sales order); the same
        reference again changes nothing and returns it. Raises UpstreamRejected when every sales
        order is gone (404) or they do not hold these units (422)."""
        ...

    async def adjust_stock(self, adjustment: StockAdjustmentPush) -> str:
        """Add or take away units at a location outside any sales order. Returns the ERP's id
        for the adjustment; the same reference again returns the first one's."""
        ...

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> InventoryNotice:
        """The notice in a signed delivery; raises WebhookRejected when the signature is wrong."""
        ...

    async def resolve_skus(self, variant_ids: Sequence[str]) -> dict[str, str]:
        """variant id -> SKU, for webhooks that name variants only."""
        ...

    async def aclose(self) -> None: ...


__all__ = [
    "ErpConnector",
    "ErpLocation",
    "IncomingSupply",
    "InventoryNotice",
    "SalesOrderFulfilment",
    "SalesOrderHeld",
    "SalesOrderLine",
    "SalesOrderPush",
    "StockAdjustmentPush",
    "StockLevel",
    "StockLine",
]
