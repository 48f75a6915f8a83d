"""Returns: asked for by a customer (or an agent for them), decided by an agent, received at a
node line by line with a disposition. RESTOCK puts the units back into what that node can sell;
DAMAGED does not. The order's lines count what came back. Once the refund of what came back is
done (or when there is nothing to refund) the return is CLOSED; an agent may close it by hand.

An approved return of shipped units gets a return label from the carrier that shipped them,
bought through the outbox: PENDING until the carrier sells it, then PURCHASED (FAILED when the
carrier refuses it for good, CANCELLED when the parcel came back before a label was bought)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ordergate.models.columns import EnumText, UTCDateTime, new_id
from ordergate.models.errors import InvalidTransition


class ReturnStatus(StrEnum):
    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"
    DECLINED = "DECLINED"
    RECEIVED = "RECEIVED"
    REFUNDED = "REFUNDED"
    CLOSED = "CLOSED"


class ReturnAction(StrEnum):
    APPROVE = "APPROVE"
    DECLINE = "DECLINE"
    RECEIVE = "RECEIVE"
    REFUND = "REFUND"
    CLOSE = "CLOSE"


class ReturnLabelStatus(StrEnum):
    PENDING = "PENDING"
    PURCHASED = "PURCHASED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class Disposition(StrEnum):
    RESTOCK = "RESTOCK"
    DAMAGED = "DAMAGED"


R, A = ReturnStatus, ReturnAction
RETURN_TRANSITIONS: dict[tuple[ReturnStatus, ReturnAction], ReturnStatus] = {
    (R.REQUESTED, A.APPROVE): R.APPROVED,
    (R.REQUESTED, A.DECLINE): R.DECLINED,
    (R.APPROVED, A.RECEIVE): R.RECEIVED,
    (R.RECEIVED, A.REFUND): R.REFUNDED,
    (R.RECEIVED, A.CLOSE): R.CLOSED,
    (R.REFUNDED, A.CLOSE): R.CLOSED,
}
OPEN_RETURNS = frozenset({R.REQUESTED, R.APPROVED})
CLOSABLE_RETURNS = frozenset(status for status, action in RETURN_TRANSITIONS if action is A.CLOSE)


def next_return_status(status: ReturnStatus, action: ReturnAction) -> ReturnStatus:
    try:
        return RETURN_TRANSITIONS[(status, action)]
    except KeyError:
        verb = {A.REFUND: "refunded", A.CLOSE: "closed"}.get(action, f"{action.value.lower()}d")
        raise InvalidTransition(
            f"a return that is {status.value} cannot be {verb}", field=("input", "returnId")
        ) from None


class OrderReturn(SQLModel, table=True):
    __tablename__ = "order_returns"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    order_id: str = Field(foreign_key="orders.id", index=True, max_length=36)
    status: ReturnStatus = Field(sa_type=EnumText(ReturnStatus, 16))
    requested_by: str = Field(max_length=255)
    requested_at: datetime = Field(sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=255)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    note: str | None = Field(default=None, max_length=1000)
    received_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    received_location_id: str | None = Field(default=None, foreign_key="locations.id", max_length=36)
    refunded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_by: str | None = Field(default=None, max_length=255)
    # The return label: which outbound shipment it sends back, and what the carrier sold.
    label_status: ReturnLabelStatus | None = Field(default=None, sa_type=EnumText(ReturnLabelStatus, 16))
    label_shipment_id: str | None = Field(default=None, max_length=36)
    label_carrier: str | None = Field(default=None, max_length=32)
    label_service: str | None = Field(default=None, max_length=64)
    label_tracking_number: str | None = Field(default=None, max_length=64)
    label_url: str | None = Field(default=None, max_length=512)
    label_error: str | None = Field(default=None, max_length=500)
    label_created_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ReturnLine(SQLModel, table=True):
    __tablename__ = "order_return_lines"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="ck_return_lines_quantity_positive"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    return_id: str = Field(foreign_key="order_returns.id", index=True, max_length=36)
    order_line_id: str = Field(foreign_key="order_lines.id", max_length=36)
    sku: str = Field(max_length=64)
    quantity: int
    reason: str = Field(max_length=500)
    disposition: Disposition | None = Field(default=None, sa_type=EnumText(Disposition, 16))
