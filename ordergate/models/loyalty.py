"""Loyalty points: a ledger per customer, earned as money is captured and taken back as it is
refunded. An order's points follow what it has netted (captured minus refunded), rounded down,
so the balance an order gives never goes below zero and a retried capture never earns twice
(each entry is keyed by the payment transaction it follows)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum

from sqlmodel import Field, SQLModel

from ordergate.models.columns import EnumText, UTCDateTime, new_id


class LoyaltyReason(StrEnum):
    CAPTURED = "CAPTURED"  # money was taken: points earned
    REFUNDED = "REFUNDED"  # money went back: points reversed


class LoyaltyEntry(SQLModel, table=True):
    __tablename__ = "loyalty_entries"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    customer_id: str = Field(foreign_key="customers.id", index=True, max_length=36)
    order_id: str = Field(foreign_key="orders.id", index=True, max_length=36)
    points: int
    reason: LoyaltyReason = Field(sa_type=EnumText(LoyaltyReason, 16))
    key: str = Field(max_length=160, unique=True)  # the payment transaction's idempotency key
    created_at: datetime = Field(sa_type=UTCDateTime)


def points_for(net_captured: Decimal, points_per_unit: Decimal) -> int:
    """What an order that netted `net_captured` is worth: whole points, rounded down."""
    if net_captured <= 0 or points_per_unit <= 0:
        return 0
    return int((net_captured * points_per_unit).to_integral_value(rounding=ROUND_FLOOR))


def balance(entries: Iterable[LoyaltyEntry]) -> int:
    return sum(entry.points for entry in entries)


def points_change(reason: LoyaltyReason, held: int, net_captured: Decimal, points_per_unit: Decimal) -> int:
    """The entry that brings an order holding `held` points to what it has netted: a capture
    never takes points away, a refund never adds any nor takes more than the order holds."""
    delta = points_for(net_captured, points_per_unit) - held
    if reason is LoyaltyReason.CAPTURED:
        return max(delta, 0)
    return min(max(delta, -held), 0)
