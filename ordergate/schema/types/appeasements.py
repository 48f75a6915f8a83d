"""Goodwill appeasements as clients see them."""

from __future__ import annotations

from datetime import datetime

import strawberry

from ordergate.models.appeasements import Appeasement as AppeasementRecord
from ordergate.models.appeasements import AppeasementReason
from ordergate.schema.types.common import Money


@strawberry.type(description="Money given back without a return, refunded through the order's payment.")
class Appeasement:
    id: strawberry.ID
    amount: Money
    reason: AppeasementReason
    note: str | None
    issued_by: str
    issued_at: datetime

    @classmethod
    def from_model(cls, record: AppeasementRecord) -> Appeasement:
        return cls(
            id=strawberry.ID(record.id),
            amount=Money.of(record.amount, record.currency),
            reason=record.reason,
            note=record.note,
            issued_by=record.issued_by,
            issued_at=record.issued_at,
        )
