"""Fulfilment orders: one per node per order (Shopify's model); routing fills them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ordergate.models.columns import EnumText, UTCDateTime, new_id
from ordergate.models.order import DeliveryMethod


class FulfillmentOrderStatus(StrEnum):
    OPEN = "OPEN"
    ON_HOLD = "ON_HOLD"
    ACCEPTED = "ACCEPTED"
    PICKING = "PICKING"
    PACKED = "PACKED"
    SHIPPED = "SHIPPED"
    READY_FOR_PICKUP = "READY_FOR_PICKUP"
    PICKED_UP = "PICKED_UP"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"


OPEN_FULFILLMENT_STATUSES = frozenset(
    {
        FulfillmentOrderStatus.OPEN,
        FulfillmentOrderStatus.ON_HOLD,
        FulfillmentOrderStatus.ACCEPTED,
        FulfillmentOrderStatus.PICKING,
        FulfillmentOrderStatus.PACKED,
        FulfillmentOrderStatus.READY_FOR_PICKUP,
    }
)


class FulfillmentOrder(SQLModel, table=True):
    __tablename__ = "fulfillment_orders"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    order_id: str = Field(foreign_key="orders.id", index=True, max_length=36)
    location_id: str = Field(foreign_key="locations.id", index=True, max_length=36)
    status: FulfillmentOrderStatus = Field(sa_type=EnumText(FulfillmentOrderStatus, 32), index=True)
    delivery_method: DeliveryMethod = Field(sa_type=EnumText(DeliveryMethod, 16))
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class FulfillmentOrderLine(SQLModel, table=True):
    __tablename__ = "fulfillment_order_lines"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="ck_fo_lines_quantity_positive"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    fulfillment_order_id: str = Field(foreign_key="fulfillment_orders.id", index=True, max_length=36)
    order_line_id: str = Field(foreign_key="order_lines.id", max_length=36)
    sku: str = Field(max_length=64)
    quantity: int
