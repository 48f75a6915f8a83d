"""What a caller asks of the order list, as plain data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ordergate.models.order import OrderStatus


@dataclass(frozen=True)
class OrderCriteria:
    statuses: tuple[OrderStatus, ...] = ()
    channel: str | None = None
    customer_email: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    location_id: str | None = None
