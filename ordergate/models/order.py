"""Orders and their lines; aggregate statuses live in lifecycle.py."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ordergate.models.columns import MONEY, EnumText, UTCDateTime, new_id


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
    OTHER = "OTHER"


class Order(SQLModel, table=True):
    __tablename__ = "orders"
    __table_args__ = (sa.Index("ix_orders_created_at_id", "created_at", "id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    number: str = Field(max_length=32, unique=True)
    channel: str = Field(max_length=64, index=True)
    external_reference: str | None = Field(default=None, max_length=128)
    source_ref: str | None = Field(
        default=None,
        max_length=128,
        unique=True,
        index=True,
        description="Where an imported order came from and its id there (bigcommerce:123): imported once",
    )
    customer_id: str = Field(foreign_key="customers.id", index=True, max_length=36)
    email: str = Field(max_length=320, index=True)
    status: OrderStatus = Field(sa_type=EnumText(OrderStatus, 32), index=True)
    status_before_hold: OrderStatus | None = Field(default=None, sa_type=EnumText(OrderStatus, 32))
    fulfillment_status: FulfillmentStatus = Field(sa_type=EnumText(FulfillmentStatus, 32))
    payment_status: PaymentStatus = Field(sa_type=EnumText(PaymentStatus, 32))
    delivery_method: DeliveryMethod = Field(sa_type=EnumText(DeliveryMethod, 16))
    pickup_location_id: str | None = Field(default=None, foreign_key="locations.id", max_length=36)
    ship_name: str | None = Field(default=None, max_length=255)
    ship_line1: str | None = Field(default=None, max_length=255)
    ship_line2: str | None = Field(default=None, max_length=255)
    ship_city: str | None = Field(default=None, max_length=128)
    ship_region: str | None = Field(default=None, max_length=64)
    ship_postal_code: str | None = Field(default=None, max_length=16)
    ship_country_code: str | None = Field(default=None, max_length=2)
    ship_phone: str | None = Field(default=None, max_length=32)
    currency: str = Field(max_length=3)
    subtotal: Decimal = Field(sa_type=MONEY)
    tax: Decimal = Field(sa_type=MONEY)
    shipping_total: Decimal = Field(sa_type=MONEY)
    shipping_tax: Decimal = Field(default=Decimal("0.00"), sa_type=MONEY)
    total: Decimal = Field(sa_type=MONEY)
    risk_score: int | None = Field(default=None, description="The fraud screen's score at placement, 0-100")
    risk_reasons: str | None = Field(
        default=None, max_length=500, description="The fraud rules that fired, comma-separated"
    )
    promised_on: date | None = Field(
        default=None,
        description="The delivery date routing promised (for a pickup, its readiness date)",
    )
    event_seq: int = 0
    placed_by: str = Field(max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class OrderLine(SQLModel, table=True):
    __tablename__ = "order_lines"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="ck_order_lines_quantity_positive"),
        sa.CheckConstraint(
            "quantity_fulfilled >= 0 AND quantity_cancelled >= 0 AND quantity_returned >= 0"
            " AND quantity_fulfilled + quantity_cancelled <= quantity"
            " AND quantity_returned <= quantity_fulfilled",
            name="ck_order_lines_quantities",
        ),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    order_id: str = Field(foreign_key="orders.id", index=True, max_length=36)
    position: int
    sku: str = Field(max_length=64)
    name: str = Field(max_length=255)
    quantity: int
    unit_price: Decimal = Field(sa_type=MONEY)
    tax: Decimal = Field(default=Decimal("0.00"), sa_type=MONEY)
    quantity_fulfilled: int = 0
    quantity_cancelled: int = 0
    quantity_returned: int = 0


class OrderHold(SQLModel, table=True):
    """A reason an order may not progress; the order is ON_HOLD while any hold is active."""

    __tablename__ = "order_holds"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    order_id: str = Field(foreign_key="orders.id", index=True, max_length=36)
    reason: HoldReason = Field(sa_type=EnumText(HoldReason, 32))
    note: str | None = Field(default=None, max_length=1000)
    placed_by: str = Field(max_length=255)
    placed_at: datetime = Field(sa_type=UTCDateTime)
    released_by: str | None = Field(default=None, max_length=255)
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
