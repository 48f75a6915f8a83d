"""Loyalty points: a ledger per customer, earned as money is captured and taken back as it is
refunded. An order's points follow what it has netted (captured minus refunded), rounded down,
so the balance an order gives never goes below zero and a retried capture never earns twice
(each entry is keyed by the payment transaction it follows)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum

from ordergate.models.ids import new_id


class LoyaltyReason(StrEnum):
    CAPTURED = "CAPTURED"  # money was taken: points earned
    REFUNDED = "REFUNDED"  # money went back: points reversed


@dataclass(kw_only=True, eq=False)
class LoyaltyEntry:
    id: str = field(default_factory=new_id)
    customer_id: str
    order_id: str
    points: int
    reason: LoyaltyReason
    key: str
    created_at: datetime


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
