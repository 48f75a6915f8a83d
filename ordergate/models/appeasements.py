"""Goodwill appeasements: money given back without a return, with a reason and a limit by role.
Each is refunded through the payments outbox like any other refund."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from ordergate.models.errors import Problem
from ordergate.models.identity import Role
from ordergate.models.ids import new_id

MAX_AMOUNT = Decimal("999999999999.99")  # what a Numeric(14, 2) column holds


class AppeasementReason(StrEnum):
    LATE_DELIVERY = "LATE_DELIVERY"
    DAMAGED_ITEM = "DAMAGED_ITEM"
    SERVICE_ISSUE = "SERVICE_ISSUE"
    OTHER = "OTHER"


@dataclass(kw_only=True, eq=False)
class Appeasement:
    id: str = field(default_factory=new_id)
    order_id: str
    amount: Decimal
    currency: str
    reason: AppeasementReason
    note: str | None = None
    issued_by: str
    issued_at: datetime


def check_amount(amount: Decimal, path: tuple[str, ...]) -> list[Problem]:
    """A positive amount in whole cents that a money column can hold."""
    if not amount.is_finite() or amount <= 0:
        return [Problem("INVALID_AMOUNT", "the amount must be more than zero", path)]
    if amount > MAX_AMOUNT:
        return [Problem("INVALID_AMOUNT", f"the amount must be at most {MAX_AMOUNT}", path)]
    if amount != amount.quantize(Decimal("0.01")):
        return [Problem("INVALID_AMOUNT", "the amount must be in whole cents (two decimal places)", path)]
    return []


def allowance(role: Role, given: Decimal, limits: Mapping[Role, Decimal | None]) -> Decimal | None:
    """What `role` may still give on an order that has had `given` in goodwill (from anyone):
    a limit is per order, all appeasements together. None: no limit (a role missing from
    `limits`, or mapped to None)."""
    limit = limits.get(role)
    return None if limit is None else max(Decimal("0.00"), limit - given)


def check_limit(
    role: Role,
    amount: Decimal,
    given: Decimal,
    limits: Mapping[Role, Decimal | None],
    path: tuple[str, ...],
) -> list[Problem]:
    """Whether `role` may give `amount` more on an order that has had `given`."""
    left = allowance(role, given, limits)
    if left is not None and amount > left:
        return [
            Problem(
                "APPEASEMENT_LIMIT_EXCEEDED",
                f"your role may give at most {limits[role]} per order in goodwill; "
                f"{left:.2f} is left on this one",
                path,
            )
        ]
    return []
