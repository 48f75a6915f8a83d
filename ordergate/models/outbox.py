"""Work promised to an upstream, written in the same transaction as the change that
promised it, and done by a relay until it succeeds (the transactional outbox)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ordergate.models.ids import new_id

ERP_SALES_ORDER = "erp.sales_order"
ERP_SALES_ORDER_AMEND = "erp.sales_order.amend"  # the ERP's sales order made to match ours again
ERP_FULFILMENT = "erp.fulfilment"  # units of a sales order left its node (a parcel, a handover)
ERP_STOCK_ADJUSTMENT = "erp.stock_adjustment"  # units back on a shelf, or written off
ERP_STOCK_REREAD = "erp.stock_reread"  # a stock notice whose read could not be placed yet, read again
STOREFRONT_DELIVERY = "storefront.delivery"  # a storefront webhook taken in, processed once
STOREFRONT_SHIPMENT = "storefront.shipment"
STOREFRONT_STATUS = "storefront.status"
PAYMENT_CAPTURE = "payment.capture"
PAYMENT_VOID = "payment.void"
PAYMENT_REFUND = "payment.refund"
RETURN_LABEL = "return.label"
RETURN_LABEL_VOID = "return.label.void"  # a return label bought and not needed, voided for its refund
RETURN_EXPIRY = "return.expiry"  # an approved return whose label's time ran out, expired unless sent
LABEL_VOID = "label.void"  # a shipping label bought for work that could not take it, voided for its refund

WEBHOOK_DELIVERY = "webhook.delivery"  # one of our signed webhooks to a customer's endpoint
EMAIL_MESSAGE = "email.message"  # one email to a customer, about one event (models.emails)

# Who does each kind of work: the relay runs one lane per upstream, so a rate-limited ERP never
# holds a payment capture or a customer's webhook back.
LANES: dict[str, str] = {
    ERP_SALES_ORDER: "erp",
    ERP_SALES_ORDER_AMEND: "erp",
    ERP_FULFILMENT: "erp",
    ERP_STOCK_ADJUSTMENT: "erp",
    ERP_STOCK_REREAD: "erp",
    STOREFRONT_DELIVERY: "storefront",
    STOREFRONT_SHIPMENT: "storefront",
    STOREFRONT_STATUS: "storefront",
    PAYMENT_CAPTURE: "payments",
    PAYMENT_VOID: "payments",
    PAYMENT_REFUND: "payments",
    RETURN_LABEL: "carriers",
    RETURN_LABEL_VOID: "carriers",
    RETURN_EXPIRY: "carriers",
    LABEL_VOID: "carriers",
    WEBHOOK_DELIVERY: "webhooks",
    EMAIL_MESSAGE: "email",
}
OTHER_LANE = "other"


def lane_of(kind: str) -> str:
    return LANES.get(kind, OTHER_LANE)


class Permanent(Exception):
    """A task that can never succeed (the order it names is gone, say): settled, not retried,
    with the reason kept as its result."""


RETRY_BASE = timedelta(seconds=5)
RETRY_CAP = timedelta(hours=1)


def next_attempt(attempts: int, now: datetime) -> datetime:
    """Exponential backoff: 5 s, 10 s, 20 s, ... capped at an hour; it never gives up."""
    delay: timedelta = min(RETRY_BASE * (2 ** max(0, attempts - 1)), RETRY_CAP)
    return now + delay


@dataclass(kw_only=True, eq=False)
class OutboxTask:
    id: str = field(default_factory=new_id)
    kind: str
    key: str
    payload: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    available_at: datetime
    done_at: datetime | None = None
    result: str | None = None
    last_error: str | None = None
    created_at: datetime
    leases: int = 0  # how often a relay took it: past 1, an earlier lease may have done the work

    @property
    def first_try(self) -> bool:
        """Taken by a relay for the first time, never failed or put back: nothing done for it
        before can have reached an upstream (a lease that ran out counts as a try)."""
        return self.leases <= 1 and self.attempts == 0


def storefront_delivery(key: str, scope: str, order_id: Any, now: datetime, body: str = "") -> OutboxTask:
    """A storefront order to read again and import (kept once per `key`): a webhook's delivery
    taken in, or a read of our own (`scope` says which)."""
    payload: dict[str, Any] = {"scope": scope, "order_id": order_id}
    if body:
        payload["body"] = body
    return OutboxTask(
        kind=STOREFRONT_DELIVERY, key=key[:128], payload=payload, available_at=now, created_at=now
    )
