"""Goodwill appeasements as clients see them."""

from __future__ import annotations

from datetime import datetime

import strawberry

from ordergate.models.appeasements import Appeasement as AppeasementRecord
from ordergate.models.appeasements import AppeasementReason
from ordergate.models.identity import Permission
from ordergate.schema.context import Info, principal
from ordergate.schema.types.common import Money


@strawberry.type(description="Money given back without a return, refunded through the order's payment.")
class Appeasement:
    id: strawberry.ID
    amount: Money
    reason: AppeasementReason
    issued_at: datetime
    internal_note: strawberry.Private[str | None]
    issuer: strawberry.Private[str]

    @strawberry.field(description="The agent's note; staff only (null for customers).")
    def note(self, info: Info) -> str | None:
        return self.internal_note if principal(info).can(Permission.READ_ALL_ORDERS) else None

    @strawberry.field(description="Who gave it; staff only (null for customers).")
    def issued_by(self, info: Info) -> str | None:
        return self.issuer if principal(info).can(Permission.READ_ALL_ORDERS) else None

    @classmethod
    def from_model(cls, record: AppeasementRecord) -> Appeasement:
        return cls(
            id=strawberry.ID(record.id),
            amount=Money.of(record.amount, record.currency),
            reason=record.reason,
            internal_note=record.note,
            issuer=record.issued_by,
            issued_at=record.issued_at,
        )
