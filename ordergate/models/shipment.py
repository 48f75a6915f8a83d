"""Shipments and the carrier scans that follow them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlmodel import Field, SQLModel

from ordergate.models.columns import MONEY, EnumText, UTCDateTime, new_id


class TrackingStatus(StrEnum):
    UNKNOWN = "UNKNOWN"
    LABEL_CREATED = "LABEL_CREATED"
    ACCEPTED = "ACCEPTED"
    IN_TRANSIT = "IN_TRANSIT"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY"
    DELIVERY_ATTEMPT = "DELIVERY_ATTEMPT"
    DELIVERED = "DELIVERED"
    EXCEPTION = "EXCEPTION"
    RETURNED_TO_SENDER = "RETURNED_TO_SENDER"


class Shipment(SQLModel, table=True):
    __tablename__ = "shipments"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    order_id: str = Field(foreign_key="orders.id", index=True, max_length=36)
    fulfillment_order_id: str = Field(foreign_key="fulfillment_orders.id", max_length=36)
    carrier: str = Field(max_length=32)
    service: str = Field(max_length=64)
    tracking_number: str = Field(max_length=64, index=True)
    tracking_url: str | None = Field(default=None, max_length=512)
    label_url: str | None = Field(default=None, max_length=512)
    status: TrackingStatus = Field(sa_type=EnumText(TrackingStatus, 32))
    raw_status: str | None = Field(default=None, max_length=64)
    cost: Decimal | None = Field(default=None, sa_type=MONEY)
    currency: str | None = Field(default=None, max_length=3)
    estimated_delivery: date | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)


class ShipmentEvent(SQLModel, table=True):
    __tablename__ = "shipment_events"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    shipment_id: str = Field(foreign_key="shipments.id", index=True, max_length=36)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    status: TrackingStatus = Field(sa_type=EnumText(TrackingStatus, 32))
    raw_code: str | None = Field(default=None, max_length=64)
    description: str = Field(max_length=512)
    location: str | None = Field(default=None, max_length=255)
