"""Shipments and the carrier scans that follow them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from ordergate.models.ids import new_id


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


NOT_SCANNED = frozenset({TrackingStatus.UNKNOWN, TrackingStatus.LABEL_CREATED})
"""What a carrier's tracking says of a label no parcel has travelled on yet."""


def label_used(tracking: TrackingStatus | None) -> bool:
    """Whether a parcel travelled on a label, by the carrier's tracking (None: it knows nothing)."""
    return tracking is not None and tracking not in NOT_SCANNED


@dataclass(kw_only=True, eq=False)
class Shipment:
    id: str = field(default_factory=new_id)
    order_id: str
    fulfillment_order_id: str
    carrier: str
    service: str
    tracking_number: str
    tracking_url: str | None = None
    label_url: str | None = None
    status: TrackingStatus
    raw_status: str | None = None
    cost: Decimal | None = None
    currency: str | None = None
    estimated_delivery: date | None = None
    created_at: datetime


@dataclass(kw_only=True, eq=False)
class ShipmentEvent:
    id: str = field(default_factory=new_id)
    shipment_id: str
    occurred_at: datetime
    status: TrackingStatus
    raw_code: str | None = None
    description: str
    location: str | None = None
