"""What ordergate needs from any storefront, batched: one call answers for many ids, in the
domain's words. A vendor's status ids, payment words and channel ids stay in its connector,
which says what an OMS does with each order (`OrderAction`) and takes the statuses we set back
by name (`PushedStatus`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from ordergate.models.address import Address


class OrderAction(StrEnum):
    IGNORE = "ignore"  # not (yet) a sale: no payment, or declined
    IMPORT = "import"  # paid or payable, waiting for us to fulfil
    HOLD = "hold"  # a person must look first
    CANCEL = "cancel"  # the sale is off: release what was reserved
    DONE = "done"  # fulfilled outside ordergate or by it already


class StorefrontPayment(StrEnum):
    """What the storefront did with the shopper's money for the order's total."""

    NONE = "none"  # nothing held or taken (yet)
    AUTHORISED = "authorised"  # the card is held for the total
    CAPTURED = "captured"  # the money is taken


class PushedStatus(StrEnum):
    """The statuses ordergate sets on a storefront order."""

    SHIPPED = "SHIPPED"
    PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
    CANCELLED = "CANCELLED"
    AWAITING_PICKUP = "AWAITING_PICKUP"
    COMPLETED = "COMPLETED"


@dataclass(frozen=True)
class StorefrontOrderLine:
    order_product_id: int
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    variant_id: int | None = None
    refunded: int = 0  # units the merchant has refunded at the storefront


@dataclass(frozen=True)
class StorefrontOrder:
    """A captured order. `customer_id` is None for a guest; money is in `currency`, tax exclusive
    (`total` = `subtotal` - `discount` + `shipping` + `tax`, where `shipping` counts every charge
    for getting the goods there: handling and gift wrapping too); `external_source` and
    `external_order_id` say where an order came from when another system placed it."""

    external_id: str
    status: str  # the storefront's label for its status, for people and messages
    status_code: str  # its own code for that status, opaque here (it keys follow-up holds)
    action: OrderAction  # what an OMS does with an order in that status
    suspected_fraud: bool  # the storefront flagged it for a person (verification, dispute)
    customer_id: int | None
    email: str
    first_name: str
    last_name: str
    phone: str
    currency: str
    subtotal: Decimal
    shipping: Decimal
    tax: Decimal
    total: Decimal
    date_created: datetime
    date_modified: datetime
    lines: tuple[StorefrontOrderLine, ...]
    shipping_address: Address | None
    channel: str  # our channel name for the storefront channel it was sold in
    external_source: str | None = None
    external_order_id: str | None = None
    payment: StorefrontPayment = StorefrontPayment.NONE
    payment_method: str = ""
    billing_address: Address | None = None
    shipping_address_id: int | None = None  # the storefront's id for its shipping address
    refunded: Decimal = Decimal(0)  # what the storefront has refunded of it so far, in all
    discount: Decimal = Decimal(0)  # its coupons and discounts off the goods (`total` is net of it)


@dataclass(frozen=True)
class OrdersPage:
    orders: tuple[StorefrontOrder, ...]
    page: int
    has_more: bool


@dataclass(frozen=True)
class StorefrontCustomer:
    id: int
    email: str
    first_name: str
    last_name: str
    phone: str
    company: str
    customer_group_id: int
    addresses: tuple[Address, ...]


@dataclass(frozen=True)
class StorefrontVariant:
    sku: str
    variant_id: int
    product_id: int
    name: str
    price: Decimal


@dataclass(frozen=True)
class StorefrontLocation:
    id: int
    code: str
    label: str
    enabled: bool


@dataclass(frozen=True)
class ShipmentPush:
    """A shipment to record on a storefront order; `tracking_number` makes the push idempotent.
    `carrier` is a carrier code (`ups`, `usps`, `fedex`, ...); `items` are (SKU, units): the
    connector puts each SKU's units on the order's lines of it that have units left to ship (a
    storefront may sell one SKU on several lines, engraved differently, say)."""

    order_external_id: str
    tracking_number: str
    carrier: str
    items: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class AvailabilityPush:
    """Units a storefront may sell of a SKU at one of its inventory locations."""

    sku: str
    location_id: int
    available: int


@dataclass(frozen=True)
class StorefrontNotice:
    """A verified webhook: what changed (re-read it, the payload is thin). `delivery_id` is the
    same for a redelivery of the same event."""

    delivery_id: str
    scope: str
    resource_type: str
    resource_id: int
    hash: str
    created_at: datetime
    store_id: str
    producer: str
    previous_status_id: int | None = None
    new_status_id: int | None = None
    order_id: str | None = None  # the storefront order it is about, if any: fetch and import it


class StorefrontConnector(Protocol):
    @property
    def name(self) -> str:
        """Which storefront: the source named on imported orders and on partial answers."""
        ...

    async def orders_page(
        self, *, page: int = 1, limit: int = 50, min_date_modified: datetime | None = None
    ) -> OrdersPage:
        """One page of orders, oldest id first, each with its lines and shipping address."""
        ...

    async def order(self, external_id: str) -> StorefrontOrder | None:
        """The order, or None when the storefront has none with this id."""
        ...

    async def customers(self, ids: Sequence[int]) -> dict[int, StorefrontCustomer]:
        """Customers by id, one request per 250 ids; unknown ids are left out."""
        ...

    async def customers_by_email(self, emails: Sequence[str]) -> dict[str, StorefrontCustomer]:
        """Customers keyed by the email as asked (matched without regard to case)."""
        ...

    async def search_customers(
        self, query: str, *, page: int = 1, limit: int = 20
    ) -> tuple[list[StorefrontCustomer], bool]:
        """Customers whose name contains `query`, or with that email; and whether more pages follow."""
        ...

    async def variants(self, *, page: int = 1, limit: int = 250) -> tuple[list[StorefrontVariant], bool]: ...

    async def variants_by_sku(self, skus: Sequence[str]) -> dict[str, StorefrontVariant]: ...

    async def push_shipment(self, shipment: ShipmentPush) -> str:
        """The storefront's shipment id; pushing the same tracking number again returns the first id."""
        ...

    async def set_status(self, external_id: str, status: PushedStatus) -> None: ...

    async def set_availability(self, pushes: Sequence[AvailabilityPush]) -> None: ...

    async def locations(self) -> list[StorefrontLocation]: ...

    def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> StorefrontNotice:
        """The notice in an authentic delivery; raises WebhookRejected otherwise."""
        ...

    async def register_webhooks(self, destination: str) -> list[int]:
        """Our order hooks, pointing at `destination` with our secret header; existing ones kept."""
        ...

    async def aclose(self) -> None: ...


__all__ = [
    "AvailabilityPush",
    "OrderAction",
    "OrdersPage",
    "PushedStatus",
    "ShipmentPush",
    "StorefrontConnector",
    "StorefrontCustomer",
    "StorefrontLocation",
    "StorefrontNotice",
    "StorefrontOrder",
    "StorefrontOrderLine",
    "StorefrontPayment",
    "StorefrontVariant",
]
