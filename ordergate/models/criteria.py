"""What a caller asks of the order list, as plain data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ordergate.models.order import FulfillmentStatus, Order, OrderStatus, PaymentStatus


@dataclass(frozen=True)
class OrderCriteria:
    statuses: tuple[OrderStatus, ...] = ()
    channel: str | None = None
    customer_email: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    location_id: str | None = None
    number: str | None = None  # exactly, with or without a leading `#`
    reference: str | None = None  # the storefront's: external reference or source ref, exactly
    customer_name: str | None = None  # the start of a first or last name, or "first last"
    payment_statuses: tuple[PaymentStatus, ...] = ()
    fulfillment_statuses: tuple[FulfillmentStatus, ...] = ()
    tags: tuple[str, ...] = ()  # every one of them (normalised)
    text: str | None = None  # any of: number, reference, email, name, tag


class OrderSortKey(StrEnum):
    CREATED_AT = "CREATED_AT"
    UPDATED_AT = "UPDATED_AT"
    TOTAL = "TOTAL"
    NUMBER = "NUMBER"


@dataclass(frozen=True)
class OrderSort:
    key: OrderSortKey = OrderSortKey.CREATED_AT
    descending: bool = True


NEWEST_FIRST = OrderSort()


def sort_value(order: Order, key: OrderSortKey) -> Any:
    """The value an order sorts by under `key` (what a cursor carries)."""
    return getattr(order, SORT_ATTRIBUTES[key])


SORT_ATTRIBUTES: dict[OrderSortKey, str] = {
    OrderSortKey.CREATED_AT: "created_at",
    OrderSortKey.UPDATED_AT: "updated_at",
    OrderSortKey.TOTAL: "total",
    OrderSortKey.NUMBER: "number",
}
