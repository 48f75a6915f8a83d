"""Orders and their lines; aggregate statuses live in lifecycle.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from ordergate.models.address import Address
from ordergate.models.ids import new_id


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    ON_HOLD = "ON_HOLD"
    CONFIRMED = "CONFIRMED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class FulfillmentStatus(StrEnum):
    UNFULFILLED = "UNFULFILLED"
    PARTIALLY_FULFILLED = "PARTIALLY_FULFILLED"
    FULFILLED = "FULFILLED"
    PARTIALLY_RETURNED = "PARTIALLY_RETURNED"
    RETURNED = "RETURNED"


class PaymentStatus(StrEnum):
    PENDING = "PENDING"
    AUTHORIZED = "AUTHORIZED"
    PARTIALLY_PAID = "PARTIALLY_PAID"
    PAID = "PAID"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"
    VOIDED = "VOIDED"


class DeliveryMethod(StrEnum):
    SHIP = "SHIP"
    PICKUP = "PICKUP"


class ServiceLevel(StrEnum):
    """How fast a shipped order goes: STANDARD (the plan routing prefers, at the flat rate or
    free over the threshold) or EXPRESS (the fastest plan, at the express rate)."""

    STANDARD = "STANDARD"
    EXPRESS = "EXPRESS"


class CancelReason(StrEnum):
    CUSTOMER = "CUSTOMER"
    FRAUD = "FRAUD"
    INVENTORY = "INVENTORY"
    STAFF = "STAFF"
    OTHER = "OTHER"


class HoldReason(StrEnum):
    AWAITING_PAYMENT = "AWAITING_PAYMENT"
    HIGH_RISK_OF_FRAUD = "HIGH_RISK_OF_FRAUD"
    INCORRECT_ADDRESS = "INCORRECT_ADDRESS"
    UNKNOWN_PRODUCT = "UNKNOWN_PRODUCT"  # a sale's line the catalogue lacks: let go once it has it
    OTHER = "OTHER"


@dataclass(kw_only=True, eq=False)
class Order:
    id: str = field(default_factory=new_id)
    number: str
    channel: str
    external_reference: str | None = None
    # Where an imported order came from and its id there (bigcommerce:123): imported once
    source_ref: str | None = None
    customer_id: str
    email: str
    status: OrderStatus
    status_before_hold: OrderStatus | None = None
    fulfillment_status: FulfillmentStatus
    payment_status: PaymentStatus
    delivery_method: DeliveryMethod
    pickup_location_id: str | None = None
    shipping_address: Address | None = None  # None for a pickup
    currency: str
    subtotal: Decimal
    tax: Decimal
    shipping_total: Decimal
    shipping_tax: Decimal = Decimal("0.00")
    # Taken off the goods before tax (a storefront's coupons and discounts), on the units still
    # charged for: total = subtotal - discount + shipping_total + tax
    discount: Decimal = Decimal("0.00")
    total: Decimal
    # The fraud screen's score at placement, 0-100
    risk_score: int | None = None
    # The fraud rules that fired, comma-separated
    risk_reasons: str | None = None
    # The delivery date routing promised (for a pickup, its readiness date)
    promised_on: date | None = None
    # How fast a shipped order was bought to go (None for a pickup)
    service_level: ServiceLevel | None = None
    # Where the card is billed, when placement was told (the fraud screen compares it); no more
    # of the billing address is kept
    bill_country_code: str | None = None
    bill_postal_code: str | None = None
    # The customer's language for what the order tells them (`fr-CA`); None: English
    locale: str | None = None
    event_seq: int = 0
    placed_by: str
    created_at: datetime
    updated_at: datetime


def customer_address(order: Order) -> Address:
    """Where the order's parcels go (and where its returns come from)."""
    return order.shipping_address or Address(name="", line1="", city="", postal_code="", country_code="")


def imported(order: Order) -> bool:
    """Whether the order came from a storefront (and so hears back what happens to it)."""
    return order.source_ref is not None


def external_id_of(order: Order, source: str) -> str | None:
    """The order's id in the system named `source` (a storefront), when it came from there: its
    `source_ref` is `<source>:<id>`."""
    prefix = f"{source}:"
    if order.source_ref and order.source_ref.startswith(prefix):
        return order.source_ref[len(prefix) :]
    return None


def promise_later(order: Order, day: date | None) -> bool:
    """Move the order's promise to `day` when that is later than what it was promised (work that
    slipped: re-routed, or units that came late or wait for room), never earlier; whether it
    moved."""
    if day is None or (order.promised_on is not None and day <= order.promised_on):
        return False
    order.promised_on = day
    return True


def held_before_routing(order: Order) -> bool:
    """Taken but not routed: held at placement (the fraud screen), routed when an agent releases
    it, not before (not by an edit, not by routeOrder)."""
    return order.status is OrderStatus.ON_HOLD and order.status_before_hold is OrderStatus.PENDING


@dataclass(kw_only=True, eq=False)
class OrderLine:
    id: str = field(default_factory=new_id)
    order_id: str
    position: int
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    tax: Decimal = Decimal("0.00")
    discount: Decimal = Decimal("0.00")  # the order's discount its units still charged carry
    quantity_fulfilled: int = 0
    quantity_cancelled: int = 0
    quantity_returned: int = 0


@dataclass(kw_only=True, eq=False)
class OrderHold:
    """A reason an order may not progress; the order is ON_HOLD while any hold is active."""

    id: str = field(default_factory=new_id)
    order_id: str
    reason: HoldReason
    note: str | None = None
    placed_by: str
    placed_at: datetime
    released_by: str | None = None
    released_at: datetime | None = None
