"""Goodwill appeasements: money given back without a return, with a reason and a limit by role.
Each is refunded through the payments outbox like any other refund."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlmodel import Field, SQLModel

from ordergate.models.columns import MONEY, EnumText, UTCDateTime, new_id
from ordergate.models.errors import Problem
from ordergate.models.identity import Role

MAX_AMOUNT = Decimal("999999999999.99")  # what a Numeric(14, 2) column holds


class AppeasementReason(StrEnum):
    LATE_DELIVERY = "LATE_DELIVERY"
    DAMAGED_ITEM = "DAMAGED_ITEM"
    SERVICE_ISSUE = "SERVICE_ISSUE"
    OTHER = "OTHER"


class Appeasement(SQLModel, table=True):
    __tablename__ = "appeasements"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    order_id: str = Field(foreign_key="orders.id", index=True, max_length=36)
    amount: Decimal = Field(sa_type=MONEY)
    currency: str = Field(max_length=3)
    reason: AppeasementReason = Field(sa_type=EnumText(AppeasementReason, 32))
    note: str | None = Field(default=None, max_length=1000)
    issued_by: str = Field(max_length=255)
    issued_at: datetime = Field(sa_type=UTCDateTime)


def check_amount(amount: Decimal, path: tuple[str, ...]) -> list[Problem]:
    """A positive amount in whole cents that a money column can hold."""
    if not amount.is_finite() or amount <= 0:
        return [Problem("INVALID_AMOUNT", "the amount must be more than zero", path)]
    if amount > MAX_AMOUNT:
        return [Problem("INVALID_AMOUNT", f"the amount must be at most {MAX_AMOUNT}", path)]
    if amount != amount.quantize(Decimal("0.01")):
        return [Problem("INVALID_AMOUNT", "the amount must be in whole cents (two decimal places)", path)]
    return []


def check_limit(
    role: Role, amount: Decimal, limits: Mapping[Role, Decimal | None], path: tuple[str, ...]
) -> list[Problem]:
    """A role missing from `limits` has no limit; one mapped to None neither."""
    limit = limits.get(role)
    if limit is not None and amount > limit:
        return [
            Problem("APPEASEMENT_LIMIT_EXCEEDED", f"your role may give at most {limit} per appeasement", path)
        ]
    return []
