"""The domain's enums, registered with GraphQL under the contract's names."""

from __future__ import annotations

import strawberry

from ordergate.models.fulfillment import FulfillmentOrderStatus
from ordergate.models.inventory import ReservationStatus
from ordergate.models.location import LocationType
from ordergate.models.order import (
    CancelReason,
    DeliveryMethod,
    FulfillmentStatus,
    HoldReason,
    OrderStatus,
    PaymentStatus,
)
from ordergate.models.payments import PaymentEntryStatus, PaymentKind
from ordergate.models.returns import Disposition, ReturnStatus
from ordergate.models.shipment import TrackingStatus

for _enum in (
    DeliveryMethod,
    LocationType,
    OrderStatus,
    FulfillmentStatus,
    PaymentStatus,
    FulfillmentOrderStatus,
    TrackingStatus,
    HoldReason,
    ReservationStatus,
    CancelReason,
    ReturnStatus,
    Disposition,
    PaymentKind,
    PaymentEntryStatus,
):
    strawberry.enum(_enum)

__all__ = [
    "CancelReason",
    "DeliveryMethod",
    "Disposition",
    "FulfillmentOrderStatus",
    "FulfillmentStatus",
    "HoldReason",
    "LocationType",
    "OrderStatus",
    "PaymentEntryStatus",
    "PaymentKind",
    "PaymentStatus",
    "ReservationStatus",
    "ReturnStatus",
    "TrackingStatus",
]
