"""The domain's enums, registered with GraphQL under the contract's names."""

from __future__ import annotations

import strawberry

from ordergate.models.appeasements import AppeasementReason
from ordergate.models.criteria import OrderSortKey
from ordergate.models.fraud import RiskLevel, RiskRule
from ordergate.models.fulfillment import FulfillmentOrderStatus
from ordergate.models.inventory import ReservationStatus
from ordergate.models.location import LocationType, Weekday
from ordergate.models.loyalty import LoyaltyReason
from ordergate.models.metrics import MetricsGroup
from ordergate.models.notes import TargetKind
from ordergate.models.order import (
    CancelReason,
    DeliveryMethod,
    FulfillmentStatus,
    HoldReason,
    OrderStatus,
    PaymentStatus,
    ServiceLevel,
)
from ordergate.models.payments import PaymentEntryStatus, PaymentKind
from ordergate.models.returns import Disposition, ReturnLabelStatus, ReturnStatus
from ordergate.models.shipment import TrackingStatus
from ordergate.models.supply import BackorderStatus, SellingPolicy

for _enum in (
    DeliveryMethod,
    RiskLevel,
    RiskRule,
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
    ReturnLabelStatus,
    Disposition,
    PaymentKind,
    PaymentEntryStatus,
    AppeasementReason,
    LoyaltyReason,
    SellingPolicy,
    BackorderStatus,
    ServiceLevel,
    OrderSortKey,
    MetricsGroup,
    Weekday,
):
    strawberry.enum(_enum)

strawberry.enum(TargetKind, name="AnnotationTarget")

__all__ = [
    "AppeasementReason",
    "BackorderStatus",
    "CancelReason",
    "DeliveryMethod",
    "Disposition",
    "FulfillmentOrderStatus",
    "FulfillmentStatus",
    "HoldReason",
    "LocationType",
    "LoyaltyReason",
    "MetricsGroup",
    "OrderSortKey",
    "OrderStatus",
    "PaymentEntryStatus",
    "PaymentKind",
    "PaymentStatus",
    "ReservationStatus",
    "ReturnLabelStatus",
    "ReturnStatus",
    "SellingPolicy",
    "ServiceLevel",
    "TargetKind",
    "TrackingStatus",
    "Weekday",
]
